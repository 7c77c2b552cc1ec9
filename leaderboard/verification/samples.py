"""What a participant starts from: a benchmark's public faces file, a sample predictions
file (the mean-shape baseline) and a figure of the landmark order.

The faces file holds ids, image names and boxes, never landmarks. The sample and the
figure are built by the evaluator from the mean shape of the benchmark's faces in
box coordinates: an average that says nothing about any one face of a real
benchmark, but nearly everything about a benchmark of a handful of faces. So they
are published only for benchmarks of at least ``MIN_FACES_FOR_MEAN_SHAPE`` faces, and
for the demo benchmarks, whose ground truth ships with the code anyway.
"""

from __future__ import annotations

import threading
import weakref
from urllib.parse import quote

from leaderboard.verification import evaluation, selectors, services
from leaderboard.verification.models import Benchmark

MIN_FACES_FOR_MEAN_SHAPE = 50
# Two decimals of a pixel: far below any landmark error, and a quarter of the file size.
SAMPLE_DECIMALS = 2

# Built once per process and installed ground truth (which the services cache by checksum).
_samples: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def faces_document(benchmark: Benchmark) -> dict:
    """The public faces file of `benchmark`, in scoring order, with each image's link and checksum.

    One document for participants (`python -m evaluator validate --faces`) and for remote
    workers, which fetch the images it lists (workers/node.py). Never the landmarks.
    """
    rows = list(selectors.public_faces(benchmark).values_list("face_id", "image", "box"))
    images = {
        image: {"sha256": benchmark.checksums[image], "url": f"{benchmark.get_absolute_url()}images/{quote(image)}"}
        for image in sorted({image for _, image, _ in rows})
    }
    return evaluation.faces_document(benchmark.slug, benchmark.format, benchmark.num_landmarks, rows, images)


def publishes_mean_shape(benchmark: Benchmark) -> bool:
    return benchmark.is_demo or benchmark.face_count >= MIN_FACES_FOR_MEAN_SHAPE


def links(benchmark: Benchmark) -> dict[str, str | None]:
    """Where a participant downloads the faces file, the sample and the landmark figure."""
    base = benchmark.get_absolute_url()
    shown = publishes_mean_shape(benchmark)
    return {
        "faces_file": f"{base}faces.json",
        "sample_predictions": f"{base}sample-predictions.json" if shown else None,
        "landmark_order": f"{base}landmarks.svg" if shown else None,
    }


def sample_filename(benchmark: Benchmark) -> str:
    return f"{benchmark.slug}-mean-shape.json"


def sample_predictions(benchmark: Benchmark) -> bytes:
    """The mean-shape baseline of `benchmark` as a JSON predictions file the server accepts."""
    truth = services.ground_truth(benchmark)
    with _lock:
        found = _samples.get(truth)
    if found is None:
        found = evaluation.mean_shape_sample(truth, SAMPLE_DECIMALS).encode()
        with _lock:
            _samples[truth] = found
    return found


def landmark_order(benchmark: Benchmark) -> str:
    """An SVG of the benchmark's mean shape with every landmark numbered in file order."""
    title = f"{benchmark.num_landmarks} landmarks of {benchmark.name}, in file order"
    return evaluation.landmark_order(services.ground_truth(benchmark), title)

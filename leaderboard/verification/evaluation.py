"""The one place the verification service talks to the evaluator package.

The evaluator is plain PyTorch/numpy; this adapter turns its errors into
:class:`InvalidSubmission` (the participant's fault, shown as is) and keeps a
per-process cache of parsed ground truth so a web process validates uploads
without re-reading the official files each time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

import evaluator
from evaluator import benchmarks as readers
from evaluator import faces as public
from evaluator.plots import landmark_order_svg
from evaluator.predictions import (
    PredictionError,
    parse_predictions,
    predictions_to_json,
)
from evaluator.scoring import score

FORMATS = tuple(readers.FORMATS)
Benchmark = readers.Benchmark
BenchmarkError = readers.BenchmarkError


class InvalidSubmission(ValueError):
    """An uploaded file the evaluator refuses; the message tells the participant why.

    `code` is the evaluator's kind of refusal (`pickled_code`, `wrong_architecture`,
    `not_a_checkpoint`, `truncated`, `invalid_predictions`).
    """

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def version() -> str:
    return evaluator.__version__


def read_benchmark(fmt: str, path: Path, split: str = "") -> Benchmark:
    """Ground truth from the official files, restricted to `split` (a subset name) if given."""
    data = readers.read_benchmark(fmt, path)
    return restrict(data, split) if split else data


def restrict(data: Benchmark, subset: str) -> Benchmark:
    if subset not in data.subsets:
        raise BenchmarkError(
            f"The files hold no {subset!r} subset; they hold: {', '.join(data.subsets) or 'none'}"
        )
    keep = np.flatnonzero(data.subsets[subset])
    return readers.Benchmark(
        format=data.format,
        num_landmarks=data.num_landmarks,
        face_ids=tuple(data.face_ids[i] for i in keep),
        image_paths=tuple(data.image_paths[i] for i in keep),
        boxes=data.boxes[keep],
        landmarks=data.landmarks[keep],
        subsets={name: mask[keep] for name, mask in data.subsets.items() if name != subset and mask[keep].any()},
        default_normaliser=data.default_normaliser,
        images=tuple(data.images[i] for i in keep) if data.images is not None else None,
    )


_cache: dict[tuple, Benchmark] = {}
_cache_lock = threading.Lock()


def cached_benchmark(key: tuple, fmt: str, path: Path, split: str = "") -> Benchmark:
    """`read_benchmark`, memoised on `key` (slug and checksums, so a re-install is re-read)."""
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        found = read_benchmark(fmt, path, split)
        with _cache_lock:
            _cache[key] = found
    return found


def check_predictions(data: bytes, filename: str, benchmark: Benchmark) -> np.ndarray:
    try:
        return parse_predictions(data, filename, benchmark)
    except PredictionError as error:
        raise InvalidSubmission(str(error), "invalid_predictions") from error


def open_checkpoint(path_or_bytes, num_landmarks: int, stacks=None):
    """The FAN of a checkpoint, opened as tensors only (a pickle carrying code is refused).

    Only the published FAN with one of `stacks` stacks and `num_landmarks` landmarks
    is accepted; key names and shapes are checked before anything is built.
    """
    # PyTorch takes a second and ~250 MB to import: only processes that open checkpoints pay.
    from evaluator.weights import (
        PUBLISHED_STACKS,
        CheckpointError,
        load_checkpoint,
        published_architectures,
    )

    allowed = published_architectures(num_landmarks, stacks or PUBLISHED_STACKS)
    try:
        return load_checkpoint(path_or_bytes, num_landmarks=num_landmarks, architectures=allowed)
    except CheckpointError as error:
        raise InvalidSubmission(str(error), error.code) from error


def is_code_pickle(error: InvalidSubmission) -> bool:
    return error.code == "pickled_code"


def predict(model, benchmark: Benchmark, progress: Callable[[int, int], None], precision: str = "fp32") -> np.ndarray:
    """The checkpoint's landmarks, by the same engine as a remote worker's (small CPU batches keep
    progress and the time-limit check frequent; a GPU gets big ones)."""
    return engine().predict(model, benchmark, precision=precision, progress=progress)


def effective_precision(precision: str) -> str:
    """What `precision` means on this process's device (tf32 is fp32 off CUDA)."""
    return engine().effective_precision(precision)


def device_name() -> str:
    return str(engine().device)


_engine = None


def engine():
    global _engine
    if _engine is None:
        from evaluator.engine import Engine

        _engine = Engine()
    return _engine


def scores(pred: np.ndarray, benchmark: Benchmark, normaliser: str) -> dict:
    """The evaluator's report without per-face errors, which are never published."""
    report = score(pred, benchmark, normaliser or None)
    report.pop("per_face_nme", None)
    return report


def metric_value(report: dict, key: str) -> float | None:
    """A value of the report by key: "nme" or "fr@0.1" (overall), "subsets/pose/nme"."""
    parts = key.split("/")
    node = report if parts[0] == "subsets" else report["overall"]
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, int | float) else None


def ced_plot_svg(curve: dict, path: Path, title: str) -> None:
    from evaluator.plots import plot_ced

    plot_ced(np.asarray(curve["x"]), np.asarray(curve["y"]), path, title=title)


def faces_document(slug: str, fmt: str, num_landmarks: int, faces, images: dict | None = None) -> dict:
    """The public faces file: (face id, image, box) of each face and image links, never landmarks."""
    return public.faces_document(slug, fmt, num_landmarks, faces, images)


def mean_shape_sample(benchmark: Benchmark, decimals: int) -> str:
    """The mean-shape baseline of `benchmark` as a JSON predictions file."""
    return predictions_to_json(public.mean_shape_baseline(benchmark), benchmark, decimals=decimals)


def landmark_order(benchmark: Benchmark, title: str) -> str:
    """An SVG of the benchmark's mean shape with each landmark numbered."""
    return landmark_order_svg(public.mean_shape(benchmark.landmarks, benchmark.boxes), title)

"""What a participant may know of a benchmark, and what can be built from it.

- The **public faces document** lists a benchmark's faces (id, image name, box) and its
  landmark count, never the ground-truth landmarks. The server writes it with
  :func:`faces_document`; ``python -m evaluator validate`` reads it with
  :func:`load_faces` (a path or an http(s) URL) and checks a prediction file with the
  server's own parser, :func:`evaluator.predictions.parse_predictions`::

      {"benchmark": "wflw-test", "format": "wflw", "num_landmarks": 98, "face_count": 2500,
       "faces": [{"face_id": "51--Dresses/51_Dresses_wearingdress_51_377.jpg#0",
                  "image": "WFLW_images/51--Dresses/51_Dresses_wearingdress_51_377.jpg",
                  "box": [380.0, 180.0, 560.0, 370.0]}, ...]}

- The **mean-shape baseline**: the mean landmark shape of a benchmark's faces, in
  coordinates of each face's box, placed back in every face's box. It is a valid
  prediction file that any method should beat, and its shape draws the landmark order.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.benchmarks import Benchmark

# A faces document of the largest benchmark (WFLW, 2,500 faces) is about 300 kB.
MAX_FACES_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30


class FacesError(ValueError):
    """A faces document that cannot be read; the message says which and why."""


@dataclass(frozen=True, eq=False)
class PublicFaces:
    """A benchmark's faces without ground truth: all the prediction parser needs."""

    benchmark: str
    format: str
    num_landmarks: int
    face_ids: tuple[str, ...]
    images: tuple[str, ...]
    boxes: np.ndarray  # (N, 4) x_min, y_min, x_max, y_max

    def __len__(self) -> int:
        return len(self.face_ids)


def faces_document(
    benchmark: str,
    format: str,
    num_landmarks: int,
    faces: Iterable[tuple[str, str, Sequence[float]]],
    images: dict[str, dict[str, str]] | None = None,
) -> dict:
    """The public faces document of ``(face id, image, box)`` triples, in scoring order.

    ``images`` maps each image name to its ``url`` and ``sha256``: what a remote worker
    downloads (and caches by checksum) to run a model over the benchmark.
    """
    listed = [
        {"face_id": face_id, "image": image, "box": [float(v) for v in box]}
        for face_id, image, box in faces
    ]
    return {
        "benchmark": benchmark,
        "format": format,
        "num_landmarks": num_landmarks,
        "face_count": len(listed),
        "faces": listed,
        **({"images": images} if images is not None else {}),
    }


def load_faces(location: str) -> PublicFaces:
    """The faces document at ``location``: a file path or an ``http(s)://`` URL."""
    if location.lower().startswith(("http://", "https://")):
        return parse_faces(_fetch(location), location)
    path = Path(location)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FACES_BYTES + 1)
    except OSError as error:
        raise FacesError(f"Cannot read the faces file {location!r}: {error.strerror or error}") from error
    return parse_faces(data, location)


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            return response.read(MAX_FACES_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FacesError(
            f"Cannot fetch the faces file {url!r}: HTTP {error.code} {error.reason}; "
            "check the benchmark slug in the URL (its page links the faces file)"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FacesError(f"Cannot fetch the faces file {url!r}: {reason}") from error


def parse_faces(data: bytes, source: str = "the faces file") -> PublicFaces:
    """Read a faces document; a :class:`FacesError` names what is wrong in ``source``."""
    if len(data) > MAX_FACES_BYTES:
        raise FacesError(f"{source} is larger than {MAX_FACES_BYTES // (1024 * 1024)} MiB: not a faces file")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise FacesError(f"{source} is not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise FacesError(
            f"{source} is not JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "download it from the benchmark's page (…/benchmarks/<slug>/faces.json)"
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("faces"), list):
        raise FacesError(
            f'{source} is not a faces file: expected a JSON object with "num_landmarks" and "faces"'
        )
    num_landmarks = document.get("num_landmarks")
    if isinstance(num_landmarks, bool) or not isinstance(num_landmarks, int) or num_landmarks < 1:
        raise FacesError(f'{source}: "num_landmarks" must be a positive integer, got {num_landmarks!r}')
    faces = [_face(face, n, source) for n, face in enumerate(document["faces"])]
    ids = [face_id for face_id, _, _ in faces]
    if len(set(ids)) != len(ids):
        repeated = next(face_id for face_id in ids if ids.count(face_id) > 1)
        raise FacesError(f"{source}: face id {repeated!r} is listed twice")
    return PublicFaces(
        benchmark=str(document.get("benchmark") or ""),
        format=str(document.get("format") or "benchmark"),
        num_landmarks=num_landmarks,
        face_ids=tuple(ids),
        images=tuple(image for _, image, _ in faces),
        boxes=np.array([box for _, _, box in faces], dtype=np.float64).reshape(len(faces), 4),
    )


def _face(face: object, n: int, source: str) -> tuple[str, str, list[float]]:
    if not isinstance(face, dict) or not isinstance(face.get("face_id"), str):
        raise FacesError(f'{source}: face {n} has no "face_id" string')
    box = face.get("box")
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box)
    ):
        raise FacesError(
            f"{source}: face {face['face_id']!r} needs a box of four finite numbers "
            f"[x_min, y_min, x_max, y_max], got {box!r}"
        )
    return face["face_id"], str(face.get("image") or ""), [float(v) for v in box]


# --- the mean-shape baseline --------------------------------------------------------


def _box_frames(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin (N, 1, 2) and size (N, 1, 2) of each box; a degenerate side counts as 1 px."""
    boxes = np.asarray(boxes, dtype=np.float64)
    origin = boxes[:, None, :2]
    size = np.maximum(boxes[:, None, 2:] - boxes[:, None, :2], 1.0)
    return origin, size


def mean_shape(landmarks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The mean shape (L, 2) of ``landmarks`` (N, L, 2), each in its box: (0, 0) top left, (1, 1) bottom right."""
    origin, size = _box_frames(boxes)
    return ((np.asarray(landmarks, dtype=np.float64) - origin) / size).mean(axis=0)


def place_shape(shape: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``shape`` (L, 2) in box coordinates, placed in every box: (N, L, 2) image pixels."""
    origin, size = _box_frames(boxes)
    return origin + np.asarray(shape, dtype=np.float64)[None] * size


def mean_shape_baseline(benchmark: Benchmark) -> np.ndarray:
    """Predictions (N, L, 2): the benchmark's mean shape placed in each face's box."""
    return place_shape(mean_shape(benchmark.landmarks, benchmark.boxes), benchmark.boxes)

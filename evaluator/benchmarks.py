"""Readers for face-alignment benchmarks in their official file formats.

Every reader returns a :class:`Benchmark`, so scoring and inference do not care
where the data came from. Coordinates are 0-based pixels of the original image
(pixel centres on integers); 1-based sources (300W ``.pts``, COFW ``.mat``) are
shifted on reading. Face ids, which prediction files use:

- WFLW: ``<image path relative to WFLW_images>#<0-based line index in the list file>``
- 300W: the image path relative to the benchmark root (POSIX separators)
- COFW: the 1-based face number, as a string (``"1"`` ... ``"507"``)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WFLW_LIST_NAME = "list_98pt_rect_attr_test.txt"
WFLW_ATTRIBUTES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
COFW_FILE_NAME = "COFW_test_color.mat"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class BenchmarkError(ValueError):
    """Ground-truth files that are missing or not in the expected format."""


@dataclass(frozen=True, eq=False)
class Benchmark:
    """Ground truth of one benchmark split.

    ``boxes`` are (N, 4) ``x_min, y_min, x_max, y_max``: the detection rectangle for
    WFLW and COFW, the tight box around the landmarks for 300W (which ships none).
    ``subsets`` maps a subset name to a boolean membership mask (N,).
    ``images`` holds decoded RGB images where the format embeds them (COFW);
    otherwise ``image_paths`` point to files.
    """

    format: str
    num_landmarks: int
    face_ids: tuple[str, ...]
    image_paths: tuple[Path | None, ...]
    boxes: np.ndarray
    landmarks: np.ndarray
    subsets: dict[str, np.ndarray] = field(default_factory=dict)
    default_normaliser: str = "inter_ocular"
    images: tuple[np.ndarray, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.face_ids)
        if self.landmarks.shape != (n, self.num_landmarks, 2):
            raise BenchmarkError(
                f"Expected ground truth of shape ({n}, {self.num_landmarks}, 2), "
                f"got {self.landmarks.shape}"
            )
        if len(set(self.face_ids)) != n:
            raise BenchmarkError("Benchmark face ids are not unique")

    def __len__(self) -> int:
        return len(self.face_ids)

    def load_image(self, index: int) -> np.ndarray:
        """The RGB image (H, W, 3) uint8 of face ``index``."""
        if self.images is not None:
            return _as_rgb(self.images[index])
        path = self.image_paths[index]
        if path is None:
            raise BenchmarkError(f"Face {self.face_ids[index]!r} has no image")
        return read_rgb(path)


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BenchmarkError(f"Cannot read image {os.fspath(path)!r}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# --- WFLW ---------------------------------------------------------------------------


def read_wflw(
    path: str | os.PathLike, images_root: str | os.PathLike | None = None
) -> Benchmark:
    """WFLW test split from ``list_98pt_rect_attr_test.txt`` (the file, or a folder
    holding it directly or under ``WFLW_annotations/list_98pt_rect_attr_train_test``).

    Images are looked up under ``images_root``, else the nearest ``WFLW_images``
    folder next to the list file or the given folder.
    """
    list_file = _find_wflw_list(Path(path))
    root = (
        Path(images_root)
        if images_root is not None
        else _find_wflw_images(list_file, Path(path))
    )
    rows = _read_wflw_rows(list_file)
    landmarks = np.array([r[0] for r in rows], dtype=np.float64).reshape(
        len(rows), 98, 2
    )
    attributes = np.array([r[2] for r in rows], dtype=bool).reshape(len(rows), 6)
    names = [r[3] for r in rows]
    return Benchmark(
        format="wflw",
        num_landmarks=98,
        face_ids=tuple(f"{name}#{i}" for i, name in enumerate(names)),
        image_paths=tuple(root / name for name in names),
        boxes=np.array([r[1] for r in rows], dtype=np.float64).reshape(len(rows), 4),
        landmarks=landmarks,
        subsets={attr: attributes[:, k] for k, attr in enumerate(WFLW_ATTRIBUTES)},
    )


def _find_wflw_list(path: Path) -> Path:
    candidates = [
        path,
        path / WFLW_LIST_NAME,
        path / "WFLW_annotations" / "list_98pt_rect_attr_train_test" / WFLW_LIST_NAME,
        path / "list_98pt_rect_attr_train_test" / WFLW_LIST_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BenchmarkError(f"No {WFLW_LIST_NAME} found at {os.fspath(path)!r}")


def _find_wflw_images(list_file: Path, given: Path) -> Path:
    for folder in (given, *list_file.parents):
        if (folder / "WFLW_images").is_dir():
            return folder / "WFLW_images"
    return list_file.parent


def _read_wflw_rows(
    list_file: Path,
) -> list[tuple[list[float], list[float], list[int], str]]:
    rows = []
    with open(list_file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 207:
                raise BenchmarkError(
                    f"{list_file.name} line {number}: expected 207 columns "
                    f"(196 coordinates, 4 box values, 6 attributes, image path), got {len(fields)}"
                )
            try:
                values = [float(v) for v in fields[:200]]
                attributes = [int(v) for v in fields[200:206]]
            except ValueError as error:
                raise BenchmarkError(
                    f"{list_file.name} line {number}: {error}"
                ) from error
            rows.append((values[:196], values[196:200], attributes, fields[206]))
    if not rows:
        raise BenchmarkError(f"{list_file} holds no faces")
    return rows


# --- 300W ---------------------------------------------------------------------------


def read_300w(path: str | os.PathLike) -> Benchmark:
    """300W from a folder of images with ``.pts`` files beside them (searched recursively).

    Subsets from the folder names: ``common`` (LFPW and HELEN test), ``challenging``
    (iBUG); the 300-W private test set's ``01_Indoor``/``02_Outdoor`` become
    ``indoor``/``outdoor``. Coordinates are shifted from 1-based to 0-based.
    """
    root = Path(path)
    if not root.is_dir():
        raise BenchmarkError(
            f"300W ground truth must be a folder, got {os.fspath(root)!r}"
        )
    pts_files = sorted(root.rglob("*.pts"))
    if not pts_files:
        raise BenchmarkError(f"No .pts files under {os.fspath(root)!r}")
    images = [_image_beside(pts) for pts in pts_files]
    landmarks = np.stack([read_pts(pts) for pts in pts_files])
    ids = tuple(image.relative_to(root).as_posix() for image in images)
    return Benchmark(
        format="300w",
        num_landmarks=68,
        face_ids=ids,
        image_paths=tuple(images),
        boxes=np.concatenate([landmarks.min(axis=1), landmarks.max(axis=1)], axis=1),
        landmarks=landmarks,
        subsets=_300w_subsets(ids),
    )


def read_pts(path: Path) -> np.ndarray:
    """68 0-based (x, y) points from an iBUG ``.pts`` file (1-based on disk)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        body = text[text.index("{") + 1 : text.index("}")]
        points = np.array(
            [
                [float(v) for v in line.split()]
                for line in body.splitlines()
                if line.strip()
            ]
        )
    except ValueError as error:
        raise BenchmarkError(f"{path.name}: not a .pts file ({error})") from error
    if points.shape != (68, 2):
        raise BenchmarkError(
            f"{path.name}: expected 68 points of 2 values, got shape {points.shape}"
        )
    return points - 1.0


def _image_beside(pts: Path) -> Path:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (pts.with_suffix(suffix), pts.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    raise BenchmarkError(
        f"No image next to {pts.name} (looked for {', '.join(IMAGE_SUFFIXES)})"
    )


def _300w_subsets(ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    parts = [[p.lower() for p in face_id.split("/")[:-1]] for face_id in ids]

    def having(*names: str) -> np.ndarray:
        return np.array([any(n in p for n in names) for p in parts], dtype=bool)

    subsets = {
        "common": having("lfpw", "helen"),
        "challenging": having("ibug"),
        "indoor": having("01_indoor"),
        "outdoor": having("02_outdoor"),
    }
    return {name: mask for name, mask in subsets.items() if mask.any()}


# --- COFW ---------------------------------------------------------------------------


def read_cofw(path: str | os.PathLike) -> Benchmark:
    """COFW test set from ``COFW_test_color.mat`` (MATLAB v7.3/HDF5 or older).

    ``IsT`` images, ``bboxesT`` boxes ``[x y w h]``, ``phisT`` ``[x(29) y(29) occ(29)]``;
    MATLAB's 1-based pixel coordinates are shifted to 0-based.
    """
    mat = Path(path)
    if mat.is_dir():
        mat = mat / COFW_FILE_NAME
    if not mat.is_file():
        raise BenchmarkError(f"No COFW .mat file at {os.fspath(mat)!r}")
    images, boxes, phis = (
        _read_cofw_hdf5(mat) if _is_hdf5(mat) else _read_cofw_classic(mat)
    )
    if phis.ndim != 2 or phis.shape[1] != 87 or boxes.shape != (phis.shape[0], 4):
        raise BenchmarkError(
            f"{mat.name}: expected phisT (N, 87) and bboxesT (N, 4), got {phis.shape} and {boxes.shape}"
        )
    n = phis.shape[0]
    if len(images) != n:
        raise BenchmarkError(
            f"{mat.name}: {len(images)} images for {n} annotated faces"
        )
    landmarks = np.stack([phis[:, :29], phis[:, 29:58]], axis=-1) - 1.0
    corners = boxes[:, :2] - 1.0
    return Benchmark(
        format="cofw",
        num_landmarks=29,
        face_ids=tuple(str(i + 1) for i in range(n)),
        image_paths=(None,) * n,
        boxes=np.concatenate([corners, corners + boxes[:, 2:]], axis=1),
        landmarks=landmarks,
        default_normaliser="inter_pupil",
        images=tuple(images),
    )


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(1024)
    # MATLAB v7.3 files are HDF5 with a 512-byte user block.
    return b"\x89HDF\r\n\x1a\n" in (head[:8], head[512:520])


def _read_cofw_hdf5(path: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as mat:
        _require(mat, path, "IsT", "bboxesT", "phisT")
        # MATLAB writes column-major, so every array comes back transposed.
        phis = np.asarray(mat["phisT"], dtype=np.float64).T
        boxes = np.asarray(mat["bboxesT"], dtype=np.float64).T
        refs = np.asarray(mat["IsT"]).ravel()
        images = [np.asarray(mat[ref]).T for ref in refs]
    return images, boxes, phis


def _read_cofw_classic(path: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except (ValueError, NotImplementedError, TypeError) as error:
        raise BenchmarkError(
            f"{path.name}: not a readable MATLAB file ({error})"
        ) from error
    _require(mat, path, "IsT", "bboxesT", "phisT")
    images = [np.asarray(cell) for cell in np.asarray(mat["IsT"], dtype=object).ravel()]
    return (
        images,
        np.asarray(mat["bboxesT"], dtype=np.float64),
        np.asarray(mat["phisT"], dtype=np.float64),
    )


def _require(mat: object, path: Path, *names: str) -> None:
    missing = [name for name in names if name not in mat]
    if missing:
        raise BenchmarkError(f"{path.name}: missing variable(s) {', '.join(missing)}")


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


FORMATS: dict[str, Callable[..., Benchmark]] = {
    "wflw": read_wflw,
    "300w": read_300w,
    "cofw": read_cofw,
}


def read_benchmark(format: str, path: str | os.PathLike) -> Benchmark:
    """Read ground truth with the reader registered for ``format``."""
    try:
        reader = FORMATS[format.lower()]
    except KeyError:
        raise BenchmarkError(
            f"Unknown benchmark format {format!r}; expected one of {', '.join(FORMATS)}"
        ) from None
    return reader(path)

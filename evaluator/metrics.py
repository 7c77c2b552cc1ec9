"""Face-alignment metrics: NME, failure rate, CED curve and its AUC.

All functions are vectorised numpy. Shapes are written ``(N, K, 2)``: N images,
K landmarks, (x, y) in pixels of the same frame for predictions and ground truth.
Direction and units are data, in :data:`METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import simpson

from evaluator.layouts import layout_for

NORMALISERS = ("inter_ocular", "inter_pupil", "bbox")
CED_STEP = 1e-4


@dataclass(frozen=True)
class MetricInfo:
    name: str
    higher_is_better: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    "nme": MetricInfo("nme", False, "mean normalised point-to-point error (fraction)"),
    "fr": MetricInfo("fr", False, "failure rate: fraction of images with NME above T"),
    "auc": MetricInfo("auc", True, "area under the CED curve up to T, divided by T"),
}


def nme(
    pred: np.ndarray,
    gt: np.ndarray,
    normaliser: str = "inter_ocular",
    boxes: np.ndarray | None = None,
) -> np.ndarray:
    """Per-image normalised mean error, shape (N,).

    ``nme_i = mean_k ||pred_ik - gt_ik||_2 / d_i`` where ``d_i`` is

    - ``inter_ocular``: distance between the outer eye corners of ``gt``
      (98: 60-72, 68: 36-45, 29: 8-9);
    - ``inter_pupil``: distance between the eye centres (98: 96-97, 68: means of
      36-41 and 42-47, 29: 16-17);
    - ``bbox``: ``sqrt(w * h)`` of ``boxes`` (N, 4) as ``x_min, y_min, x_max, y_max``,
      or of the tight box around ``gt`` when ``boxes`` is None (any layout).
    """
    gt = _as_points(gt, "ground truth")
    pred = _as_points(pred, "predictions", expected=gt.shape)
    distances = _normalising_distances(gt, normaliser, boxes)
    difference = pred - gt
    errors = np.sqrt(np.einsum("nkc,nkc->nk", difference, difference)).mean(axis=1)
    # A NaN or inf anywhere in an image shows in its error: cheaper than scanning all points.
    not_finite = ~(np.isfinite(errors) & np.isfinite(distances))
    if not_finite.any():
        image = int(np.flatnonzero(not_finite)[0])
        what = "Ground truth" if not np.isfinite(gt[image]).all() else "Predictions"
        raise ValueError(f"{what} contain NaN or infinite values (image {image})")
    zero = ~(distances > 0)
    if zero.any():
        raise ValueError(
            f"Normalising distance ({normaliser}) is zero for image {int(np.flatnonzero(zero)[0])}: "
            "the ground truth puts both reference points in the same place"
        )
    return errors / distances


def failure_rate(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """FR@T: fraction of images with ``nme_i > T`` (strict)."""
    nmes = _as_nmes(nmes)
    return float(np.mean(nmes > threshold))


def ced_curve(
    nmes: np.ndarray, threshold: float = 0.1, step: float = CED_STEP
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: ``x = linspace(0, T, round(T/step) + 1)`` and
    ``y(x) = fraction of images with nme_i <= x``."""
    nmes = _as_nmes(nmes)
    _check_threshold(threshold)
    x = np.linspace(0.0, threshold, round(threshold / step) + 1)
    y = np.searchsorted(np.sort(nmes), x, side="right") / nmes.size
    return x, y


def auc(nmes: np.ndarray, threshold: float = 0.1, step: float = CED_STEP) -> float:
    """AUC@T: Simpson's rule integral of the CED over [0, T], divided by T."""
    x, y = ced_curve(nmes, threshold, step)
    return float(simpson(y, x=x) / threshold)


def _normalising_distances(
    gt: np.ndarray, normaliser: str, boxes: np.ndarray | None
) -> np.ndarray:
    if normaliser == "bbox":
        return _box_sizes(gt, boxes)
    if normaliser not in NORMALISERS:
        raise ValueError(
            f"Unknown normaliser {normaliser!r}; expected one of {', '.join(NORMALISERS)}"
        )
    layout = layout_for(gt.shape[1])
    if normaliser == "inter_ocular":
        left, right = (
            gt[:, layout.outer_eye_corners[0]],
            gt[:, layout.outer_eye_corners[1]],
        )
    else:
        left = gt[:, list(layout.pupils[0])].mean(axis=1)
        right = gt[:, list(layout.pupils[1])].mean(axis=1)
    return np.linalg.norm(left - right, axis=-1)


def _box_sizes(gt: np.ndarray, boxes: np.ndarray | None) -> np.ndarray:
    if boxes is None:
        extent = gt.max(axis=1) - gt.min(axis=1)
    else:
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.shape != (gt.shape[0], 4):
            raise ValueError(
                f"Expected boxes of shape ({gt.shape[0]}, 4), got {boxes.shape}"
            )
        extent = boxes[:, 2:] - boxes[:, :2]
    return np.sqrt(np.clip(extent[:, 0] * extent[:, 1], 0, None))


def _as_points(
    values: np.ndarray, what: str, expected: tuple[int, ...] | None = None
) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if expected is not None and array.shape != expected:
        raise ValueError(
            f"Expected {what} of shape ({expected[0]}, {expected[1]}, 2), got {array.shape}"
        )
    if array.ndim != 3 or array.shape[2] != 2 or array.shape[0] == 0:
        raise ValueError(
            f"Expected {what} of shape (N, K, 2) with N >= 1, got {array.shape}"
        )
    return array


def _as_nmes(nmes: np.ndarray) -> np.ndarray:
    array = np.asarray(nmes, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"Expected per-image NMEs of shape (N,) with N >= 1, got {array.shape}"
        )
    if np.isnan(array).any():
        raise ValueError("Per-image NMEs contain NaN")
    return array


def _check_threshold(threshold: float) -> None:
    if not threshold > 0:
        raise ValueError(f"Expected a positive threshold, got {threshold}")

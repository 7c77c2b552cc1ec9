"""Score predictions against a benchmark: the numbers a leaderboard shows.

:func:`score` returns a JSON-serialisable dict::

    {
      "evaluator_version": "0.1.0",
      "format": "wflw", "num_landmarks": 98, "num_faces": 2500,
      "normaliser": "inter_ocular", "threshold": 0.1,
      "metrics": {"nme": {"higher_is_better": false, ...}, ...},
      "overall": {"num_faces": 2500, "nme": 0.0436, "fr@0.1": 0.0284, "auc@0.1": 0.5719},
      "subsets": {"pose": {...same keys...}, ...},
      "ced": {"x": [0.0, 0.0001, ...], "y": [...]},
      "per_face_nme": {"<face id>": 0.041, ...}
    }

All values are fractions (multiply NME and FR by 100 for the usual percent).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from evaluator import __version__
from evaluator.benchmarks import Benchmark
from evaluator.metrics import METRICS, auc, ced_curve, failure_rate, nme


def score(
    pred: np.ndarray,
    benchmark: Benchmark,
    normaliser: str | None = None,
    threshold: float = 0.1,
) -> dict:
    """NME, FR@T and AUC@T overall and per subset, the CED curve and per-face NMEs.

    ``normaliser`` defaults to the benchmark's convention (inter-ocular for WFLW and
    300W, inter-pupil for COFW); ``"bbox"`` uses the benchmark boxes.
    """
    normaliser = normaliser or benchmark.default_normaliser
    boxes = benchmark.boxes if normaliser == "bbox" else None
    nmes = nme(pred, benchmark.landmarks, normaliser, boxes=boxes)
    x, y = ced_curve(nmes, threshold)
    return {
        "evaluator_version": __version__,
        "format": benchmark.format,
        "num_landmarks": benchmark.num_landmarks,
        "num_faces": len(benchmark),
        "normaliser": normaliser,
        "threshold": threshold,
        "metrics": {name: asdict(info) for name, info in METRICS.items()},
        "overall": summarise(nmes, threshold),
        "subsets": {
            name: summarise(nmes[mask], threshold)
            for name, mask in benchmark.subsets.items()
        },
        "ced": {"x": [float(v) for v in x], "y": [float(v) for v in y]},
        "per_face_nme": {fid: float(v) for fid, v in zip(benchmark.face_ids, nmes)},
    }


def summarise(nmes: np.ndarray, threshold: float = 0.1) -> dict:
    """``num_faces``, ``nme``, ``fr@T`` and ``auc@T`` of per-image NMEs (None when empty)."""
    keys = ("nme", f"fr@{threshold:g}", f"auc@{threshold:g}")
    if nmes.size == 0:
        return {"num_faces": 0, **dict.fromkeys(keys)}
    values = (float(nmes.mean()), failure_rate(nmes, threshold), auc(nmes, threshold))
    return {"num_faces": int(nmes.size), **dict(zip(keys, values))}

"""What each benchmark feeds: its leaderboard, normaliser, metric columns and subsets.

The official splits are ready to install from their files
(`manage.py install_benchmark --format wflw --path … --slug wflw-test`); an
unknown slug gets the defaults of its format. Column values are the
evaluator's fractions times `scale`, written with `digits` decimals, the way
the leaderboards list them (NME 4.36, FR@10 2.84, AUC@10 57.19).
"""

from __future__ import annotations

WFLW_SUBSETS = ["pose", "expression", "illumination", "makeup", "occlusion", "blur"]


def _columns(suffix: str, nme_only: bool = False) -> list[dict]:
    columns = [{"metric": f"NME ({suffix})", "key": "nme", "scale": 100, "digits": 2}]
    if not nme_only:
        columns += [
            {"metric": f"AUC@10 ({suffix})", "key": "auc@0.1", "scale": 100, "digits": 2},
            {"metric": f"FR@10 ({suffix})", "key": "fr@0.1", "scale": 100, "digits": 2},
        ]
    return columns


def _300w_column(split: str) -> list[dict]:
    return [{"metric": f"NME_inter-ocular (%, {split})", "key": "nme", "scale": 100, "digits": 2}]


FORMAT_DEFAULTS = {
    "wflw": {"dataset": "WFLW", "normaliser": "inter_ocular", "metric_columns": _columns("inter-ocular"),
             "subsets": WFLW_SUBSETS},
    "300w": {"dataset": "300W", "normaliser": "inter_ocular", "metric_columns": _300w_column("Full"),
             "subsets": ["common", "challenging"]},
    "cofw": {"dataset": "COFW", "normaliser": "inter_pupil", "metric_columns": _columns("inter-pupil", nme_only=True),
             "subsets": []},
}

PRESETS = {
    "wflw-test": {"name": "WFLW test (2,500 faces)", "format": "wflw", "split": ""},
    "300w-common": {"name": "300W common (554 faces)", "format": "300w", "split": "common",
                    "metric_columns": _300w_column("Common"), "subsets": []},
    "300w-challenging": {"name": "300W challenging (135 faces)", "format": "300w", "split": "challenging",
                         "metric_columns": _300w_column("Challenge"), "subsets": []},
    "300w-full": {"name": "300W full (689 faces)", "format": "300w", "split": ""},
    "cofw-test": {"name": "COFW test (507 faces)", "format": "cofw", "split": ""},
}

TASK = "Face Alignment"

# Checkpoints a benchmark accepts: the published FAN (hourglass depth 4, width 64,
# the benchmark's landmarks) with one of these numbers of stacks. Key names and
# shapes are checked against these before any model is built.
CHECKPOINT_STACKS = (1, 2, 3, 4)


def preset_for(slug: str, fmt: str) -> dict:
    """The configuration of benchmark `slug` in format `fmt`: its preset over the format's defaults."""
    config = {"name": slug, "split": "", "task": TASK, "checkpoint_stacks": CHECKPOINT_STACKS, **FORMAT_DEFAULTS[fmt]}
    preset = PRESETS.get(slug, {})
    if preset and preset["format"] != fmt:
        raise ValueError(f"Benchmark {slug!r} is in the {preset['format']} format, not {fmt}.")
    config.update({k: v for k, v in preset.items() if k != "format"})
    return config

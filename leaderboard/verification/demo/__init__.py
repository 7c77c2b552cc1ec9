"""Tiny demo benchmarks in the official formats, built from the real samples beside this file."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

DEMO_DIR = Path(__file__).resolve().parent
DEMOS = {
    "wflw-demo": ("wflw", "WFLW demo (4 faces)", "WFLW demo"),
    "300w-demo": ("300w", "300W demo (2 faces)", "300W demo"),
    "cofw-demo": ("cofw", "COFW demo (2 faces)", "COFW demo"),
}
# Folders of the WFLW_images tree the sample images come from.
WFLW_FOLDERS = {"36_Football": "36--Football", "7_Cheering": "7--Cheering"}


def _coco(fmt: str) -> tuple[dict, list[dict]]:
    document = json.loads((DEMO_DIR / fmt / f"test_{fmt}.json").read_text())
    images = {image["id"]: image for image in document["images"]}
    return images, document["annotations"]


def _points(annotation: dict) -> np.ndarray:
    return np.asarray(annotation["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]


def build_wflw(target: Path) -> Path:
    images, annotations = _coco("wflw")
    lines = []
    for annotation in annotations:
        name = images[annotation["image_id"]]["file_name"]
        folder = next(f for prefix, f in WFLW_FOLDERS.items() if name.startswith(prefix + "_"))
        relative = f"{folder}/{name}"
        (target / "WFLW_images" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(DEMO_DIR / "wflw" / name, target / "WFLW_images" / relative)
        x, y, w, h = annotation["bbox"]
        coordinates = " ".join(f"{v:.6f}" for v in _points(annotation).ravel())
        lines.append(f"{coordinates} {x:.0f} {y:.0f} {x + w:.0f} {y + h:.0f} 0 0 0 0 0 0 {relative}")
    (target / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    return target


def build_300w(target: Path) -> Path:
    images, annotations = _coco("300w")
    folder = target / "01_Indoor"
    folder.mkdir(parents=True)
    for annotation in annotations:
        name = images[annotation["image_id"]]["file_name"]
        shutil.copy2(DEMO_DIR / "300w" / name, folder / name)
        body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in _points(annotation))
        (folder / name).with_suffix(".pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    return target


def build_cofw(target: Path) -> Path:
    import cv2
    from scipy.io import savemat

    images, annotations = _coco("cofw")
    cells = np.empty((len(annotations), 1), dtype=object)
    boxes, phis = [], []
    for i, annotation in enumerate(annotations):
        image = cv2.imread(str(DEMO_DIR / "cofw" / images[annotation["image_id"]]["file_name"]), cv2.IMREAD_COLOR)
        cells[i, 0] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        x, y, w, h = annotation["bbox"]
        boxes.append([x + 1, y + 1, w, h])
        points = _points(annotation) + 1.0  # back to MATLAB's 1-based pixels
        occluded = (np.asarray(annotation["keypoints"]).reshape(-1, 3)[:, 2] == 1).astype(float)
        phis.append(np.concatenate([points[:, 0], points[:, 1], occluded]))
    target.mkdir(parents=True, exist_ok=True)
    savemat(target / "COFW_test_color.mat", {"IsT": cells, "bboxesT": np.array(boxes), "phisT": np.array(phis)})
    return target


BUILDERS = {"wflw": build_wflw, "300w": build_300w, "cofw": build_cofw}


def load_demo_benchmarks(slugs=None) -> list[str]:
    """Install the demo benchmarks that are not installed yet; returns the slugs installed."""
    from leaderboard.verification.models import Benchmark
    from leaderboard.verification.services import install_benchmark

    installed = []
    for slug, (fmt, name, dataset) in DEMOS.items():
        if (slugs is not None and slug not in slugs) or Benchmark.objects.filter(slug=slug).exists():
            continue
        with tempfile.TemporaryDirectory() as folder:
            path = BUILDERS[fmt](Path(folder) / fmt)
            install_benchmark(
                fmt, path, slug, name=name, dataset=dataset, time_limit_seconds=600,
                daily_submission_limit=50, is_demo=True,
            )
        installed.append(slug)
    return installed

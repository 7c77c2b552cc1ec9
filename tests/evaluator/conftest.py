"""Shared fixtures: golden data, the deterministic weight fill and sample benchmarks.

The sample benchmarks are built in temporary folders, in the official file formats,
from the real annotated faces in ``data/faces`` (COCO-style json).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

DATA = Path(__file__).parent / "data"
FACES = DATA / "faces"


def golden_fill(model: torch.nn.Module) -> None:
    """Fill every state-dict entry by the rule of the golden reference (AWING.md)."""
    state = {}
    for name, tensor in model.state_dict().items():
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()) + 1000)
        shape = tensor.shape
        if name.endswith("num_batches_tracked"):
            value = torch.zeros_like(tensor)
        elif name.endswith("running_var"):
            value = 0.5 + torch.rand(shape, generator=g)
        elif name.endswith("running_mean"):
            value = 0.2 * torch.randn(shape, generator=g)
        elif re.fullmatch(r"l\d+\.bias", name):
            value = torch.zeros(shape)
        elif tensor.dim() == 1 and name.endswith(".weight"):
            value = 0.5 + torch.rand(shape, generator=g)
        elif tensor.dim() == 1 and name.endswith(".bias"):
            value = 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = shape[1] * shape[2] * shape[3]
            value = torch.randn(shape, generator=g) * 0.5 / math.sqrt(fan_in)
        state[name] = value
    model.load_state_dict(state)


def coco_faces(layout: str) -> tuple[dict, list[dict]]:
    """(image id -> image record, annotations) of a sample json."""
    document = json.loads((FACES / layout / f"test_{layout}.json").read_text())
    images = {image["id"]: image for image in document["images"]}
    return images, document["annotations"]


def keypoints(annotation: dict) -> np.ndarray:
    return np.array(annotation["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]


@pytest.fixture
def wflw_dir(tmp_path: Path) -> Path:
    """WFLW layout: WFLW_images/<sub>/<image> and the annotations list file."""
    images, annotations = coco_faces("wflw")
    list_dir = tmp_path / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    list_dir.mkdir(parents=True)
    lines = []
    for i, annotation in enumerate(annotations):
        name = f"sample/{images[annotation['image_id']]['file_name']}"
        target = tmp_path / "WFLW_images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((FACES / "wflw" / Path(name).name).read_bytes())
        x, y, w, h = annotation["bbox"]
        attributes = [(i >> k) & 1 for k in range(6)]
        values = [*keypoints(annotation).ravel(), x, y, x + w, y + h, *attributes]
        lines.append(" ".join(f"{v:g}" for v in values) + f" {name}")
    (list_dir / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.fixture
def w300_dir(tmp_path: Path) -> Path:
    """300W layout: images with 1-based .pts files, an ibug and a helen test folder."""
    images, annotations = coco_faces("300w")
    for folder, annotation in zip(("ibug", "helen/testset"), annotations):
        name = images[annotation["image_id"]]["file_name"]
        target = tmp_path / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((FACES / "300w" / name).read_bytes())
        write_pts(target.with_suffix(".pts"), keypoints(annotation))
    return tmp_path


def write_pts(path: Path, points: np.ndarray) -> None:
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    path.write_text(f"version: 1\nn_points: {len(points)}\n{{\n{body}\n}}\n")


def cofw_arrays() -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """(RGB images, bboxesT, phisT, 0-based ground truth) from the COFW samples.

    The sample json is 0-based (mmpose subtracted 1); the .mat convention is 1-based.
    """
    images, annotations = coco_faces("cofw")
    rgb, boxes, phis, truth = [], [], [], []
    for annotation in annotations:
        image = cv2.imread(
            str(FACES / "cofw" / images[annotation["image_id"]]["file_name"])
        )
        rgb.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        points = keypoints(annotation)
        x, y, w, h = annotation["bbox"]
        boxes.append([x + 1, y + 1, w, h])
        phis.append([*(points[:, 0] + 1), *(points[:, 1] + 1), *np.zeros(29)])
        truth.append(points)
    return rgb, np.array(boxes), np.array(phis), np.array(truth)


def write_cofw_hdf5(
    path: Path, images: list[np.ndarray], boxes: np.ndarray, phis: np.ndarray
) -> None:
    """A MATLAB v7.3-style file: column-major arrays and a cell array of references."""
    import h5py

    with h5py.File(path, "w") as mat:
        refs = np.empty((1, len(images)), dtype=h5py.ref_dtype)
        group = mat.create_group("#refs#")
        for i, image in enumerate(images):
            refs[0, i] = group.create_dataset(f"img{i}", data=image.T).ref
        mat.create_dataset("IsT", data=refs)
        mat.create_dataset("bboxesT", data=boxes.T)
        mat.create_dataset("phisT", data=phis.T)


def write_cofw_classic(
    path: Path, images: list[np.ndarray], boxes: np.ndarray, phis: np.ndarray
) -> None:
    from scipy.io import savemat

    cells = np.empty((len(images), 1), dtype=object)
    for i, image in enumerate(images):
        cells[i, 0] = image
    savemat(path, {"IsT": cells, "bboxesT": boxes, "phisT": phis})

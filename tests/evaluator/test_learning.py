"""A small FAN learns to find coloured discs: the model, loss, targets and decoder fit.

The published network is too slow to train in a unit test, so this uses the
constructor's small-experiment options (one stack, hourglass depth 2, width 8) on
64x64 images with 16x16 heatmaps.
"""

import cv2
import numpy as np
import pytest
import torch

from evaluator.heatmaps import decode, gaussian_targets
from evaluator.losses import AdaptiveWingLoss
from evaluator.metrics import nme
from evaluator.models.awing import FAN

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
SIZE, HEATMAP = 64, 16


def synthetic_batch(
    rng: np.random.Generator, n: int
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    points = rng.uniform(8, SIZE - 8, size=(n, len(COLOURS), 2))
    for image, centres in zip(images, points):
        for colour, (x, y) in zip(COLOURS, centres):
            # shift=4: sub-pixel centres in 1/16 px, so the disc sits where the label says
            cv2.circle(
                image,
                (round(x * 16), round(y * 16)),
                3 * 16,
                colour,
                -1,
                cv2.LINE_AA,
                4,
            )
    targets = [
        np.concatenate(
            [
                gaussian_targets(p, HEATMAP, SIZE, sigma=1.0),
                np.zeros((1, HEATMAP, HEATMAP), np.float32),
            ]
        )
        for p in points
    ]
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return x, torch.from_numpy(np.stack(targets)), points


def image_nme(model: FAN, x: torch.Tensor, points: np.ndarray) -> float:
    model.eval()
    with torch.inference_mode():
        heatmaps = model(x)[-1][:, : len(COLOURS)]
    model.train()
    boxes = np.tile([0, 0, SIZE, SIZE], (len(points), 1))
    return float(nme(decode(heatmaps), points, "bbox", boxes=boxes).mean())


@pytest.fixture
def one_thread():
    # Tiny tensors gain nothing from threads, and OpenMP spin-waits make them
    # many times slower when the machine is busy with other work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_it_learns_landmarks_well_below_the_untrained_error(one_thread):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = FAN(
        num_modules=1, num_landmarks=len(COLOURS), hourglass_depth=2, base_width=8
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = AdaptiveWingLoss()
    x_val, _, points_val = synthetic_batch(rng, 64)
    untrained = image_nme(model, x_val, points_val)
    for _ in range(150):
        x, targets, _ = synthetic_batch(rng, 16)
        loss = loss_fn(model(x)[-1], targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    trained = image_nme(model, x_val, points_val)
    assert untrained > 0.2
    # 1/64 of the image is one pixel; the 4x heatmap stride bounds precision near 2 px.
    assert trained < 0.05 and trained < untrained / 8

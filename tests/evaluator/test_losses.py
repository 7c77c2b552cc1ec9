import json

import numpy as np
import pytest
import torch

from evaluator.losses import (
    AdaptiveWingLoss,
    adaptive_wing_loss,
    foreground_mask,
    weighted_loss_map,
)

from .conftest import DATA

REFERENCE = json.loads((DATA / "loss" / "reference.json").read_text())


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    load = lambda name: torch.from_numpy(np.load(DATA / "loss" / f"{name}.npy"))
    return load("pred"), load("target"), load("mask")


def test_it_equals_the_pointwise_reference():
    for case in REFERENCE["pointwise"]:
        y_hat = torch.tensor(case["y_hat"], dtype=torch.float64)
        y = torch.tensor(case["y"], dtype=torch.float64)
        value = adaptive_wing_loss(y_hat, y, reduction="none")
        assert value.item() == pytest.approx(case["awing"], abs=1e-9)


def test_it_equals_the_batch_reference():
    pred, target, mask = batch()
    expected = REFERENCE["batch"]
    torch.testing.assert_close(foreground_mask(target), mask, rtol=0, atol=0)
    assert adaptive_wing_loss(pred, target).item() == pytest.approx(
        expected["loss_mean_unweighted"], abs=1e-12
    )
    weighted = AdaptiveWingLoss()(pred, target).item()
    assert weighted == pytest.approx(
        expected["loss_mean_weighted (mean(loss*(W*M+1)))"], abs=1e-12
    )
    total = adaptive_wing_loss(
        pred, target, weight=weighted_loss_map(target), reduction="sum"
    )
    assert total.item() == pytest.approx(expected["loss_sum_weighted"], rel=1e-12)


def test_the_branches_meet_at_theta():
    y = torch.linspace(0, 1, 11, dtype=torch.float64)
    below = adaptive_wing_loss(y + 0.5 - 1e-9, y, reduction="none")
    above = adaptive_wing_loss(y + 0.5 + 1e-9, y, reduction="none")
    assert (below - above).abs().max() < 1e-6


def test_it_is_zero_on_target_and_symmetric():
    y = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert adaptive_wing_loss(y, y).item() == 0.0
    d = 0.3 * torch.ones_like(y)
    torch.testing.assert_close(
        adaptive_wing_loss(y + d, y, reduction="none"),
        adaptive_wing_loss(y - d, y, reduction="none"),
    )


def test_it_weights_the_dilated_foreground():
    target = torch.zeros(1, 1, 5, 5)
    target[0, 0, 2, 2] = 1.0
    weight = weighted_loss_map(target)
    assert weight[0, 0, 1:4, 1:4].eq(11).all()
    assert weight.sum().item() == 9 * 11 + 16 * 1


def test_it_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Expected target of shape \(1, 2\)"):
        adaptive_wing_loss(torch.zeros(1, 2), torch.zeros(2, 1))

import json

import numpy as np
import pytest
import torch

from evaluator.heatmaps import decode
from evaluator.inference import fold_batchnorm
from evaluator.models.awing import FAN

from .conftest import DATA, golden_fill

GOLDEN = DATA / "awing_fan4_98"


@pytest.fixture(scope="module")
def golden_outputs() -> list[torch.Tensor]:
    model = FAN(num_modules=4, num_landmarks=98).eval()
    golden_fill(model)
    x = torch.rand((2, 3, 256, 256), generator=torch.Generator().manual_seed(1001))
    with torch.inference_mode():
        return model(x)


def test_it_has_the_official_state_dict_names_shapes_and_order():
    expected = json.loads((GOLDEN / "state_dict_keys.json").read_text())
    state = FAN().state_dict()
    assert [(k, list(v.shape)) for k, v in state.items()] == [
        (e["key"], e["shape"]) for e in expected
    ]
    assert len(state) == 1137
    assert sum(p.numel() for p in FAN().parameters()) == 24_153_036


def test_it_matches_the_official_model_under_the_golden_fill(golden_outputs):
    reference = json.loads((GOLDEN / "reference.json").read_text())
    last = np.load(GOLDEN / "last_stack_output.npy")
    assert [tuple(o.shape) for o in golden_outputs] == [(2, 99, 64, 64)] * 4
    np.testing.assert_allclose(golden_outputs[-1].numpy(), last, rtol=1e-3, atol=1e-4)
    sums = [float(o.double().sum()) for o in golden_outputs]
    np.testing.assert_allclose(sums, reference["stack_output_sums"], rtol=1e-4)
    abs_sums = [float(o.double().abs().sum()) for o in golden_outputs]
    np.testing.assert_allclose(abs_sums, reference["stack_output_abs_sums"], rtol=1e-5)


def test_it_decodes_the_golden_output_like_the_official_code(golden_outputs):
    expected = np.load(GOLDEN / "decoded_landmarks_256.npy")
    stored = np.load(GOLDEN / "last_stack_output.npy")
    np.testing.assert_array_equal(decode(stored[:, :98]), expected)
    ours = decode(golden_outputs[-1][:, :98])
    # A near-tie between neighbours may flip a quarter-pixel shift under float noise.
    assert np.mean(np.abs(ours - expected) < 1e-9) > 0.99


@pytest.mark.parametrize(("stacks", "landmarks"), [(1, 68), (2, 29), (3, 98)])
def test_it_builds_reduced_configurations(stacks, landmarks):
    model = FAN(
        num_modules=stacks, num_landmarks=landmarks, hourglass_depth=2, base_width=16
    )
    model.eval()
    with torch.inference_mode():
        outputs = model(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outputs] == [(2, landmarks + 1, 16, 16)] * stacks
    assert all(torch.isfinite(o).all() for o in outputs)
    state = model.state_dict()
    assert f"l{stacks - 1}.weight" in state and f"al{stacks - 1}.weight" not in state
    assert state["m0.coordconv.conv.weight"].shape[1] == 64 + 3
    if stacks > 1:
        assert state["m1.coordconv.conv.weight"].shape[1] == 64 + 5


def test_it_sends_a_gradient_to_every_parameter():
    model = FAN(num_modules=2, num_landmarks=5, hourglass_depth=2, base_width=8)
    outputs = model(torch.rand(2, 3, 64, 64))
    sum(o.square().mean() for o in outputs).backward()
    # The boundary gate is a hard threshold; the conv behind it still gets a gradient.
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()
    )


def test_it_gives_the_same_output_with_batchnorm_folded():
    model = FAN(num_modules=2, num_landmarks=5, hourglass_depth=2, base_width=8).eval()
    golden_fill(model)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        plain = model(x)[-1]
        folded = fold_batchnorm(model)(x)[-1]
    torch.testing.assert_close(folded, plain, rtol=1e-4, atol=1e-4)


def test_it_refuses_impossible_configurations():
    with pytest.raises(ValueError, match="num_modules=0"):
        FAN(num_modules=0)

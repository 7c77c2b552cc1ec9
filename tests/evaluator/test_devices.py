"""Inference on every device this machine has: the CPU always, a CUDA GPU when present.

CI has no GPU, so there these tests run on the CPU only; on a machine with CUDA the
same tests check the GPU path against the golden reference and against the CPU.
"""

import json

import numpy as np
import pytest
import torch

from evaluator.benchmarks import read_benchmark
from evaluator.inference import (
    conv_precision,
    crop_transform,
    predict,
    prepare_model,
)
from evaluator.models.awing import FAN

from .conftest import DATA, golden_fill
from .test_scoring_and_inference import tiny_wflw_model

GOLDEN = DATA / "awing_fan4_98"
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def golden_model() -> FAN:
    model = FAN(num_modules=4, num_landmarks=98).eval()
    golden_fill(model)
    return model


@pytest.mark.parametrize("device", DEVICES)
def test_the_fast_model_gives_the_golden_output_in_fp32(golden_model, device):
    x = torch.rand((2, 3, 256, 256), generator=torch.Generator().manual_seed(1001))
    fast = prepare_model(golden_model, device, freeze=False)
    with torch.inference_mode(), conv_precision("fp32", device):
        last = fast(x.to(device).contiguous(memory_format=torch.channels_last))[-1]
    expected = np.load(GOLDEN / "last_stack_output.npy")
    np.testing.assert_allclose(last.cpu().numpy(), expected, rtol=1e-3, atol=1e-4)
    sums = json.loads((GOLDEN / "reference.json").read_text())["stack_output_sums"]
    assert float(last.double().sum()) == pytest.approx(sums[-1], rel=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_predictions_agree_with_the_plain_cpu_model(wflw_dir, device):
    benchmark = read_benchmark("wflw", wflw_dir)
    model = tiny_wflw_model()
    plain = predict(model, benchmark, batch_size=4, device="cpu", optimise=False)
    fast = predict(model, benchmark, batch_size=3, device=device)
    # Decoding snaps to a quarter heatmap pixel: a near-tie may flip, nearly all agree.
    assert np.mean(np.abs(fast - plain) < 1e-6) > 0.95
    reduced = predict(model, benchmark, batch_size=3, device=device, precision="bf16")
    scale = np.array([crop_transform(box)[0, 0] for box in benchmark.boxes])
    # bf16 keeps 8 bits of mantissa: in the 256 px crop most points stay within a heatmap pixel.
    moved = np.linalg.norm(reduced - plain, axis=2) * scale[:, None]
    assert np.isfinite(reduced).all() and np.mean(moved <= 4 * 2**0.5) > 0.8


@pytest.mark.parametrize("device", DEVICES)
def test_fp32_means_ieee_convolutions_and_the_setting_comes_back(device):
    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    with conv_precision("fp32", device):
        inside_fp32 = conv.fp32_precision
    with conv_precision("tf32", device):
        inside_tf32 = conv.fp32_precision
    assert conv.fp32_precision == before
    expected = ("ieee", "tf32") if device == "cuda" else (before, before)
    assert (inside_fp32, inside_tf32) == expected


@pytest.mark.parametrize("precision", ["tf32", "fp16"])
def test_cuda_only_precisions_are_refused_on_the_cpu(wflw_dir, precision):
    benchmark = read_benchmark("wflw", wflw_dir)
    with pytest.raises(ValueError, match=f"{precision} inference needs a CUDA device"):
        predict(tiny_wflw_model(), benchmark, device="cpu", precision=precision)

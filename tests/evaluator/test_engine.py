"""The worker's engine: warm-up at start, one compiled network per architecture, precision choices."""

import numpy as np
import pytest
import torch

from evaluator.benchmarks import read_benchmark
from evaluator.engine import Engine, architecture_key
from evaluator.inference import predict
from evaluator.models.awing import FAN
from tests.evaluator.conftest import golden_fill


def small_model(seed: int) -> FAN:
    model = FAN(num_modules=1, num_landmarks=98, hourglass_depth=2, base_width=8).eval()
    golden_fill(model)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.mul_(1 + 0.05 * seed)
    return model


def test_it_warms_up_each_architecture_once_at_start():
    engine = Engine("cpu")
    seconds = engine.warm_up([(98, 1), (29, 1)])
    assert seconds > 0 and engine.batch_size == 2


def test_without_compiling_it_predicts_exactly_like_the_evaluator(wflw_dir):
    benchmark = read_benchmark("wflw", wflw_dir)
    model = small_model(0)
    progress = []
    got = Engine("cpu").predict(model, benchmark, progress=lambda d, t: progress.append((d, t)))
    assert np.array_equal(got, predict(model, benchmark, batch_size=2, device="cpu"))
    assert progress[-1] == (4, 4)


def test_a_compiled_network_is_made_once_per_architecture_and_takes_each_checkpoints_weights(wflw_dir, tmp_path):
    """Dynamo's capture with the eager backend: real graph guards, no C++ compiler needed."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    benchmark = read_benchmark("wflw", wflw_dir)
    engine = Engine("cpu", compile=True, cache_dir=tmp_path, compile_options={"backend": "eager"})
    first, second = small_model(0), small_model(3)
    assert architecture_key(first) == architecture_key(second)
    a = engine.predict(first, benchmark)
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    b = engine.predict(second, benchmark)
    assert counters["stats"]["unique_graphs"] == graphs  # the second checkpoint did not recompile
    assert len(engine._networks) == 1
    for model, got in ((first, a), (second, b)):
        eager = predict(model, benchmark, batch_size=2, device="cpu")
        assert np.mean(np.abs(got - eager) < 1e-3) > 0.95
    assert not np.allclose(a, b)  # each run used its own weights


def test_a_failing_compiler_falls_back_to_the_eager_network(wflw_dir, monkeypatch):
    def broken(module, **options):
        def call(*args):
            raise RuntimeError("no compiler on this node")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    benchmark = read_benchmark("wflw", wflw_dir)
    model = small_model(1)
    got = Engine("cpu", compile=True).predict(model, benchmark)
    assert np.mean(np.abs(got - predict(model, benchmark, batch_size=2, device="cpu")) < 1e-3) > 0.95


@pytest.mark.parametrize(("asked", "used"), [("fp32", "fp32"), ("tf32", "fp32"), ("bf16", "bf16")])
def test_off_cuda_tf32_means_fp32_and_bf16_stays_bf16(asked, used):
    assert Engine("cpu").effective_precision(asked) == used

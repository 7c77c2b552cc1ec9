"""Evaluator speed: metrics against a plain Python loop, FAN inference images/s.

Run from the repository root: ``python benchmarks/evaluator_bench.py``. Prints the
figures and writes them to ``benchmarks/results/evaluator.json`` (or ``--out``). On CPU
it compares the optimised inference path (BatchNorm folded, channels-last,
inference_mode, cache-sized chunks, a frozen TorchScript trace in float32) with plain
eager float32 in the same run, and measures how much of eager time the convolutions
take. On CUDA it measures fp32, tf32 and bf16 at batches of 64-256 (and torch.compile
with ``--compile-batch``) against the arithmetic limit. Timings are the median of a
few rounds, interleaved so that load from other processes hits every variant alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import torch

import evaluator
from evaluator.inference import PRECISIONS, conv_precision, prepare_model
from evaluator.metrics import auc, ced_curve, failure_rate, nme
from evaluator.models.awing import FAN

RESULTS = ROOT / "benchmarks" / "results" / "evaluator.json"
GFLOPS_PER_IMAGE = 53.4  # AWING.md, FAN-4 at 256x256
# AWING.md: on an H200 the arithmetic limit is above 10,000 images/s in bf16.
H200_BF16_LIMIT_IMAGES_PER_S = 10_000


def best_of(
    functions: dict[str, Callable[[], object]], rounds: int
) -> dict[str, float]:
    """Median wall time in seconds of each function, rounds interleaved.

    The median rather than the minimum: on a shared machine one lucky round of one
    variant would otherwise decide a ratio.
    """
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


# --- metrics -------------------------------------------------------------------------


def metrics_loop(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.1) -> tuple:
    """The straightforward per-image version, as a reference for speed."""
    nmes = []
    for p, g in zip(pred.tolist(), gt.tolist()):
        d = math.dist(g[60], g[72])
        nmes.append(sum(math.dist(a, b) for a, b in zip(p, g)) / len(p) / d)
    fr = sum(1 for v in nmes if v > threshold) / len(nmes)
    xs = [threshold * k / 1000 for k in range(1001)]
    ced = [sum(1 for v in nmes if v <= x) / len(nmes) for x in xs]
    h = xs[1] - xs[0]
    simpson = (
        ced[0] + ced[-1] + sum((4 if k % 2 else 2) * ced[k] for k in range(1, 1000))
    )
    return sum(nmes) / len(nmes), fr, simpson * h / 3 / threshold


def metrics_vectorised(pred: np.ndarray, gt: np.ndarray) -> tuple:
    nmes = nme(pred, gt)
    ced_curve(nmes)
    return float(nmes.mean()), failure_rate(nmes), auc(nmes)


def bench_metrics() -> dict:
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 256, size=(2500, 98, 2))
    pred = gt + rng.normal(0, 3, size=gt.shape)
    fast, slow = metrics_vectorised(pred, gt), metrics_loop(pred, gt)
    assert np.allclose(fast, slow, rtol=1e-9), (fast, slow)
    times = best_of({"vectorised": lambda: metrics_vectorised(pred, gt)}, 20)
    times |= best_of({"python_loop": lambda: metrics_loop(pred, gt)}, 2)
    return {
        "faces": 2500,
        "landmarks": 98,
        "vectorised_ms": 1000 * times["vectorised"],
        "python_loop_ms": 1000 * times["python_loop"],
        "speedup": times["python_loop"] / times["vectorised"],
        "target_ms": 10,
    }


# --- inference -----------------------------------------------------------------------


def forward(
    model: torch.nn.Module,
    x: torch.Tensor,
    mode: str,
    dtype: torch.dtype | None,
    precision: str = "fp32",
) -> Callable:
    def run() -> None:
        context = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
        with (
            context,
            conv_precision(precision, x.device),
            torch.autocast(
                x.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ),
        ):
            model(x)[-1].float().sum().item()  # .item() waits for the device

    return run


def bench_cpu(model: FAN) -> dict:
    baseline = model.eval()
    fast = prepare_model(model, "cpu")
    bf16 = (
        torch.backends.mkldnn.is_available()
        and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )
    results = {"threads": torch.get_num_threads(), "bf16_supported": bool(bf16)}
    for batch, rounds in ((1, 5), (16, 2)):
        x = torch.rand(batch, 3, 256, 256)
        xc = x.contiguous(memory_format=torch.channels_last)
        variants = {
            "eager_fp32": forward(baseline, x, "no_grad", None),
            "optimised_fp32": forward(fast, xc, "inference", None),
        }
        if bf16:
            variants["optimised_bf16"] = forward(fast, xc, "inference", torch.bfloat16)
        for run in variants.values():
            run()  # warm-up: the trace is frozen, oneDNN picks kernels, allocator settles
        times = best_of(variants, rounds)
        row = {name: batch / t for name, t in times.items()}
        row["speedup_fp32"] = times["eager_fp32"] / times["optimised_fp32"]
        if bf16:
            row["speedup_bf16"] = times["eager_fp32"] / times["optimised_bf16"]
        results[f"batch_{batch}_images_per_s"] = row
    results["fp32_batch_1_ceiling"] = fp32_ceiling(baseline)
    return results


def fp32_ceiling(model: FAN) -> dict:
    """How far float32 at batch 1 can go: the convolutions' share of eager time.

    If every other operator (BatchNorm, ReLU, concatenation, additions, pooling)
    cost nothing, eager float32 would speed up by ``1 / conv_share`` at most, unless
    the convolutions themselves ran faster than oneDNN runs them here; the float32
    matrix-product rate of this CPU is measured beside it for comparison.
    """
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        model(x)
        with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU]
        ) as profile:
            model(x)
    events = profile.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(
        e.self_cpu_time_total
        for e in events
        if "convolution" in e.key or "conv2d" in e.key
    )
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    matmul = best_of({"matmul": lambda: a @ b}, 10)["matmul"]
    return {
        "conv_share_of_eager_time": conv / total,
        "max_speedup_without_faster_convolutions": total / conv,
        "conv_gflops_per_s": GFLOPS_PER_IMAGE / (conv / 1e6),
        "fp32_matmul_gflops_per_s": 2 * 2048**3 / matmul / 1e9,
    }


def bench_cuda(model: FAN, compile_batch: int | None = None) -> dict:
    """fp32 (IEEE), tf32 and bf16 at batch 64-256; with ``compile_batch``, torch.compile too."""
    torch.backends.cudnn.benchmark = True
    fast = prepare_model(model, "cuda")
    results = {
        "device": torch.cuda.get_device_name(),
        "bf16_limit_images_per_s": H200_BF16_LIMIT_IMAGES_PER_S,
    }

    def measure(
        network: torch.nn.Module, precision: str, batch: int, label: str = ""
    ) -> dict:
        x = torch.rand(batch, 3, 256, 256, device="cuda").contiguous(
            memory_format=torch.channels_last
        )
        run = forward(network, x, "inference", PRECISIONS[precision], precision)
        started = time.perf_counter()
        run()  # the first call: torch.compile compiles here
        first = time.perf_counter() - started
        for _ in range(2):
            run()  # warm-up: cuDNN picks its algorithms for this shape
        rate = batch / best_of({"run": run}, 5)["run"]
        print(
            f"CUDA {label}{precision} batch {batch}: {rate:.0f} images/s, "
            f"{rate * GFLOPS_PER_IMAGE / 1000:.1f} TFLOP/s, "
            f"{100 * rate / H200_BF16_LIMIT_IMAGES_PER_S:.0f}% of the bf16 limit "
            f"(first call {first:.1f} s)",
            flush=True,
        )
        return {
            "images_per_s": rate,
            "tflops": rate * GFLOPS_PER_IMAGE / 1000,
            "fraction_of_bf16_limit": rate / H200_BF16_LIMIT_IMAGES_PER_S,
            "first_call_seconds": first,
        }

    for precision in ("fp32", "tf32", "bf16"):
        for batch in (64, 128, 256):
            results[f"{precision}_batch_{batch}"] = measure(fast, precision, batch)
    if compile_batch:
        compiled = torch.compile(fast)
        for precision in ("tf32", "bf16"):
            results[f"compiled_{precision}_batch_{compile_batch}"] = measure(
                compiled, precision, compile_batch, "compiled "
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="the JSON file to write"
    )
    parser.add_argument(
        "--compile-batch",
        type=int,
        help="on CUDA, also time torch.compile at this batch (compiling takes minutes)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(0)
    report = {
        "evaluator_version": evaluator.__version__,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.uname().processor,
        # Shared machines: a load above the core count means the CPU figures are low.
        "load_average_at_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "metrics": bench_metrics(),
    }
    m = report["metrics"]
    print(
        f"metrics 2500x98: {m['vectorised_ms']:.2f} ms vectorised, {m['python_loop_ms']:.0f} ms "
        f"Python loop ({m['speedup']:.0f}x; target < {m['target_ms']} ms)"
    )
    model = FAN()
    report["cpu_inference"] = cpu = bench_cpu(model)
    for batch in (1, 16):
        row = cpu[f"batch_{batch}_images_per_s"]
        line = ", ".join(f"{k} {v:.2f}" for k, v in row.items())
        print(f"CPU batch {batch} ({cpu['threads']} threads), images/s: {line}")
    ceiling = cpu["fp32_batch_1_ceiling"]
    print(
        f"CPU fp32 batch 1: convolutions take {100 * ceiling['conv_share_of_eager_time']:.0f}% "
        f"of eager time ({ceiling['conv_gflops_per_s']:.0f} GFLOP/s; a 2048^3 fp32 matrix "
        f"product runs {ceiling['fp32_matmul_gflops_per_s']:.0f}): with every other operator free, "
        f"float32 would reach about {ceiling['max_speedup_without_faster_convolutions']:.2f}x"
    )
    if torch.cuda.is_available():
        report["cuda_inference"] = bench_cuda(model, args.compile_batch)
    report["load_average_at_end"] = os.getloadavg()
    report["seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()

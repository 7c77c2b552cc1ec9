"""A GPU worker's own throughput: images/s through the worker's Engine, cold and after its warm-up.

Run from the repository root: ``python benchmarks/worker_bench.py [--faces 64] [--stacks 4]
[--precision fp32] [--compile]``. Builds a synthetic benchmark (random images and boxes, held in
memory so disk reads do not count), then times in the same run:

- cold: a fresh Engine's first checkpoint run, as a worker without warm-up would pay it;
- warm: the same run after ``Engine.warm_up`` (and, with ``--compile``, torch.compile at start),
  with the weights of a second checkpoint, as every run after the first pays it.

Prints faces/s and the warm/cold ratio; on CUDA also the share of the arithmetic limit of
AWING.md (an H200 above 10,000 images/s in bf16; 53.4 GFLOPs per image). Writes
``benchmarks/results/worker.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import torch

from evaluator.benchmarks import Benchmark
from evaluator.engine import Engine
from evaluator.models.awing import FAN

RESULTS = ROOT / "benchmarks" / "results" / "worker.json"
H200_BF16_LIMIT_IMAGES_PER_S = 10_000  # AWING.md


def synthetic_benchmark(faces: int, num_landmarks: int = 98, seed: int = 0) -> Benchmark:
    rng = np.random.default_rng(seed)
    images = tuple(rng.integers(0, 256, (320, 320, 3), dtype=np.uint8) for _ in range(faces))
    corners = rng.uniform(40, 80, (faces, 2))
    return Benchmark(
        format="wflw", num_landmarks=num_landmarks, face_ids=tuple(str(i) for i in range(faces)),
        image_paths=(None,) * faces, boxes=np.concatenate([corners, corners + 180], axis=1),
        landmarks=np.zeros((faces, num_landmarks, 2)), images=images,
    )


def checkpoint(stacks: int, seed: int) -> FAN:
    torch.manual_seed(seed)
    return FAN(stacks, 98).eval()


def timed(engine: Engine, model: FAN, benchmark: Benchmark, precision: str) -> float:
    start = time.perf_counter()
    engine.predict(model, benchmark, precision=precision)
    if engine.device.type == "cuda":
        torch.cuda.synchronize(engine.device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=64)
    parser.add_argument("--stacks", type=int, default=4)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    parser.add_argument("--compile", action="store_true", help="torch.compile at start, as WORKER_COMPILE=1")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    benchmark = synthetic_benchmark(args.faces)
    cold_engine = Engine(batch_size=args.batch_size)
    cold = timed(cold_engine, checkpoint(args.stacks, 1), benchmark, args.precision)

    engine = Engine(cold_engine.device, compile=args.compile, batch_size=args.batch_size,
                    cache_dir=ROOT / "var" / "worker-bench-cache")
    warm_up = engine.warm_up([(98, args.stacks)])
    warm = min(timed(engine, checkpoint(args.stacks, seed), benchmark, args.precision) for seed in (2, 3))
    report = {
        "device": str(engine.device) if engine.device.type != "cuda" else torch.cuda.get_device_name(engine.device),
        "platform": platform.platform(), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "faces": args.faces, "stacks": args.stacks, "precision": engine.effective_precision(args.precision),
        "compile": args.compile, "batch_size": engine.batch_size, "warm_up_seconds": round(warm_up, 3),
        "cold_faces_per_s": round(args.faces / cold, 3), "warm_faces_per_s": round(args.faces / warm, 3),
        "warm_over_cold": round(cold / warm, 3),
    }
    if engine.device.type == "cuda":
        report["share_of_h200_bf16_limit"] = round(args.faces / warm / H200_BF16_LIMIT_IMAGES_PER_S, 4)
    for key, value in report.items():
        print(f"{key:>28}: {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

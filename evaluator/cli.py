"""Command line: ``python -m evaluator score ...`` and ``python -m evaluator infer ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluator import __version__
from evaluator.benchmarks import FORMATS, BenchmarkError, read_benchmark
from evaluator.metrics import NORMALISERS
from evaluator.predictions import PredictionError, parse_predictions
from evaluator.scoring import score
from evaluator.weights import CheckpointError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evaluator", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    scoring = commands.add_parser(
        "score", help="score a prediction file (.json or .csv)"
    )
    _add_common(scoring)
    scoring.add_argument("--predictions", required=True, type=Path)
    scoring.add_argument(
        "--plot", type=Path, help="write the CED curve to a .svg or .png file"
    )

    infer = commands.add_parser(
        "infer", help="run a FAN checkpoint on the benchmark and score it"
    )
    _add_common(infer)
    infer.add_argument("--checkpoint", required=True, type=Path)
    infer.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1 ... (default: cuda if present)",
    )
    infer.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "tf32", "bf16", "fp16"),
        help="fp32 (IEEE), tf32 (CUDA), bf16, fp16 (CUDA); default fp32",
    )
    infer.add_argument("--batch-size", type=int, default=16)
    infer.add_argument(
        "--architecture",
        metavar="STACKS,DEPTH,WIDTH",
        help="the FAN the checkpoint must be (default: the published one, 1 to 4 stacks, "
        "depth 4, width 64); checked before anything is built",
    )
    infer.add_argument(
        "--plot", type=Path, help="write the CED curve to a .svg or .png file"
    )
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=sorted(FORMATS))
    parser.add_argument("--ground-truth", required=True, type=Path)
    parser.add_argument("--normaliser", choices=NORMALISERS, default=None)
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument(
        "--json", action="store_true", help="print the full result as JSON"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        benchmark = read_benchmark(args.format, args.ground_truth)
        if args.command == "score":
            data = args.predictions.read_bytes()
            pred = parse_predictions(data, args.predictions.name, benchmark)
        else:
            pred = _infer(args, benchmark)
        result = score(pred, benchmark, args.normaliser, args.threshold)
        if args.plot:
            from evaluator.plots import plot_ced

            title = f"CED {benchmark.format} ({result['normaliser']})"
            plot_ced(result["ced"]["x"], result["ced"]["y"], args.plot, title)
    except (
        BenchmarkError,
        PredictionError,
        CheckpointError,
        ValueError,
        OSError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else format_summary(result))
    return 0


def _infer(args: argparse.Namespace, benchmark):
    from evaluator.inference import predict
    from evaluator.weights import Architecture, load_checkpoint

    allowed = None
    if args.architecture:
        try:
            stacks, depth, width = (int(v) for v in args.architecture.split(","))
        except ValueError as error:
            raise ValueError(
                f"--architecture takes STACKS,DEPTH,WIDTH, like 4,4,64; got {args.architecture!r}"
            ) from error
        allowed = [Architecture(stacks, benchmark.num_landmarks, depth, width)]
    model = load_checkpoint(
        args.checkpoint, num_landmarks=benchmark.num_landmarks, architectures=allowed
    )

    def progress(done: int, total: int) -> None:
        print(
            f"\r{done}/{total} faces", end="" if done < total else "\n", file=sys.stderr
        )

    return predict(
        model,
        benchmark,
        batch_size=args.batch_size,
        device=args.device,
        precision=args.precision,
        progress=progress,
    )


def format_summary(result: dict) -> str:
    """A human-readable table: NME and FR in percent, AUC as a fraction."""
    t = f"{result['threshold']:g}"
    lines = [
        (
            f"{result['format']} ({result['num_landmarks']} points), {result['num_faces']} faces, "
            f"normaliser {result['normaliser']}"
        ),
        f"{'subset':<14}{'faces':>7}{'NME %':>9}{'FR@' + t + ' %':>12}{'AUC@' + t:>11}",
    ]
    rows = [("full", result["overall"]), *result["subsets"].items()]
    for name, row in rows:
        if row["num_faces"] == 0:
            continue
        lines.append(
            f"{name:<14}{row['num_faces']:>7}{100 * row['nme']:>9.2f}"
            f"{100 * row['fr@' + t]:>12.2f}{row['auc@' + t]:>11.4f}"
        )
    return "\n".join(lines)

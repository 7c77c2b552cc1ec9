"""Command line: ``python -m evaluator score|infer|validate ...``.

``validate`` needs no ground truth: it checks a prediction file against a benchmark's
public faces file with the server's parser, and exits 0 (the server will accept the
file), 1 (it would refuse it; the problems are listed) or 2 (the check could not run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluator import __version__
from evaluator.benchmarks import FORMATS, BenchmarkError, read_benchmark
from evaluator.faces import FacesError, PublicFaces, load_faces
from evaluator.metrics import NORMALISERS
from evaluator.predictions import PredictionError, parse_predictions
from evaluator.scoring import score


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

    validate = commands.add_parser(
        "validate",
        help="check a prediction file before submitting it (no ground truth needed)",
        description="Check face ids, counts and coordinates of a prediction file with the "
        "parser the server uses. Exit status: 0 valid, 1 invalid, 2 could not check.",
    )
    validate.add_argument(
        "--faces",
        required=True,
        metavar="PATH_OR_URL",
        help="the benchmark's faces file, a path or a URL such as "
        "http://127.0.0.1:8000/benchmarks/wflw-demo/faces.json",
    )
    validate.add_argument("predictions", type=Path, metavar="FILE", help="predictions (.json or .csv)")
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
    if args.command == "validate":
        return validate(args.faces, args.predictions)
    # PyTorch takes seconds to import: `validate` does without it.
    from evaluator.weights import CheckpointError

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


def validate(faces_location: str, predictions: Path) -> int:
    """Check ``predictions`` against the faces at ``faces_location``; print why; 0, 1 or 2."""
    try:
        faces = load_faces(faces_location)
        data = predictions.read_bytes()
    except (FacesError, OSError) as error:
        print(f"error: {_reason(error)}", file=sys.stderr)
        return 2
    try:
        parse_predictions(data, predictions.name, faces)
    except PredictionError as error:
        print(f"{predictions}: not accepted for {_named(faces)}.\n{error}", file=sys.stderr)
        print(_fix_hint(faces), file=sys.stderr)
        return 1
    print(
        f"{predictions}: OK, {len(faces):,} faces of {_named(faces)} with "
        f"{faces.num_landmarks} landmarks each; the server's parser accepts it."
    )
    return 0


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"cannot read {error.filename}: {error.strerror}"
    return str(error)


def _named(faces: PublicFaces) -> str:
    return f"benchmark {faces.benchmark}" if faces.benchmark else f"the {faces.format} benchmark"


def _fix_hint(faces: PublicFaces) -> str:
    example = faces.face_ids[0] if faces.face_ids else "<face id>"
    return (
        f"Each of the {len(faces):,} face ids of the faces file needs exactly one prediction of "
        f"{faces.num_landmarks} [x, y] pairs in 0-based pixels of the original image, e.g. "
        f'{{"{example}": [[x0, y0], ...]}} or a CSV row {example},x0,y0,...; '
        "the benchmark's sample predictions file shows the format."
    )


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

"""Prediction files: parse, validate and order them like a benchmark.

Formats (0-based pixel coordinates of the original image):

- JSON: ``{"<face id>": [[x, y], ...], ...}`` with one pair per landmark;
- CSV: one row per face ``face_id,x0,y0,x1,y1,...``; a first row starting with
  ``face_id`` is a header.

Every face of the benchmark must be predicted exactly once, in every format (a face
id given twice is refused, never "last wins"). Problems are reported with the face id
(JSON) or line number (CSV), up to :data:`MAX_REPORTED` at a time.

Files are read by bounded parsers: JSON may nest at most :data:`MAX_JSON_DEPTH`
levels, a number may be at most :data:`MAX_NUMBER_CHARS` characters long and a CSV
field at most :data:`MAX_CSV_FIELD_CHARS`; each limit is a :class:`PredictionError`
saying where. A well-formed JSON file is read by orjson and numpy in one pass; any
other goes through the checked parser, which finds and names every problem. Both
accept exactly the same files, and neither raises anything but PredictionError.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from typing import Protocol

import numpy as np
import orjson

FORMATS = ("json", "csv")
MAX_REPORTED = 10
# A prediction file nests three levels deep ({id: [[x, y], ...]}) and its numbers and
# fields are short; these bounds only stop files built to exhaust the parser.
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 100
MAX_CSV_FIELD_CHARS = 1000
# A coordinate this many face sizes away from the face is not a prediction but a bug
# (wrong frame, swapped axes, normalised units); it would dominate the mean NME.
ABSURD_FACE_SIZES = 10.0


class PredictionError(ValueError):
    """A prediction file that cannot be scored; the message says where and why."""


class Faces(Protocol):
    """What parsing needs of a benchmark: no ground truth, so the public faces do too.

    Both :class:`evaluator.benchmarks.Benchmark` (the server) and
    :class:`evaluator.faces.PublicFaces` (``python -m evaluator validate``) are ``Faces``.
    """

    format: str
    num_landmarks: int
    face_ids: tuple[str, ...]
    boxes: np.ndarray  # (N, 4) x_min, y_min, x_max, y_max


def parse_predictions(
    data: bytes, filename_or_format: str, benchmark: Faces, *, fast: bool = True
) -> np.ndarray:
    """Predictions (N, L, 2) float64 ordered like ``benchmark.face_ids``.

    ``fast=False`` skips the one-pass reader and always uses the checked parser
    (same result, slower); it exists to test that the two agree.
    """
    kind = _format_of(filename_or_format)
    if not data or not data.strip():
        raise PredictionError("The prediction file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PredictionError(
            f"The prediction file is not UTF-8 text ({error})"
        ) from error
    if kind == "json":
        pred = _fast_json(text, benchmark) if fast else None
        return pred if pred is not None else _assemble(_read_json(text), benchmark)
    entries = _read_csv(text)
    pred = _assemble_valid(entries, benchmark) if fast else None
    return pred if pred is not None else _assemble(entries, benchmark)


def predictions_to_json(pred: np.ndarray, benchmark: Faces, decimals: int | None = None) -> str:
    """The JSON prediction format for ``pred`` (N, L, 2) ordered like ``benchmark``,
    rounded to ``decimals`` places if given."""
    pred = np.asarray(pred) if decimals is None else np.round(pred, decimals)
    return json.dumps({fid: p.tolist() for fid, p in zip(benchmark.face_ids, pred)})


def _format_of(filename_or_format: str) -> str:
    name = filename_or_format.lower()
    kind = name.rsplit(".", 1)[-1]
    if kind not in FORMATS:
        raise PredictionError(
            f"Unknown prediction format for {filename_or_format!r}: use a .json or .csv file"
        )
    return kind


# Each entry: (where, face id, values or None, problem or None)
Entry = tuple[str, str, object]


# Where a number (a run of number characters) starts; the look-behind keeps the scan linear.
_LONG_NUMBER = re.compile(r"(?<![0-9.eE+-])[0-9.eE+-]{" + str(MAX_NUMBER_CHARS + 1) + "}")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STRING_OR_LONG_NUMBER = re.compile(
    r'"(?:[^"\\]|\\.)*"|(?<![0-9.eE+-])[-0-9][0-9.eE+-]{' + str(MAX_NUMBER_CHARS) + ",}"
)


def _fast_json(text: str, benchmark: Faces) -> np.ndarray | None:
    """The predictions of a well-formed file with orjson and numpy, or None.

    Only files whose strings are exactly their distinct keys (so no key is given
    twice), without escapes, booleans or long numbers, are read here.
    """
    if "\\" in text or "true" in text or "false" in text or _may_hold_long_numbers(text):
        return None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or text.count('"') != 2 * len(document):
        return None
    return _assemble_valid(_json_entries(document.items()), benchmark)


class _JsonObject(dict):
    """A JSON object as the checked parser reads it: its members in order, repeats kept."""

    def __init__(self, pairs: list[tuple[str, object]]):
        super().__init__(pairs)
        self.pairs = pairs


def _read_json(text: str) -> list[Entry]:
    _check_json_bounds(text)
    try:
        # The standard parser also reads NaN and Infinity, which get a clearer message later.
        document = json.loads(text, object_pairs_hook=_JsonObject)
    except json.JSONDecodeError as error:
        raise PredictionError(
            f"Invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    except (ValueError, RecursionError) as error:  # bounded above; kept as a last guard
        raise PredictionError(f"Invalid JSON: {error}") from error
    if not isinstance(document, _JsonObject):
        kind = "list" if isinstance(document, list) else type(document).__name__
        raise PredictionError(
            'Expected a JSON object mapping face ids to landmark lists, like {"<face id>": [[x, y], ...]}, '
            f"got a JSON {kind}"
        )
    return _json_entries(document.pairs)


def _json_entries(pairs: Iterable[tuple[str, object]]) -> list[Entry]:
    pairs = list(pairs)
    counts: dict[str, int] = {}
    for face_id, _ in pairs:
        counts[face_id] = counts.get(face_id, 0) + 1
    return [
        (
            f"face {face_id!r}" if counts[face_id] == 1 else f"entry {n} (face {face_id!r})",
            str(face_id),
            points,
        )
        for n, (face_id, points) in enumerate(pairs, start=1)
    ]


def _may_hold_long_numbers(text: str) -> bool:
    # Numbers hold no comma: without a long stretch between commas there is no long number.
    longest = max(map(len, text.split(",")))
    return longest > MAX_NUMBER_CHARS and _LONG_NUMBER.search(text) is not None


def _depth(text: str) -> int:
    """How deep the brackets outside strings nest (numpy over the brackets alone)."""
    brackets = _STRING.sub("", text).encode().translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    return int(np.cumsum(np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)).max())


def _check_json_bounds(text: str) -> None:
    """Refuse deep nesting and long numbers before the standard parser sees them."""
    if _may_hold_long_numbers(text):
        for match in _STRING_OR_LONG_NUMBER.finditer(text):
            if match.group()[0] != '"':
                raise PredictionError(
                    f"Invalid JSON at {_position(text, match.start())}: a number of "
                    f"{len(match.group())} characters (at most {MAX_NUMBER_CHARS} are allowed)"
                )
    if _depth(text) <= MAX_JSON_DEPTH:
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise PredictionError(
                    f"Invalid JSON at {_position(text, match.start())}: nested more than "
                    f"{MAX_JSON_DEPTH} levels deep (a prediction file needs 3)"
                )
        elif token in "]}":
            depth -= 1


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


class _CsvCells(list):
    """The coordinate cells of one CSV row, flat: x0, y0, x1, y1, ..."""


def _read_csv(text: str) -> list[Entry]:
    entries = []
    reader = csv.reader(io.StringIO(text))
    number = 0
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise PredictionError(_csv_problem(number, str(error))) from error
        long = next((k for k, cell in enumerate(row) if len(cell) > MAX_CSV_FIELD_CHARS), None)
        if long is not None:
            raise PredictionError(
                f"Invalid CSV at line {number}, field {long + 1}: {len(row[long])} characters "
                f"(at most {MAX_CSV_FIELD_CHARS} are allowed)"
            )
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1 and row[0].strip().lower() == "face_id":
            continue
        face_id = row[0].strip()
        entries.append((f"line {number} (face {face_id!r})", face_id, _CsvCells(row[1:])))
    return entries


def _csv_problem(line: int, detail: str) -> str:
    if "field larger than field limit" in detail:
        return (
            f"Invalid CSV at line {line}: a field longer than {MAX_CSV_FIELD_CHARS} characters "
            f"(at most {MAX_CSV_FIELD_CHARS} are allowed)"
        )
    return f"Invalid CSV at line {line}: {detail}"


def _csv_points(cells: _CsvCells) -> object:
    cells = [cell.strip() for cell in cells]
    if len(cells) % 2:
        return f"{len(cells)} coordinate values, which is not a whole number of (x, y) pairs"
    return [cells[k : k + 2] for k in range(0, len(cells), 2)]


def _assemble_valid(entries: list[Entry], benchmark: Faces) -> np.ndarray | None:
    """The predictions in one vectorised pass, or None if anything is off.

    A well-formed file, the common case, is read with numpy alone; any file
    this pass does not accept goes through :func:`_assemble`, which finds and
    names every problem. Both accept exactly the same files.
    """
    index = {face_id: i for i, face_id in enumerate(benchmark.face_ids)}
    order = [index.get(face_id, -1) for _, face_id, _ in entries]
    if len(order) != len(index) or min(order, default=-1) < 0 or len(set(order)) != len(order):
        return None
    try:
        values = np.array([points for _, _, points in entries], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    shape = (len(order), benchmark.num_landmarks, 2)
    if values.ndim == 2 and values.shape[1] == 2 * benchmark.num_landmarks:
        values = values.reshape(shape)  # CSV rows hold the pairs flat
    if values.shape != shape:
        return None
    if not np.isfinite(values).all():
        return None
    pred = np.empty_like(values)
    pred[order] = values
    boxes = np.asarray(benchmark.boxes, dtype=np.float64)
    size = np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    distance = np.abs(pred - centre[:, None, :]).max(axis=2)
    if (distance > ABSURD_FACE_SIZES * size[:, None]).any():
        return None
    return pred


def _assemble(entries: list[Entry], benchmark: Faces) -> np.ndarray:
    index = {face_id: i for i, face_id in enumerate(benchmark.face_ids)}
    pred = np.full((len(benchmark.face_ids), benchmark.num_landmarks, 2), np.nan)
    seen: dict[str, str] = {}
    problems: list[str] = []
    for where, face_id, points in entries:
        if face_id not in index:
            problems.append(
                f"{where}: unknown face id (not in the {benchmark.format} benchmark)"
            )
            continue
        if face_id in seen:
            problems.append(
                f"{where}: duplicate prediction, already given at {seen[face_id]}"
            )
            continue
        seen[face_id] = where
        values, problem = _points(points, benchmark.num_landmarks)
        if problem is None:
            problem = _implausible(values, benchmark, index[face_id])
        if problem is not None:
            problems.append(f"{where}: {problem}")
            continue
        pred[index[face_id]] = values
    missing = [fid for fid in benchmark.face_ids if fid not in seen]
    if missing:
        problems.append(
            f"{len(missing)} face(s) have no prediction, e.g. {', '.join(repr(m) for m in missing[:3])}"
        )
    if problems:
        raise PredictionError(_summary(problems))
    return pred


def _points(points: object, num_landmarks: int) -> tuple[np.ndarray | None, str | None]:
    if isinstance(points, _CsvCells):
        points = _csv_points(points)
    if isinstance(points, str):
        return None, points
    if not isinstance(points, list) or not all(
        isinstance(p, list | tuple) for p in points
    ):
        return None, f"expected a list of {num_landmarks} [x, y] pairs"
    if len(points) != num_landmarks:
        return None, f"expected {num_landmarks} landmarks, got {len(points)}"
    bad_pair = next((k for k, p in enumerate(points) if len(p) != 2), None)
    if bad_pair is not None:
        return None, f"landmark {bad_pair} is not an [x, y] pair"
    values = np.empty((num_landmarks, 2))
    for k, pair in enumerate(points):
        for axis, value in enumerate(pair):
            number = _number(value)
            if number is None:
                return None, f"landmark {k} has a non-numeric coordinate {value!r}"
            if not math.isfinite(number):
                return None, f"landmark {k} has a NaN or infinite coordinate"
            values[k, axis] = number
    return values, None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _implausible(values: np.ndarray, benchmark: Faces, i: int) -> str | None:
    box = benchmark.boxes[i]
    size = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    centre = (box[:2] + box[2:]) / 2
    distance = np.abs(values - centre).max(axis=1)
    far = np.flatnonzero(distance > ABSURD_FACE_SIZES * size)
    if far.size:
        k = int(far[0])
        return (
            f"landmark {k} at ({values[k, 0]:g}, {values[k, 1]:g}) is far outside the image "
            f"(face centre ({centre[0]:.0f}, {centre[1]:.0f}), size {size:.0f} px); "
            "coordinates must be 0-based pixels of the original image"
        )
    return None


def _summary(problems: Iterable[str]) -> str:
    problems = list(problems)
    shown = "\n".join(f"- {p}" for p in problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    suffix = f"\n- ... and {more} more problem(s)" if more > 0 else ""
    header = f"The prediction file has {len(problems)} problem(s):\n"
    return header + shown + suffix

import json

import numpy as np
import pytest

from evaluator.benchmarks import read_benchmark
from evaluator.predictions import (
    PredictionError,
    parse_predictions,
    predictions_to_json,
)


@pytest.fixture
def benchmark(wflw_dir):
    return read_benchmark("wflw", wflw_dir)


def as_json(mapping: dict) -> bytes:
    return json.dumps(mapping).encode()


def truth(benchmark) -> dict:
    return {fid: p.tolist() for fid, p in zip(benchmark.face_ids, benchmark.landmarks)}


def test_it_orders_json_predictions_like_the_benchmark(benchmark):
    mapping = dict(reversed(list(truth(benchmark).items())))
    pred = parse_predictions(as_json(mapping), "preds.json", benchmark)
    np.testing.assert_array_equal(pred, benchmark.landmarks)
    round_trip = predictions_to_json(pred, benchmark).encode()
    np.testing.assert_array_equal(
        parse_predictions(round_trip, "json", benchmark), pred
    )


def test_it_reads_csv_with_or_without_a_header(benchmark):
    rows = [(fid, p) for fid, p in zip(benchmark.face_ids, benchmark.landmarks)]
    body = "\n".join(
        ",".join([fid, *(repr(float(v)) for v in p.ravel())]) for fid, p in rows[::-1]
    )
    header = "face_id," + ",".join(f"x{k},y{k}" for k in range(98))
    for text in (body, header + "\n" + body + "\n"):
        pred = parse_predictions(text.encode(), "p.CSV", benchmark)
        np.testing.assert_array_equal(pred, benchmark.landmarks)


def error_of(data: bytes, name: str, benchmark) -> str:
    with pytest.raises(PredictionError) as caught:
        parse_predictions(data, name, benchmark)
    return str(caught.value)


def test_it_names_unknown_missing_and_wrong_sized_faces(benchmark):
    mapping = truth(benchmark)
    first, second, third, _ = benchmark.face_ids
    mapping["nope.jpg#9"] = mapping.pop(first)
    mapping[second] = mapping[second][:68]
    mapping[third][5] = [1.0, "abc"]
    message = error_of(as_json(mapping), "p.json", benchmark)
    assert "face 'nope.jpg#9': unknown face id" in message
    assert f"face {second!r}: expected 98 landmarks, got 68" in message
    assert f"face {third!r}: landmark 5 has a non-numeric coordinate 'abc'" in message
    assert f"1 face(s) have no prediction, e.g. {first!r}" in message


def test_it_refuses_nan_inf_and_absurd_coordinates(benchmark):
    for bad, expected in (
        (float("nan"), "NaN or infinite"),
        (1e9, "far outside the image"),
    ):
        mapping = truth(benchmark)
        mapping[benchmark.face_ids[1]][7] = [bad, 0.0]
        text = json.dumps(mapping, allow_nan=True).encode()
        assert expected in error_of(text, "p.json", benchmark)


def test_it_names_the_csv_line_of_a_duplicate(benchmark):
    rows = [
        ",".join([fid, *map(str, p.ravel())])
        for fid, p in zip(benchmark.face_ids, benchmark.landmarks)
    ]
    text = "\n".join([*rows, rows[2]]).encode()
    message = error_of(text, "p.csv", benchmark)
    assert (
        f"line 5 (face {benchmark.face_ids[2]!r}): duplicate prediction, already given at line 3"
        in message
    )


def test_it_explains_empty_invalid_and_unknown_files(benchmark):
    assert "empty" in error_of(b"  \n", "p.json", benchmark)
    assert "Invalid JSON at line 1" in error_of(b"{oops", "p.json", benchmark)
    assert "got a JSON list" in error_of(b"[1, 2]", "p.json", benchmark)
    assert "use a .json or .csv file" in error_of(b"x", "p.txt", benchmark)
    odd = f"{benchmark.face_ids[0]},1,2,3".encode()
    assert (
        "3 coordinate values, which is not a whole number of (x, y) pairs"
        in error_of(odd, "p.csv", benchmark)
    )


def test_it_caps_the_number_of_listed_problems(benchmark):
    mapping = {f"x{i}": [] for i in range(30)}
    message = error_of(as_json(mapping), "p.json", benchmark)
    assert "and 21 more problem(s)" in message


def test_it_refuses_json_booleans_which_numpy_would_read_as_numbers(benchmark):
    mapping = truth(benchmark)
    mapping[benchmark.face_ids[2]][3] = [True, 1.0]
    message = error_of(as_json(mapping), "p.json", benchmark)
    assert "landmark 3 has a non-numeric coordinate True" in message


def test_it_reads_padded_csv_cells_and_numeric_strings_alike(benchmark):
    rows = [
        ",".join([fid, *(f" {v!r} " for v in p.ravel().tolist())])
        for fid, p in zip(benchmark.face_ids, benchmark.landmarks)
    ]
    pred = parse_predictions("\n".join(rows).encode(), "p.csv", benchmark)
    np.testing.assert_array_equal(pred, benchmark.landmarks)
    as_strings = {fid: [[str(x), str(y)] for x, y in p] for fid, p in truth(benchmark).items()}
    pred = parse_predictions(as_json(as_strings), "p.json", benchmark)
    np.testing.assert_array_equal(pred, benchmark.landmarks)


# --- hostile files: every one is a PredictionError saying what and where --------------


def test_it_refuses_json_nested_too_deeply_with_where(benchmark):
    message = error_of(b"[" * 5000 + b"]" * 5000, "p.json", benchmark)
    assert "Invalid JSON at line 1, column 33: nested more than 32 levels deep" in message
    deep = b'{\n"a": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert "Invalid JSON at line 2, column 37: nested more than 32 levels deep" in error_of(deep, "p.json", benchmark)


def test_it_refuses_a_number_too_long_with_where(benchmark):
    mapping = truth(benchmark)
    text = json.dumps(mapping).replace(repr(mapping[benchmark.face_ids[1]][0][0]), "1" * 5000, 1)
    message = error_of(text.encode(), "p.json", benchmark)
    assert "Invalid JSON at line 1, column " in message
    assert "a number of 5000 characters (at most 100 are allowed)" in message


def test_it_refuses_a_csv_field_too_long_with_where(benchmark):
    rows = [",".join([fid, *map(str, p.ravel())]) for fid, p in zip(benchmark.face_ids, benchmark.landmarks)]
    for size, expected in (
        (200_000, "Invalid CSV at line 3: a field longer than 1000 characters"),
        (5000, "Invalid CSV at line 3, field 2: 5007 characters (at most 1000 are allowed)"),
    ):
        bad = rows[:2] + [rows[2].replace(",", "," + "1" * size, 1)] + rows[3:]
        assert expected in error_of("\n".join(bad).encode(), "p.csv", benchmark)


def test_it_refuses_a_json_face_id_given_twice(benchmark):
    fid = benchmark.face_ids[1]
    members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in truth(benchmark).items()]
    text = "{" + ", ".join([*members, members[1]]) + "}"
    for fast in (True, False):
        with pytest.raises(PredictionError) as caught:
            parse_predictions(text.encode(), "p.json", benchmark, fast=fast)
        assert (
            f"entry 5 (face {fid!r}): duplicate prediction, already given at entry 2 (face {fid!r})"
            in str(caught.value)
        )

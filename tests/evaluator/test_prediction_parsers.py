"""Property tests: the fast reader (orjson and numpy) and the checked parser agree.

For any file, `parse_predictions(..., fast=True)` and `fast=False` both return the
same array or both raise PredictionError, and nothing else is ever raised.
Files are a valid prediction file of the sample benchmark with hostile edits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.benchmarks import read_benchmark
from evaluator.predictions import PredictionError, parse_predictions

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def benchmark(wflw_dir):
    return read_benchmark("wflw", wflw_dir)


def outcome(data: bytes, name: str, benchmark, fast: bool):
    try:
        return parse_predictions(data, name, benchmark, fast=fast)
    except PredictionError as error:
        return PredictionError, str(error)


def assert_same(data: bytes, name: str, benchmark) -> None:
    fast, checked = (outcome(data, name, benchmark, f) for f in (True, False))
    if isinstance(checked, np.ndarray):
        assert isinstance(fast, np.ndarray), fast
        np.testing.assert_array_equal(fast, checked)
    else:
        assert not isinstance(fast, np.ndarray), checked
        assert fast == checked


numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**120), max_value=10**120).map(str),
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-0", "0.0", "1E2", "true", "false", "null",
                     '"12.5"', '" 3 "', '"abc"', "[]", "{}", '{"1": 2}', "[1, 2]", "1" * 150, "-" + "9" * 100]),
)
keys = st.one_of(
    st.sampled_from(["nope.jpg#9", "", "a\\u0062", 'x\\"y', "\\ud800", "true"]),
    st.text(max_size=8).map(lambda t: json.dumps(t)[1:-1]),
)


@st.composite
def json_files(draw, ids: tuple[str, ...], truth: np.ndarray) -> str:
    members = [[json.dumps(fid), [[repr(float(x)), repr(float(y))] for x, y in p]] for fid, p in zip(ids, truth)]
    for _ in range(draw(st.integers(0, 4))):
        edit = draw(st.sampled_from(["value", "drop", "repeat", "key", "escape", "shape", "extra"]))
        face = draw(st.integers(0, len(members) - 1)) if members else None
        if face is None:
            break
        if edit == "value":
            point = draw(st.integers(0, len(members[face][1]) - 1)) if members[face][1] else None
            if point is not None:
                members[face][1][point][draw(st.integers(0, 1))] = draw(numbers)
        elif edit == "drop":
            members.pop(face)
        elif edit == "repeat":
            members.insert(draw(st.integers(0, len(members))), [members[face][0], [list(p) for p in members[face][1]]])
        elif edit == "key":
            members[face][0] = '"' + draw(keys) + '"'
        elif edit == "escape":  # the same id, spelt with an escape
            members[face][0] = members[face][0].replace("/", "\\u002f")
        elif edit == "shape":
            members[face][1] = members[face][1][: draw(st.integers(0, 97))]
        else:
            members.append([json.dumps(ids[face % len(ids)]), [["1.0", "2.0"]]])
    space = draw(st.sampled_from(["", " ", "\n", "\t "]))
    body = f",{space}".join(
        f"{key}:{space}[" + ",".join(f"[{x},{space}{y}]" for x, y in points) + "]" for key, points in members
    )
    text = "{" + space + body + space + "}"
    wrap = draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 40]))
    return "[" * wrap + text + "]" * wrap


@PROPERTY
@given(data=st.data())
def test_the_fast_and_checked_json_parsers_accept_the_same_files(benchmark, data):
    text = data.draw(json_files(benchmark.face_ids, benchmark.landmarks))
    assert_same(text.encode(), "p.json", benchmark)


@PROPERTY
@given(data=st.data())
def test_the_fast_and_checked_csv_parsers_accept_the_same_files(benchmark, data):
    rows = [[fid, *(repr(float(v)) for v in p.ravel())] for fid, p in zip(benchmark.face_ids, benchmark.landmarks)]
    for _ in range(data.draw(st.integers(0, 3))):
        row = data.draw(st.integers(0, len(rows) - 1))
        edit = data.draw(st.sampled_from(["cell", "repeat", "drop", "quote"]))
        if edit == "cell":
            cell = data.draw(st.integers(0, len(rows[row]) - 1))
            rows[row][cell] = data.draw(st.one_of(numbers, st.text(max_size=6), st.just("1" * 2000)))
        elif edit == "repeat":
            rows.append(list(rows[row]))
        elif edit == "drop":
            rows.pop(row)
        else:
            rows[row][0] = '"' + rows[row][0] + '"'
        if not rows:
            break
    text = "\n".join(",".join(r) for r in rows)
    assert_same(text.encode(), "p.csv", benchmark)


@PROPERTY
@given(raw=st.binary(max_size=300), name=st.sampled_from(["p.json", "p.csv"]))
def test_arbitrary_bytes_only_ever_raise_prediction_error(benchmark, raw, name):
    assert_same(raw, name, benchmark)


def test_a_valid_file_takes_the_fast_path(benchmark, monkeypatch):
    from evaluator import predictions

    text = json.dumps({fid: p.tolist() for fid, p in zip(benchmark.face_ids, benchmark.landmarks)}).encode()
    monkeypatch.setattr(predictions, "_assemble", lambda *a: pytest.fail("the checked parser was used"))
    np.testing.assert_array_equal(parse_predictions(text, "p.json", benchmark), benchmark.landmarks)

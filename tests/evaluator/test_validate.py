"""`python -m evaluator validate`: a prediction file checked against a benchmark's public
faces (a file or a URL) with the server's parser, and the mean-shape baseline."""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmarks import read_wflw
from evaluator.faces import (
    FacesError,
    faces_document,
    mean_shape,
    mean_shape_baseline,
    parse_faces,
    place_shape,
)
from evaluator.plots import landmark_order_svg
from evaluator.predictions import parse_predictions, predictions_to_json
from tests.imports import loaded_from, modules_loaded_by

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def benchmark(wflw_dir):
    return read_wflw(wflw_dir)


@pytest.fixture
def faces_file(benchmark, tmp_path) -> Path:
    rows = [(fid, f"WFLW_images/{fid.split('#')[0]}", box) for fid, box in zip(benchmark.face_ids, benchmark.boxes)]
    path = tmp_path / "site" / "faces.json"
    path.parent.mkdir()
    path.write_text(json.dumps(faces_document("wflw-sample", "wflw", 98, rows)))
    return path


def validate(faces: str | Path, predictions: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "evaluator", "validate", "--faces", str(faces), str(predictions)]
    return subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def as_json(benchmark, pred: np.ndarray) -> dict:
    return json.loads(predictions_to_json(pred, benchmark))


def test_a_good_file_passes(benchmark, faces_file, tmp_path):
    result = validate(faces_file, write(tmp_path, "pred.json", predictions_to_json(benchmark.landmarks + 1, benchmark)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{tmp_path / 'pred.json'}: OK, 4 faces of benchmark wflw-sample with 98 landmarks each; "
        "the server's parser accepts it."
    )


def _broken_files(benchmark) -> dict[str, tuple[str, str, list[str]]]:
    good = benchmark.landmarks + 1
    ids = list(benchmark.face_ids)
    renamed = as_json(benchmark, good)
    renamed["sample/typo.jpg#0"] = renamed.pop(ids[0])
    short = as_json(benchmark, good)
    short[ids[2]] = short[ids[2]][:68]
    nan = good.copy()
    nan[1, 5, 0] = np.nan
    csv_rows = [",".join([fid, *(f"{v:g}" for v in p.ravel())]) for fid, p in zip(ids, good)]
    csv_rows[2] = csv_rows[2].rsplit(",", 1)[0]  # an odd number of coordinates
    return {
        "unknown and missing ids": (
            "pred.json", json.dumps(renamed),
            ["face 'sample/typo.jpg#0': unknown face id", f"1 face(s) have no prediction, e.g. '{ids[0]}'"],
        ),
        "landmark count": ("pred.json", json.dumps(short), [f"face '{ids[2]}': expected 98 landmarks, got 68"]),
        "NaN": (
            "pred.json", predictions_to_json(nan, benchmark),
            [f"face '{ids[1]}': landmark 5 has a NaN or infinite coordinate"],
        ),
        "CSV line": (
            "pred.csv", "face_id,x0,y0\n" + "\n".join(csv_rows),
            ["line 4 (face", "195 coordinate values, which is not a whole number of (x, y) pairs"],
        ),
    }


@pytest.mark.parametrize("case", ["unknown and missing ids", "landmark count", "NaN", "CSV line"])
def test_a_bad_file_fails_with_where_and_how_to_fix_it(benchmark, faces_file, tmp_path, case):
    name, content, messages = _broken_files(benchmark)[case]
    result = validate(faces_file, write(tmp_path, name, content))
    assert result.returncode == 1 and result.stdout == ""
    assert f"{tmp_path / name}: not accepted for benchmark wflw-sample." in result.stderr
    for message in messages:
        assert message in result.stderr
    assert "needs exactly one prediction of 98 [x, y] pairs" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_agrees_with_the_parser_given_the_ground_truth(benchmark, faces_file, tmp_path):
    """The same files pass and fail with the public faces as with the benchmark itself."""
    for name, content, _ in _broken_files(benchmark).values():
        with pytest.raises(ValueError) as with_truth:
            parse_predictions(content.encode(), name, benchmark)
        with pytest.raises(ValueError) as public:
            parse_predictions(content.encode(), name, parse_faces(faces_file.read_bytes()))
        assert str(public.value) == str(with_truth.value)


def test_it_cannot_check_without_a_readable_faces_file(benchmark, faces_file, tmp_path):
    pred = write(tmp_path, "pred.json", predictions_to_json(benchmark.landmarks, benchmark))
    missing = validate(tmp_path / "nowhere.json", pred)
    assert missing.returncode == 2 and "Cannot read the faces file" in missing.stderr
    not_faces = validate(pred, pred)
    assert not_faces.returncode == 2 and 'is not a faces file: expected a JSON object with "num_landmarks"' in (
        not_faces.stderr
    )
    no_predictions = validate(faces_file, tmp_path / "absent.json")
    assert no_predictions.returncode == 2 and "cannot read" in no_predictions.stderr


@pytest.fixture
def served(faces_file):
    """The faces file's folder over HTTP on a free loopback port."""
    handler = functools.partial(QuietHandler, directory=str(faces_file.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_it_reads_the_faces_file_from_a_url(benchmark, served, tmp_path):
    pred = write(tmp_path, "pred.json", predictions_to_json(benchmark.landmarks, benchmark))
    result = validate(f"{served}/faces.json", pred)
    assert result.returncode == 0, result.stderr
    absent = validate(f"{served}/missing.json", pred)
    assert absent.returncode == 2 and "HTTP 404" in absent.stderr and "check the benchmark slug" in absent.stderr


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"num_landmarks": 98}, "is not a faces file"),
        ({"num_landmarks": "98", "faces": []}, '"num_landmarks" must be a positive integer'),
        ({"num_landmarks": 98, "faces": [{"box": [0, 0, 1, 1]}]}, 'face 0 has no "face_id" string'),
        ({"num_landmarks": 98, "faces": [{"face_id": "a", "box": [0, 0, 1]}]}, "needs a box of four finite numbers"),
        (
            {"num_landmarks": 98, "faces": [{"face_id": "a", "box": [0, 0, 1, 1]}] * 2},
            "face id 'a' is listed twice",
        ),
    ],
)
def test_a_broken_faces_file_says_what_is_wrong(document, message):
    with pytest.raises(FacesError, match=re.escape(message)):
        parse_faces(json.dumps(document).encode(), "faces.json")
    with pytest.raises(FacesError, match="not JSON"):
        parse_faces(b"{nope", "faces.json")


def test_the_mean_shape_lives_in_box_coordinates():
    shape = np.array([[0.25, 0.5], [0.75, 0.5], [0.5, 1.0]])
    boxes = np.array([[10, 20, 110, 220], [0, 0, 50, 50]], dtype=float)
    placed = place_shape(shape, boxes)
    np.testing.assert_allclose(placed[0], [[35, 120], [85, 120], [60, 220]])
    np.testing.assert_allclose(placed[1], [[12.5, 25], [37.5, 25], [25, 50]])
    np.testing.assert_allclose(mean_shape(placed, boxes), shape)


def test_the_baseline_is_a_valid_prediction_of_every_face(benchmark):
    baseline = mean_shape_baseline(benchmark)
    assert baseline.shape == benchmark.landmarks.shape
    parsed = parse_predictions(predictions_to_json(baseline, benchmark, decimals=2).encode(), "b.json", benchmark)
    np.testing.assert_allclose(parsed, baseline, atol=0.005)
    shape = mean_shape(benchmark.landmarks, benchmark.boxes)
    np.testing.assert_allclose(mean_shape(baseline, benchmark.boxes), shape)


def test_the_landmark_figure_numbers_each_point_once(benchmark):
    svg = landmark_order_svg(mean_shape(benchmark.landmarks, benchmark.boxes), "98 <points>")
    labels = re.findall(r'fill="#1d2330">(\d+)</text>', svg)
    assert sorted(map(int, labels)) == list(range(98)) and svg.count("<circle") == 98
    assert "<title>98 &lt;points&gt;</title>" in svg


def test_validating_needs_neither_pytorch_nor_django():
    modules = modules_loaded_by("import evaluator.cli, evaluator.faces")
    assert loaded_from(modules, ("torch", "django", "leaderboard")) == []

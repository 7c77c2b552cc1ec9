import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import evaluator
from evaluator.benchmarks import read_benchmark
from evaluator.cli import main
from evaluator.heatmaps import decode
from evaluator.inference import (
    FastOnCPU,
    crop_face,
    crop_transform,
    predict,
    prepare_model,
    to_original,
)
from evaluator.models.awing import FAN
from evaluator.predictions import predictions_to_json
from evaluator.scoring import score
from tests.imports import loaded_from, modules_loaded_by

from .conftest import golden_fill

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_library_never_imports_django():
    modules = modules_loaded_by(
        "import evaluator, evaluator.cli, evaluator.inference, evaluator.scoring, "
        "evaluator.benchmarks, evaluator.predictions, evaluator.weights, evaluator.losses"
    )
    assert "evaluator.inference" in modules
    assert loaded_from(modules, ("django", "rest_framework", "celery", "leaderboard", "workers")) == []


def test_score_returns_json_ready_overall_subset_and_ced_figures(wflw_dir):
    benchmark = read_benchmark("wflw", wflw_dir)
    pred = benchmark.landmarks + np.array([3.0, 4.0])  # 5 px off everywhere
    result = score(pred, benchmark)
    assert json.loads(json.dumps(result)) == result
    distances = np.linalg.norm(
        benchmark.landmarks[:, 60] - benchmark.landmarks[:, 72], axis=1
    )
    assert result["overall"]["nme"] == pytest.approx(np.mean(5 / distances))
    assert result["overall"]["num_faces"] == 4
    assert set(result["overall"]) == {"num_faces", "nme", "fr@0.1", "auc@0.1"}
    assert result["subsets"]["pose"]["num_faces"] == 2
    assert result["subsets"]["blur"] == {
        "num_faces": 0,
        "nme": None,
        "fr@0.1": None,
        "auc@0.1": None,
    }
    assert len(result["ced"]["x"]) == len(result["ced"]["y"]) == 1001
    assert result["metrics"]["auc"]["higher_is_better"] is True
    assert result["evaluator_version"] == evaluator.__version__
    assert list(result["per_face_nme"]) == list(benchmark.face_ids)
    assert score(pred, benchmark, "bbox")["normaliser"] == "bbox"


def test_the_crop_is_exactly_invertible():
    box = np.array([100.0, 50.0, 180.0, 150.0])
    matrix = crop_transform(box)
    side = 0.64 * (80 * 1.05 + 100 * 1.05)
    assert matrix[0, 0] == pytest.approx(256 / side)
    centre_in_crop = matrix[:, :2] @ [140.0, 100.0] + matrix[:, 2]
    np.testing.assert_allclose(centre_in_crop, [128, 128])
    points = np.random.default_rng(0).uniform(0, 256, size=(10, 2))
    original = to_original(points, matrix)
    np.testing.assert_allclose(original @ matrix[:, :2].T + matrix[:, 2], points)


def test_the_crop_follows_the_transform():
    image = np.zeros((200, 300, 3), np.uint8)
    image[100, 150] = 255
    box = np.array([120.0, 70.0, 180.0, 130.0])
    crop = crop_face(image, box)
    peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    expected = crop_transform(box) @ [150, 100, 1]
    assert abs(peak[1] - expected[0]) <= 1 and abs(peak[0] - expected[1]) <= 1


def tiny_wflw_model() -> FAN:
    model = FAN(num_modules=1, num_landmarks=98, hourglass_depth=2, base_width=8).eval()
    golden_fill(model)
    return model


def test_predict_maps_decoded_points_back_and_reports_progress(wflw_dir):
    benchmark = read_benchmark("wflw", wflw_dir)
    calls = []
    model = tiny_wflw_model()
    fast = predict(
        model,
        benchmark,
        batch_size=3,
        device="cpu",
        progress=lambda d, t: calls.append((d, t)),
    )
    plain = predict(model, benchmark, batch_size=4, device="cpu", optimise=False)
    assert calls == [(3, 4), (4, 4)]
    assert fast.shape == (4, 98, 2)
    # Every prediction lies inside its face crop, mapped back to the original image.
    for i, box in enumerate(benchmark.boxes):
        crop_points = fast[i] @ crop_transform(box)[:, :2].T + crop_transform(box)[:, 2]
        assert (crop_points >= 0).all() and (crop_points <= 256).all()
    # Folded BN and channels-last may flip a near-tie; nearly all points agree.
    assert np.mean(np.abs(fast - plain) < 1e-6) > 0.95
    with pytest.raises(
        ValueError, match="predicts 68 landmarks but the wflw benchmark has 98"
    ):
        predict(FAN(1, 68, hourglass_depth=2, base_width=8), benchmark)


def test_predict_traces_only_splits_worth_the_tracing_time(wflw_dir, monkeypatch):
    from evaluator import inference

    traced = []
    monkeypatch.setattr(
        inference.FastOnCPU,
        "_trace",
        lambda self, x: traced.append(x.shape) or self.model,
    )
    benchmark = read_benchmark("wflw", wflw_dir)
    predict(tiny_wflw_model(), benchmark, batch_size=2, device="cpu")
    assert traced == []
    monkeypatch.setattr(inference, "FREEZE_MIN_FACES", len(benchmark))
    predict(tiny_wflw_model(), benchmark, batch_size=2, device="cpu")
    assert len(traced) == 1


def test_the_cli_scores_a_prediction_file_and_plots_the_ced(wflw_dir, tmp_path, capsys):
    benchmark = read_benchmark("wflw", wflw_dir)
    predictions = tmp_path / "pred.json"
    predictions.write_text(predictions_to_json(benchmark.landmarks + 1.0, benchmark))
    args = [
        "score",
        "--format",
        "wflw",
        "--ground-truth",
        str(wflw_dir),
        "--predictions",
        str(predictions),
    ]
    assert main([*args, "--plot", str(tmp_path / "ced.svg")]) == 0
    assert "full" in capsys.readouterr().out
    svg = (tmp_path / "ced.svg").read_text()
    assert svg.startswith("<svg") and "<polyline" in svg
    assert (
        main(
            [
                *args,
                "--json",
                "--normaliser",
                "inter_pupil",
                "--plot",
                str(tmp_path / "ced.png"),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["normaliser"] == "inter_pupil"
    assert (tmp_path / "ced.png").read_bytes()[:4] == b"\x89PNG"


def test_the_cli_reports_bad_input_without_a_traceback(wflw_dir, tmp_path, capsys):
    predictions = tmp_path / "pred.csv"
    predictions.write_text("nobody,1,2\n")
    code = main(
        [
            "score",
            "--format",
            "wflw",
            "--ground-truth",
            str(wflw_dir),
            "--predictions",
            str(predictions),
        ]
    )
    assert code == 2
    assert "unknown face id" in capsys.readouterr().err


def test_the_cli_runs_a_checkpoint(wflw_dir, tmp_path, capsys):
    checkpoint = tmp_path / "tiny.pth"
    torch.save({"state_dict": tiny_wflw_model().state_dict()}, checkpoint)
    args = [
        "infer",
        "--format",
        "wflw",
        "--ground-truth",
        str(wflw_dir),
        "--checkpoint",
        str(checkpoint),
        "--architecture",
        "1,2,8",
    ]
    assert main([*args, "--device", "cpu", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["num_faces"] == 4
    assert "4/4 faces" in captured.err


def test_python_dash_m_evaluator_works():
    result = subprocess.run(
        [sys.executable, "-m", "evaluator", "--version"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == evaluator.__version__


def test_it_gives_the_eager_landmarks_on_the_golden_input_through_the_frozen_trace():
    model = FAN(num_modules=4, num_landmarks=98).eval()
    golden_fill(model)
    x = torch.rand((2, 3, 256, 256), generator=torch.Generator().manual_seed(1001))
    fast = prepare_model(model, "cpu")
    assert isinstance(fast, FastOnCPU)
    with torch.inference_mode():
        eager = model(x)[-1]
        frozen = fast(x.contiguous(memory_format=torch.channels_last))[-1]
    assert isinstance(fast._traces[(2, 3, 256, 256, True)], torch.jit.ScriptModule)
    torch.testing.assert_close(frozen, eager, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        decode(frozen[:, :98]), decode(eager[:, :98]), rtol=0, atol=1e-3
    )


def test_the_frozen_path_leaves_autocast_and_untraceable_calls_to_the_eager_model(
    monkeypatch,
):
    model = tiny_wflw_model()
    fast = prepare_model(model, "cpu")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert fast(x)[-1].dtype == torch.bfloat16
    assert fast._traces == {}
    broken = FastOnCPU(model)

    def refuse(*args, **kwargs):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    with pytest.warns(UserWarning, match="tracing failed"), torch.inference_mode():
        out = broken(torch.rand(1, 3, 64, 64))
    assert broken._traces[(1, 3, 64, 64, False)] is broken.model
    assert out[-1].shape == (1, 99, 16, 16)


def test_the_cpu_path_runs_a_batch_in_chunks_with_the_same_output():
    model = tiny_wflw_model()
    x = torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(9))
    fast = FastOnCPU(model, chunk=2)
    with torch.inference_mode():
        whole = model(x)
        chunked = fast(x)
    assert [o.shape for o in chunked] == [o.shape for o in whole]
    for ours, eager in zip(chunked, whole):
        torch.testing.assert_close(ours, eager, rtol=1e-4, atol=1e-4)
    assert sorted(key[0] for key in fast._traces) == [1, 2]  # one trace per chunk shape
    unfrozen = FastOnCPU(model, freeze=False, chunk=2)
    with torch.inference_mode():
        torch.testing.assert_close(unfrozen(x)[-1], whole[-1], rtol=1e-4, atol=1e-4)
    assert unfrozen._traces == {}

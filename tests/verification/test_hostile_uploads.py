"""Hostile uploads: every bad file gets a clear 400, through the API and the web form.

Checkpoints are checked (key names, shapes, dtypes) before any model is built, so a
few hundred bytes that describe a huge FAN cost no memory; prediction files are
read by bounded parsers.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leaderboard.verification import services
from leaderboard.verification.models import EvaluationRun, Submission
from tests.evaluator.test_weights import architecture_bombs
from tests.verification.conftest import (
    api_client,
    checkpoint_bytes,
    make_user,
    post_submission,
    predictions,
    predictions_json,
    truth,
)

SECURITY_LOG = "Refused a checkpoint carrying pickled code"


@pytest.fixture
def alice(db):
    return make_user("alice")


def _safetensors(tensors: dict) -> bytes:
    from safetensors.torch import save

    return save(tensors)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def bad_checkpoints() -> dict[str, tuple[bytes, str]]:
    """name -> (file, what the refusal must say)."""
    good = checkpoint_bytes()
    cases = {name: (raw, "Wrong architecture: expected FAN with") for name, raw in architecture_bombs().items()}
    cases.update({
        "random bytes": (bytes(range(256)) * 8, "Not a checkpoint: the file is neither safetensors nor"),
        "JSON": (b'{"state_dict": {"conv1.conv.weight": [[1.0]]}}', "Not a checkpoint"),
        "bad safetensors header": ((64).to_bytes(8, "little") + b'{"conv1.conv.weight": {"dtype": "F32",' + b" " * 27,
                                   "Invalid safetensors checkpoint: its header is not JSON"),
        "truncated safetensors": (good[: len(good) // 2], "Truncated safetensors checkpoint: tensor"),
        "wrong shape": (_safetensors({**_load(good), "bl0.bias": __import__("torch").zeros(3)}),
                        "got unexpected key 'bl0.bias' with shape (3,)"),
        "pickled code": (pickle.dumps({"state_dict": Evil()}), "contains pickled Python objects (builtins.print)"),
    })
    return cases


def _load(raw: bytes) -> dict:
    from safetensors.torch import load

    return load(raw)


CHECKPOINT_CASES = ["3000 stacks", "width 100000", "hourglass depth 500 (pickle)", "random bytes", "JSON",
                    "bad safetensors header", "truncated safetensors", "wrong shape", "pickled code"]


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_bad_checkpoint_gets_a_clear_400_from_the_api(wflw, alice, case, caplog, capsys):
    raw, message = bad_checkpoints()[case]
    response = post_submission(api_client(alice), wflw, raw, name="fan.safetensors", kind="checkpoint")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert Submission.objects.count() == 0 and EvaluationRun.objects.count() == 0
    assert "this must never run" not in capsys.readouterr().out
    # Only a real pickle carrying code is recorded as an attack.
    assert (SECURITY_LOG in caplog.text) == (case == "pickled code")


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_bad_checkpoint_gets_a_clear_400_from_the_web_form(wflw, alice, client, case):
    raw, message = bad_checkpoints()[case]
    client.force_login(alice)
    response = client.post("/submit/", {"benchmark": wflw.slug, "kind": "checkpoint", "model_name": "WebNet",
                                        "file": SimpleUploadedFile("fan.pth", raw)})
    assert response.status_code == 400
    assert message in _page_text(response)
    assert Submission.objects.count() == 0


def test_the_refusals_of_a_checkpoint_have_distinct_codes(wflw, alice):
    from leaderboard.verification import evaluation

    codes = {}
    for case in ("3000 stacks", "random bytes", "truncated safetensors", "pickled code"):
        with pytest.raises(evaluation.InvalidSubmission) as caught:
            evaluation.open_checkpoint(bad_checkpoints()[case][0], 98)
        codes[case] = caught.value.code
    assert codes == {"3000 stacks": "wrong_architecture", "random bytes": "not_a_checkpoint",
                     "truncated safetensors": "truncated", "pickled code": "pickled_code"}


def _page_text(response) -> str:
    import html

    return html.unescape(response.content.decode())


def _peak_rss_reset() -> bool:
    """Reset this process's peak resident size (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def test_architecture_bombs_cost_the_web_process_under_100_mb(wflw, alice):
    if not _peak_rss_reset():
        pytest.skip("the peak resident size cannot be reset on this system")
    bombs = architecture_bombs()
    upload = services.Upload(kind="checkpoint", filename="fan.safetensors", data=b"", model_name="Bomb")
    # Warm up: PyTorch imported, the allowed layouts computed, as in a web process that has served one.
    baseline = _peak_rss_bytes()
    with pytest.raises(services.SubmissionRefused):
        services.validate_artifact(alice, wflw, Upload(upload, bombs["3000 stacks"]))
    print(f"first checkpoint validated in this process (warm-up): +{(_peak_rss_bytes() - baseline) / 2**20:.1f} MiB")
    for name, raw in bombs.items():
        _peak_rss_reset()
        baseline = _peak_rss_bytes()
        with pytest.raises(services.SubmissionRefused, match="Wrong architecture"):
            services.validate_artifact(alice, wflw, Upload(upload, raw))
        growth = _peak_rss_bytes() - baseline
        print(f"peak memory growth validating {name} ({len(raw)} bytes): {growth / 2**20:.1f} MiB")
        assert growth < 100 * 2**20, f"{name}: the peak grew by {growth / 2**20:.0f} MiB"


def Upload(template: services.Upload, data: bytes) -> services.Upload:
    from dataclasses import replace

    return replace(template, data=data)


@pytest.mark.parametrize("size", [200_000, 10_000], ids=["declared too large", "streamed past the limit"])
def test_the_web_form_refuses_an_oversized_upload_with_a_clear_400(wflw, alice, client, settings, size):
    settings.MAX_UPLOAD_BYTES = 2048
    client.force_login(alice)
    response = client.post("/submit/", {"benchmark": wflw.slug, "kind": "predictions", "model_name": "WebNet",
                                        "file": SimpleUploadedFile("pred.json", b"x" * size)})
    assert response.status_code == 400
    page = _page_text(response)
    assert "larger than the limit of 2048 bytes (MAX_UPLOAD_BYTES)" in page and 'id="submit-form"' in page
    assert Submission.objects.count() == 0


def bad_prediction_files(benchmark) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, file, what the refusal must say)."""
    ids, pred = truth(benchmark).face_ids, predictions(benchmark)
    members = [f"{json.dumps(fid)}: {json.dumps(p.tolist())}" for fid, p in zip(ids, pred)]
    rows = [",".join([fid, *map(repr, p.ravel().tolist())]) for fid, p in zip(ids, pred)]
    long_field = "\n".join([rows[0], rows[1].replace(",", "," + "7" * 200_000, 1), *rows[2:]])
    return {
        "JSON 5000 levels deep": ("pred.json", b"[" * 5000 + b"]" * 5000,
                                  "Invalid JSON at line 1, column 33: nested more than 32 levels deep"),
        "a number of 5000 digits": ("pred.json", predictions_json(benchmark).replace(b"[[", b"[[" + b"9" * 5000 + b", ", 1),
                                    "a number of 5000 characters (at most 100 are allowed)"),
        "a CSV field of 200000 characters": ("pred.csv", long_field.encode(),
                                             "Invalid CSV at line 2: a field longer than 1000 characters"),
        "a JSON face id given twice": ("pred.json", ("{" + ", ".join([*members, members[0]]) + "}").encode(),
                                       (f"entry {len(ids) + 1} (face {ids[0]!r}): duplicate prediction, "
                                        f"already given at entry 1 (face {ids[0]!r})")),
    }


PREDICTION_CASES = ["JSON 5000 levels deep", "a number of 5000 digits", "a CSV field of 200000 characters",
                    "a JSON face id given twice"]


@pytest.mark.parametrize("case", PREDICTION_CASES)
def test_a_bad_prediction_file_gets_a_clear_400_from_the_api(wflw, alice, case):
    name, data, message = bad_prediction_files(wflw)[case]
    response = post_submission(api_client(alice), wflw, data, name=name)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert Submission.objects.count() == 0 and EvaluationRun.objects.count() == 0


@pytest.mark.parametrize("case", PREDICTION_CASES)
def test_a_bad_prediction_file_gets_a_clear_400_from_the_web_form(wflw, alice, client, case):
    name, data, message = bad_prediction_files(wflw)[case]
    client.force_login(alice)
    response = client.post("/submit/", {"benchmark": wflw.slug, "kind": "predictions", "model_name": "WebNet",
                                        "file": SimpleUploadedFile(name, data)})
    assert response.status_code == 400
    assert message in _page_text(response)
    assert Submission.objects.count() == 0

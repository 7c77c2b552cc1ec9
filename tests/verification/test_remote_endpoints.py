"""The internal endpoints a remote worker uses: tokens, signed links, leases and the trusted scoring side.

The test client plays the worker here; tests/verification/test_remote_worker.py runs a real one.
"""

import hashlib
import io
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.core.management import call_command
from django.utils import timezone

from leaderboard.selectors import sota_table
from leaderboard.verification import remote, services
from leaderboard.verification.models import EvaluationRun, Submission, WorkerToken
from tests.verification.conftest import (
    api_client,
    checkpoint_bytes,
    make_user,
    post_submission,
    predictions,
    predictions_json,
    truth,
)


@pytest.fixture
def key(db):
    return remote.create_worker_token("lab-node")[1]


@pytest.fixture
def run(wflw):
    sid = post_submission(api_client(make_user("alice")), wflw, checkpoint_bytes(), name="fan.safetensors",
                          kind="checkpoint", model_name="RemoteNet").json()["id"]
    return EvaluationRun.objects.get(submission_id=sid)


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def worker_headers(key: str, run_token: str) -> dict:
    return {**bearer(key), "HTTP_X_RUN_TOKEN": run_token}


def claim(client, run, key, name="node-a:1"):
    return client.post(f"/internal/runs/{run.pk}/claim", {"worker": name}, content_type="application/json",
                       **bearer(key))


def post_predictions(client, run, key, token, data: bytes, precision="fp32"):
    return client.post(f"/internal/runs/{run.pk}/predictions?precision={precision}&device=cpu", data,
                       content_type="application/json", **worker_headers(key, token))


def test_it_prints_a_worker_token_once_and_stores_only_its_hash(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_worker_token", "gpu-1", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = WorkerToken.objects.get(name="gpu-1")
    assert key.startswith("pwcw_") and len(key) > 40 and "shown once" in err.getvalue()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(WorkerToken.objects.values().get())
    assert remote.authenticate(f"Bearer {key}") == token


def test_the_public_faces_file_holds_faces_boxes_and_image_checksums_but_no_landmarks(client, wflw):
    body = client.get(f"/benchmarks/{wflw.slug}/faces.json").json()
    gt = truth(wflw)
    assert [face["face_id"] for face in body["faces"]] == list(gt.face_ids)
    assert body["num_landmarks"] == 98 and len(body["faces"][0]["box"]) == 4
    assert set(body) == {"benchmark", "format", "num_landmarks", "face_count", "faces", "images"}
    assert {key for face in body["faces"] for key in face} == {"face_id", "image", "box"}
    text = client.get(f"/benchmarks/{wflw.slug}/faces.json").content.decode()
    for value in gt.landmarks[:, :3].ravel()[:20]:  # no ground-truth coordinate appears anywhere
        assert f"{value:.3f}" not in text
    entry = next(iter(body["images"].values()))
    served = b"".join(client.get(entry["url"]).streaming_content)
    assert hashlib.sha256(served).hexdigest() == entry["sha256"]


def test_a_remote_worker_claims_downloads_reports_and_its_predictions_are_published(client, run, key, wflw):
    message = remote.job(run.pk)
    answer = claim(client, run, key)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["sha256"] == run.submission.sha256 and body["precision"] == "fp32" and body["lease_seconds"] > 0
    token = body["run_token"]
    download = client.get(message["checkpoint_url"], **worker_headers(key, token))
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == run.submission.sha256
    beat = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 2, "total": 4, "log": ["halfway"]},
                       content_type="application/json", **worker_headers(key, token))
    assert beat.status_code == 200
    pred = predictions(wflw, offset=2.0, seed=5)
    answer = post_predictions(client, run, key, token, predictions_json(wflw, pred))
    assert answer.status_code == 200 and answer.json() == {"status": "succeeded"}

    run.refresh_from_db()
    assert run.status == "succeeded" and run.worker == "node-a:1 [lab-node]" and run.worker_token.name == "lab-node"
    assert run.precision == "fp32" and run.device == "cpu" and "halfway" in run.log
    expected = f"{services.evaluation.scores(pred, truth(wflw), 'inter_ocular')['overall']['nme'] * 100:.2f}"
    rows = {row.result.model_name: row.values["NME (inter-ocular)"].raw for row in sota_table(wflw.leaderboard)}
    assert rows["RemoteNet"] == expected
    assert Submission.objects.get(pk=run.submission_id).current_run_id == run.pk


@pytest.mark.parametrize("authorization", ["", "Bearer pwcw_forged", "Token pwcw_x", "Bearer "])
def test_it_refuses_a_missing_or_forged_worker_token_with_403(client, run, authorization):
    answer = client.post(f"/internal/runs/{run.pk}/claim", {}, content_type="application/json",
                         HTTP_AUTHORIZATION=authorization)
    assert answer.status_code == 403 and "worker token" in answer.json()["error"]
    assert EvaluationRun.objects.get(pk=run.pk).status == "queued"


def test_it_refuses_a_revoked_worker_token(client, run, key):
    remote.revoke(WorkerToken.objects.all())
    assert claim(client, run, key).status_code == 403


def test_every_run_endpoint_needs_the_worker_token(client, run, key):
    token = claim(client, run, key).json()["run_token"]
    for path in ("heartbeat", "predictions", "fail"):
        answer = client.post(f"/internal/runs/{run.pk}/{path}", b"{}", content_type="application/json",
                             HTTP_X_RUN_TOKEN=token)
        assert answer.status_code == 403, path
    answer = client.get(remote.job(run.pk)["checkpoint_url"], HTTP_X_RUN_TOKEN=token)
    assert answer.status_code == 403
    assert client.get(f"/internal/runs/{run.pk}/heartbeat", **bearer(key)).status_code == 405
    assert EvaluationRun.objects.get(pk=run.pk).status == "running"


def test_it_refuses_a_forged_run_token_with_403(client, run, key):
    claim(client, run, key)
    forged = remote.run_token(run.pk, "0" * 32)[:-3] + "abc"
    answer = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 0, "total": 4},
                         content_type="application/json", **worker_headers(key, forged))
    assert answer.status_code == 403 and "run token is not valid" in answer.json()["error"]


def test_a_run_token_of_one_run_does_not_open_another(client, wflw, key):
    user = make_user("bob", staff=True)
    runs = [EvaluationRun.objects.get(submission_id=post_submission(
        api_client(user), wflw, checkpoint_bytes(seed=i), name="fan.safetensors", kind="checkpoint").json()["id"])
        for i in range(2)]
    token = claim(client, runs[0], key).json()["run_token"]
    claim(client, runs[1], key)
    answer = client.post(f"/internal/runs/{runs[1].pk}/fail", {"error": "x"}, content_type="application/json",
                         **worker_headers(key, token))
    assert answer.status_code == 403 and EvaluationRun.objects.get(pk=runs[1].pk).status == "running"


def test_another_worker_cannot_use_the_run_token(client, run, key):
    token = claim(client, run, key).json()["run_token"]
    other = remote.create_worker_token("other-node")[1]
    answer = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 0, "total": 4},
                         content_type="application/json", **worker_headers(other, token))
    assert answer.status_code == 409


def test_it_refuses_an_expired_forged_or_replayed_checkpoint_link_with_403(client, run, key, monkeypatch, settings):
    token = claim(client, run, key).json()["run_token"]
    fresh = remote.checkpoint_link(run.pk)
    assert client.get(fresh, **worker_headers(key, token)).status_code == 200

    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - settings.VERIFICATION_LINK_SECONDS - 5)
    expired = remote.checkpoint_link(run.pk)
    monkeypatch.setattr(signing.time, "time", real_time)
    answer = client.get(expired, **worker_headers(key, token))
    assert answer.status_code == 403 and "expired" in answer.json()["error"]

    forged = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    assert client.get(forged, **worker_headers(key, token)).status_code == 403
    other_run = remote.checkpoint_link(run.pk + 1000).replace(f"/runs/{run.pk + 1000}/", f"/runs/{run.pk}/")
    assert client.get(other_run, **worker_headers(key, token)).status_code == 403

    post_predictions(client, run, key, token, predictions_json(run.submission.benchmark))
    replay = client.get(fresh, **worker_headers(key, token))
    assert replay.status_code == 403 and "holding the run" in replay.json()["error"]


def test_a_late_answer_after_the_lease_was_lost_is_refused(client, run, key, wflw, settings):
    token = claim(client, run, key).json()["run_token"]
    EvaluationRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.reap().requeued == 1
    second = claim(client, run, key, name="node-b:2").json()["run_token"]

    late = post_predictions(client, run, key, token, predictions_json(wflw, seed=1))
    assert late.status_code == 409 and "no longer held" in late.json()["error"]
    beat = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 1, "total": 4},
                       content_type="application/json", **worker_headers(key, token))
    assert beat.status_code == 409
    run.refresh_from_db()
    assert run.status == "running" and run.worker.startswith("node-b:2") and run.attempts == 2
    assert post_predictions(client, run, key, second, predictions_json(wflw, seed=2)).json() == {"status": "succeeded"}
    assert wflw.leaderboard.dataset.results.count() == 1


def test_a_cancelled_run_stops_its_remote_worker(client, run, key):
    token = claim(client, run, key).json()["run_token"]
    assert services.cancel(run)
    beat = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 1, "total": 4},
                       content_type="application/json", **worker_headers(key, token))
    assert beat.status_code == 409
    assert EvaluationRun.objects.get(pk=run.pk).status == "cancelled"


def test_predictions_the_upload_parser_refuses_fail_the_run(client, run, key, wflw):
    token = claim(client, run, key).json()["run_token"]
    answer = post_predictions(client, run, key, token, b'{"not a face": [[1, 2]]}')
    assert answer.status_code == 200 and answer.json() == {"status": "failed"}
    run.refresh_from_db()
    assert run.status == "failed" and "predictions were refused" in run.error
    assert wflw.leaderboard.dataset.results.count() == 0


def test_a_precision_the_benchmark_did_not_opt_in_to_is_refused(client, run, key, wflw):
    token = claim(client, run, key).json()["run_token"]
    answer = post_predictions(client, run, key, token, predictions_json(wflw), precision="bf16")
    assert answer.status_code == 400 and "precision" in answer.json()["error"]
    wflw.__class__.objects.filter(pk=wflw.pk).update(precision="bf16")
    answer = post_predictions(client, run, key, token, predictions_json(wflw), precision="bf16")
    assert answer.json() == {"status": "succeeded"}
    assert EvaluationRun.objects.get(pk=run.pk).precision == "bf16"


def test_a_worker_reports_a_failure_with_its_reason(client, run, key):
    token = claim(client, run, key).json()["run_token"]
    answer = client.post(f"/internal/runs/{run.pk}/fail", {"error": "sha256 does not match"},
                         content_type="application/json", **worker_headers(key, token))
    assert answer.status_code == 200
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "sha256 does not match"


def test_a_claimed_run_cannot_be_claimed_twice_and_predictions_runs_are_not_offered(client, run, key, wflw):
    assert claim(client, run, key).status_code == 200
    assert claim(client, run, key).status_code == 409
    sid = post_submission(api_client(make_user("carol")), wflw, predictions_json(wflw)).json()["id"]
    assert claim(client, EvaluationRun.objects.get(submission_id=sid), key).status_code == 409


def test_the_gpu_message_carries_links_only(run, settings):
    message = remote.job(run.pk)
    assert set(message) == {"run_id", "checkpoint_url", "inputs_url", "expires_at"}
    assert message["checkpoint_url"].startswith(f"/internal/runs/{run.pk}/checkpoint?signature=")
    assert message["expires_at"] == pytest.approx(time.time() + settings.VERIFICATION_LINK_SECONDS, abs=5)


def test_the_compose_gpu_workers_hold_no_database_settings_and_no_site_volume():
    import yaml

    from tests.verification.conftest import ROOT

    site = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    node = yaml.safe_load((ROOT / "docker-compose.gpu-node.yml").read_text())["services"]["gpu-node"]
    for worker in (site["worker-gpu"], node):
        assert "workers.remote" in worker["command"] and "-Q" in worker["command"]
        assert {"SITE_URL", "CELERY_BROKER_URL", "WORKER_TOKEN"} <= set(worker["environment"])
        assert not {"DATABASE_URL", "MEDIA_ROOT", "SECRET_KEY"} & set(worker["environment"])
        assert all(not volume.startswith("media") for volume in worker.get("volumes", []))


def test_the_link_lifetime_must_outlast_the_reapers_resend(tmp_path):
    import subprocess
    import sys

    from tests.verification.conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "VERIFICATION_LINK_SECONDS": "600",
           "VERIFICATION_RESEND_AFTER_SECONDS": "600", "DJANGO_SETTINGS_MODULE": "leaderboard.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "VERIFICATION_LINK_SECONDS=600 must be longer" in result.stderr


def test_a_worker_that_runs_past_the_time_limit_is_stopped_by_the_site(client, run, key, settings):
    token = claim(client, run, key).json()["run_token"]
    limit = run.submission.benchmark.time_limit_seconds + settings.VERIFICATION_TIME_LIMIT_GRACE
    EvaluationRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=limit + 1))
    beat = client.post(f"/internal/runs/{run.pk}/heartbeat", {"done": 1, "total": 4},
                       content_type="application/json", **worker_headers(key, token))
    assert beat.status_code == 409 and "time limit" in beat.json()["error"]
    run.refresh_from_db()
    assert run.status == "failed" and "time limit" in run.error


def test_a_malformed_heartbeat_is_a_400_not_a_500(client, run, key):
    token = claim(client, run, key).json()["run_token"]
    for body in (b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b'{"done": "x"}', b'{"done": 5, "total": 4}',
                 b'{"log": "one line"}'):
        answer = client.post(f"/internal/runs/{run.pk}/heartbeat", body, content_type="application/json",
                             **worker_headers(key, token))
        assert answer.status_code == 400, body[:20]


def test_a_worker_on_the_site_records_precision_and_device_too(run):
    assert services.evaluate(run.pk, "site-worker") == "succeeded"
    run.refresh_from_db()
    assert (run.precision, run.device, run.worker_token) == ("fp32", "cpu", None)
    assert "on cpu in fp32" in run.log


class FakeSite:
    """Stands in for SiteClient.download: serves bytes by URL and counts the downloads."""

    def __init__(self, files: dict):
        self.files, self.downloads = files, []

    def download(self, url, target, run_token=""):
        self.downloads.append(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.files[url])
        return hashlib.sha256(self.files[url]).hexdigest()


def test_the_node_cache_fetches_once_refuses_a_wrong_checksum_and_bounds_checkpoints(tmp_path):
    from workers.node import ChecksumMismatch, NodeCache

    files = {f"/c{i}": bytes([i]) * 100 for i in range(3)}
    site, cache = FakeSite(files), NodeCache(tmp_path, checkpoint_bytes=250)
    digest = {url: hashlib.sha256(data).hexdigest() for url, data in files.items()}
    assert cache.fetch(site, "/c0", digest["/c0"])[1] is True
    assert cache.fetch(site, "/c0", digest["/c0"])[1] is False and site.downloads == ["/c0"]
    with pytest.raises(ChecksumMismatch):
        cache.fetch(site, "/c1", digest["/c0"].replace(digest["/c0"][0], "f" if digest["/c0"][0] != "f" else "e", 1))
    assert [p.name for p in (tmp_path / "inputs").rglob("*") if p.is_file()] == [digest["/c0"]]  # the bad one deleted
    kept = []
    for url in files:
        path, _ = cache.fetch(site, url, digest[url], "checkpoints")
        time.sleep(0.01)
        cache.trim_checkpoints(keep=path)
        kept = sorted(p.name for p in (tmp_path / "checkpoints").rglob("*") if p.is_file())
    assert kept == sorted([digest["/c1"], digest["/c2"]])  # 250 bytes hold two of 100

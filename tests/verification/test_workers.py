"""Real worker processes: end to end, faults (kill -9, Redis restart, duplicates), load."""

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluator.scoring import score
from leaderboard.selectors import sota_table
from leaderboard.verification import services
from leaderboard.verification.models import EvaluationRun, Submission
from tests.api.test_shared_cache import shared_only
from tests.verification.conftest import (
    api_client,
    checkpoint_bytes,
    finished,
    install_demo,
    make_user,
    post_submission,
    predictions,
    predictions_json,
    truth,
    uses_redis,
    wait_for,
)

pytestmark = pytest.mark.slow


def run_ids(*submission_ids):
    return list(EvaluationRun.objects.filter(submission_id__in=submission_ids).values_list("pk", flat=True))


def test_it_verifies_uploads_from_the_api_and_the_web_form_end_to_end(cluster, client):
    wflw = install_demo()
    cluster.start("w1")
    user = make_user("alice")
    pred = predictions(wflw, offset=2.0, seed=3)
    api = post_submission(api_client(user), wflw, predictions_json(wflw, pred), model_name="ApiNet").json()["id"]
    ckpt = post_submission(api_client(user), wflw, checkpoint_bytes(), name="fan.safetensors", kind="checkpoint",
                           model_name="CkptNet").json()["id"]
    client.force_login(user)
    client.post("/submit/", {"benchmark": wflw.slug, "kind": "predictions", "model_name": "WebNet",
                             "file": SimpleUploadedFile("pred.csv", _csv(wflw, pred))})
    web = Submission.objects.get(model_name="WebNet").pk
    ids = run_ids(api, ckpt, web)
    wait_for(lambda: finished(ids), 90, "three runs", cluster)
    assert set(EvaluationRun.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"succeeded"}

    expected = f"{score(pred, truth(wflw), 'inter_ocular')['overall']['nme'] * 100:.2f}"
    rows = {row.result.model_name: row.values["NME (inter-ocular)"].raw for row in sota_table(wflw.leaderboard)}
    assert rows["ApiNet"] == rows["WebNet"] == expected and "CkptNet" in rows
    body = api_client(user).get(f"/api/v1/submissions/{ckpt}/").json()
    assert body["run"]["progress"] == {"done": 4, "total": 4} and "Claimed by w1@" in body["run"]["log"]


def _csv(benchmark, pred) -> bytes:
    lines = [f"{fid}," + ",".join(f"{v:.6f}" for v in p.ravel()) for fid, p in zip(truth(benchmark).face_ids, pred)]
    return ("\n".join(lines) + "\n").encode()


def test_it_finishes_a_run_exactly_once_after_its_worker_is_killed(cluster):
    wflw = install_demo()
    first = cluster.start("doomed")
    user = make_user("alice")
    sid = post_submission(api_client(user), wflw, checkpoint_bytes(num_modules=2), name="fan.safetensors",
                          kind="checkpoint").json()["id"]
    run = EvaluationRun.objects.get(submission_id=sid)
    wait_for(lambda: EvaluationRun.objects.filter(pk=run.pk, status="running").exists(), 60, "running", cluster)
    cluster.kill(first)
    cluster.start("survivor")
    time.sleep(3)  # the lease (2 s) expires
    assert services.reap().requeued == 1
    wait_for(lambda: finished([run.pk]), 90, "the re-queued run", cluster)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2 and "survivor@" in run.worker
    assert "stopped renewing its lease" in run.log
    assert Submission.objects.get(pk=sid).result is not None and wflw.leaderboard.dataset.results.count() == 1


def test_it_publishes_once_when_the_same_message_arrives_twice(cluster):
    wflw = install_demo()
    user = make_user("alice")
    cluster.start("w1")
    sid = post_submission(api_client(user), wflw, predictions_json(wflw)).json()["id"]
    run = EvaluationRun.objects.get(submission_id=sid)
    assert services.send(run.pk, run.queue, 60)  # a second copy of the message
    wait_for(lambda: finished([run.pk]), 60, "the run", cluster)
    wait_for(lambda: "skipped: the run is not queued" in cluster.logs(), 30, "the duplicate", cluster)
    assert EvaluationRun.objects.get(pk=run.pk).attempts == 1
    assert wflw.leaderboard.dataset.results.count() == 1


def test_it_fails_a_run_past_its_time_limit(cluster):
    wflw = install_demo(time_limit_seconds=1)
    cluster.start("w1")
    sid = post_submission(api_client(make_user("alice")), wflw, checkpoint_bytes(num_modules=4),
                          name="fan.safetensors", kind="checkpoint").json()["id"]
    run = EvaluationRun.objects.get(submission_id=sid)
    wait_for(lambda: finished([run.pk]), 60, "the run", cluster)
    run.refresh_from_db()
    assert run.status == "failed" and "longer than the 1 s time limit" in run.error
    body = api_client().get(f"/api/v1/submissions/{sid}/").json()
    assert "time limit" in body["run"]["error"]


def test_it_finishes_50_concurrent_submissions_from_several_users(cluster):
    wflw = install_demo()
    cluster.start("w1")
    cluster.start("w2")
    users = [make_user(f"user{i}") for i in range(5)]
    files = [predictions_json(wflw, seed=i) for i in range(50)]

    def submit(i):
        return post_submission(api_client(users[i % 5]), wflw, files[i], model_name=f"Net{i}").status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(submit, range(50)))
    assert codes == [201] * 50
    ids = list(EvaluationRun.objects.values_list("pk", flat=True))
    assert len(ids) == 50
    wait_for(lambda: finished(ids), 180, "50 runs", cluster)
    assert EvaluationRun.objects.filter(status="succeeded", attempts=1).count() == 50
    assert wflw.leaderboard.dataset.results.count() == 50
    assert Submission.objects.filter(result__isnull=False).values("result").distinct().count() == 50


REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]


def _redis_up() -> bool:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], check=False, capture_output=True).returncode == 0


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False, capture_output=True)
    for _ in range(50):
        if not _redis_up():
            break
        time.sleep(0.1)
    _ensure_redis()


def _ensure_redis() -> None:
    if not _redis_up():
        subprocess.run(REDIS_START, check=True)
    for _ in range(50):
        if _redis_up():
            return
        time.sleep(0.1)


def _lose_queued_messages(cluster) -> None:
    """Redis restarted without saving; on the file-system broker, the message files deleted."""
    if uses_redis():
        _restart_redis()
        return
    for message in (cluster.root / "var" / "broker").glob("*.msg"):
        message.unlink()


def test_it_loses_nothing_when_the_broker_restarts_during_a_run(cluster, settings):
    wflw = install_demo()
    user = make_user("alice")
    cluster.start("w1")
    try:
        long = post_submission(api_client(user), wflw, checkpoint_bytes(num_modules=4), name="fan.safetensors",
                               kind="checkpoint").json()["id"]
        waiting = [post_submission(api_client(user), wflw, predictions_json(wflw, seed=i)).json()["id"]
                   for i in range(3)]
        ids = run_ids(long, *waiting)
        wait_for(lambda: EvaluationRun.objects.filter(status="running").exists(), 60, "a running run", cluster)
        _lose_queued_messages(cluster)
    finally:
        if uses_redis():
            _ensure_redis()
    settings.VERIFICATION_RESEND_AFTER_SECONDS = 1

    def reaped_and_done():
        services.reap()
        return finished(ids)

    wait_for(reaped_and_done, 120, "every run after the restart", cluster)
    assert EvaluationRun.objects.filter(pk__in=ids, status="succeeded").count() == 4
    assert wflw.leaderboard.dataset.results.count() == 4


def test_it_runs_the_reaper_from_celery_beat_schedule_task(cluster):
    from workers.app import app

    install_demo()
    cluster.start("w1")
    app.send_task("workers.tasks.reap_runs", queue=cluster.queues["cpu"])
    wait_for(lambda: "workers.tasks.reap_runs" in cluster.logs() and "succeeded" in cluster.logs(), 30,
             "the reaper task", cluster)
    assert "requeued" not in cluster.logs() or "'failed': 0" in cluster.logs()


@shared_only
def test_a_worker_chooses_the_home_pages_notable_boards_again(cluster, client):
    """An old choice stays on the home page while a real worker makes the next one into the shared cache."""
    from django.core.cache import cache

    from leaderboard import selectors
    from leaderboard import services as kb
    from leaderboard.models import Leaderboard

    install_demo()
    before = [item.board.slug for item in client.get("/").context["notable"]]
    last = Leaderboard.objects.get(slug=before[-1])
    for i in range(60):  # now the board with the most results
        kb.record_result(last, model_name=f"Climber {i}", metrics={"NME (inter-ocular)": f"{i + 1}"})
    key = selectors.notable_key(8)
    kept = cache.get(key)
    cache.set(key, {**kept, "at": kept["at"] - selectors.NOTABLE_CACHE_SECONDS - 1}, timeout=None)
    assert [item.board.slug for item in client.get("/").context["notable"]] == before  # the old choice, at once
    cluster.start("w1")
    wait_for(lambda: cache.get(key)["ids"][0] == last.pk, 30, "the worker's new choice", cluster)
    kb.record_result(last, model_name="One more", metrics={"NME (inter-ocular)": "0.1"})  # pages drawn afresh
    assert client.get("/").context["notable"][0].board.slug == last.slug

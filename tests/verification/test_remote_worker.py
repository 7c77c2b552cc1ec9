"""A real remote worker process (workers/remote.py) against a live server of the site, on both brokers.

The worker has the broker, the site's URL and a worker token; no database settings, another working
directory, an empty media root. The site is pytest-django's live server on this run's test database.
"""

import os
import time

import pytest

from leaderboard.selectors import sota_table
from leaderboard.verification import remote, services
from leaderboard.verification.models import EvaluationRun, Submission
from tests.verification.conftest import (
    api_client,
    checkpoint_bytes,
    finished,
    install_demo,
    make_user,
    post_submission,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def submit_checkpoint(benchmark, user, **kwargs) -> EvaluationRun:
    sid = post_submission(api_client(user), benchmark, checkpoint_bytes(**kwargs), name="fan.safetensors",
                          kind="checkpoint", model_name="NodeNet").json()["id"]
    return EvaluationRun.objects.get(submission_id=sid)


def cached_files(cluster, name: str) -> dict:
    """Cached files by name: the inode shows whether one was written again."""
    folder = cluster.root / name / "cache"
    return {path.name: path.stat().st_ino for path in folder.rglob("*") if path.is_file()}


def test_a_remote_worker_without_database_verifies_a_checkpoint_end_to_end(cluster, live_server):
    wflw = install_demo()
    key = remote.create_worker_token("lab-node")[1]
    cluster.start_remote("node", live_server.url, key)
    user = make_user("alice")
    run = submit_checkpoint(wflw, user)
    wait_for(lambda: finished([run.pk]), 120, "the remote run", cluster)

    run.refresh_from_db()
    assert run.status == "succeeded", run.error + run.log
    assert run.worker.startswith("node@") and run.worker.endswith("[lab-node]") and run.worker_token.name == "lab-node"
    assert run.precision == "fp32" and run.device == "cpu" and run.progress_done == run.progress_total == 4
    assert "4 faces in 2 images; 2 downloaded, 0 from the node's cache" in run.log
    assert "bytes downloaded, sha256 matches the submission" in run.log
    assert "NodeNet" in {row.result.model_name for row in sota_table(wflw.leaderboard)}
    assert Submission.objects.get(pk=run.submission_id).current_run_id == run.pk
    assert list((cluster.root / "node" / "media").iterdir()) == []
    assert not (cluster.root / "node" / "var").exists()  # no database file, no files of the site
    before = cached_files(cluster, "node")
    assert len(before) == 3  # two images and the checkpoint

    rerun = services.rerun([run.submission], reason="re-run")[0]
    wait_for(lambda: finished([rerun.pk]), 120, "the re-run", cluster)
    rerun.refresh_from_db()
    assert rerun.status == "succeeded" and rerun.metrics == run.metrics
    assert "4 faces in 2 images; 0 downloaded, 2 from the node's cache" in rerun.log
    assert "bytes from the node's cache, sha256 matches the submission" in rerun.log
    assert cached_files(cluster, "node") == before


def test_a_remote_worker_killed_mid_run_is_replaced_and_the_run_finishes_once(cluster, live_server):
    wflw = install_demo()
    key = remote.create_worker_token("lab-node")[1]
    doomed = cluster.start_remote("doomed", live_server.url, key)
    run = submit_checkpoint(wflw, make_user("alice"), num_modules=2)
    wait_for(lambda: EvaluationRun.objects.filter(pk=run.pk, status="running").exists(), 60, "running", cluster)
    cluster.kill(doomed)
    cluster.start_remote("survivor", live_server.url, key)
    time.sleep(3)  # the lease (2 s) expires
    assert services.reap().requeued == 1
    wait_for(lambda: finished([run.pk]), 120, "the re-queued run", cluster)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2 and run.worker.startswith("survivor@")
    assert "stopped renewing its lease" in run.log
    assert wflw.leaderboard.dataset.results.count() == 1


def test_a_remote_worker_refuses_a_checkpoint_whose_sha256_is_not_the_runs(cluster, live_server):
    wflw = install_demo()
    key = remote.create_worker_token("lab-node")[1]
    run = submit_checkpoint(wflw, make_user("alice"))
    artifact = run.submission.artifact
    with artifact.storage.open(artifact.name, "wb") as handle:  # the stored file changed behind the site's back
        handle.write(checkpoint_bytes(seed=7))
    cluster.start_remote("node", live_server.url, key)
    wait_for(lambda: finished([run.pk]), 120, "the run", cluster)
    run.refresh_from_db()
    assert run.status == "failed" and "not the submission's" in run.error and "refused to run it" in run.error
    assert wflw.leaderboard.dataset.results.count() == 0


def test_a_remote_worker_needs_its_settings(tmp_path):
    import subprocess
    import sys

    from tests.verification.conftest import ROOT

    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "CELERY_BROKER_URL": "memory://",
           "DJANGO_SETTINGS_MODULE": "leaderboard.settings"}
    code = ("import sys, workers.remote; workers.remote.app.loader.init_worker(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('leaderboard', 'rest_framework') "
            "or m.startswith(('django.db', 'django.conf', 'django.apps'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stderr
    env.pop("CELERY_BROKER_URL")
    missing = subprocess.run([sys.executable, "-c", "import workers.remote"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, check=False)
    assert missing.returncode != 0 and "CELERY_BROKER_URL is not set" in missing.stderr

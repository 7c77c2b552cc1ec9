"""Submitted files in an S3-compatible bucket (django-storages), against a local S3 server process (moto).

The same settings as STORAGE_S3_BUCKET and STORAGE_S3_ENDPOINT_URL make; nothing reaches MEDIA_ROOT.
"""

import hashlib
import socket
import subprocess
import sys
import time
import uuid

import pytest

from leaderboard.verification import remote, services
from leaderboard.verification.models import EvaluationRun
from tests.verification.conftest import (
    api_client,
    checkpoint_bytes,
    make_user,
    post_submission,
    predictions_json,
)

pytestmark = pytest.mark.slow
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    from benchmarks.api import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the S3 server did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bucket(s3_server, settings, monkeypatch, wflw):
    import boto3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": name, "endpoint_url": s3_server, "region_name": "us-east-1", "default_acl": None,
            "querystring_auth": True, "file_overwrite": False,
        }},
    }

    def keys() -> list[str]:
        return [item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])]

    return keys


def test_a_checkpoint_is_stored_in_the_bucket_and_served_to_a_remote_worker(client, bucket, settings, wflw):
    data = checkpoint_bytes()
    sid = post_submission(api_client(make_user("alice")), wflw, data, name="fan.safetensors",
                          kind="checkpoint").json()["id"]
    run = EvaluationRun.objects.get(submission_id=sid)
    digest = hashlib.sha256(data).hexdigest()
    assert bucket() == [run.submission.artifact.name] and digest in run.submission.artifact.name
    assert not (settings.MEDIA_ROOT / "submissions").exists()

    key = remote.create_worker_token("node")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    token = client.post(f"/internal/runs/{run.pk}/claim", {}, content_type="application/json", **headers).json()
    answer = client.get(remote.checkpoint_link(run.pk), HTTP_X_RUN_TOKEN=token["run_token"], **headers)
    assert answer.status_code == 200 and hashlib.sha256(b"".join(answer.streaming_content)).hexdigest() == digest


def test_a_predictions_file_and_its_parsed_copy_live_in_the_bucket_until_the_first_run_ends(bucket, wflw):
    sid = post_submission(api_client(make_user("alice")), wflw, predictions_json(wflw)).json()["id"]
    run = EvaluationRun.objects.get(submission_id=sid)
    stored = bucket()
    assert len(stored) == 2 and any(".parsed-" in name for name in stored)
    assert services.evaluate(run.pk, "in-test") == "succeeded"
    assert bucket() == [run.submission.artifact.name]
    rerun = services.rerun([run.submission])[0]
    assert services.evaluate(rerun.pk, "in-test") == "succeeded"  # parses the file from the bucket again
    assert EvaluationRun.objects.get(pk=rerun.pk).metrics == EvaluationRun.objects.get(pk=run.pk).metrics

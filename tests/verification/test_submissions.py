"""Submitting, validating and evaluating in one process: the service's rules without a broker."""

import pickle

import numpy as np
import pytest

from evaluator.scoring import score
from leaderboard.selectors import sota_table
from leaderboard.verification import services
from leaderboard.verification.models import EvaluationRun, Submission
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
def alice(db):
    return make_user("alice")


def evaluate_latest(submission_id: int) -> EvaluationRun:
    run = EvaluationRun.objects.filter(submission_id=submission_id).latest("id")
    services.evaluate(run.pk, "test-worker")
    run.refresh_from_db()
    return run


def test_it_accepts_predictions_and_queues_one_run_after_commit(wflw, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["run"]["queue"] == "cpu"
    sends = [c for c in callbacks if "send_after_commit" in c.__qualname__]  # others bump page caches
    assert body["url"] == f"/submissions/{body['id']}/" and len(sends) == 1
    submission = Submission.objects.get(pk=body["id"])
    assert submission.size == len(predictions_json(wflw)) and len(submission.sha256) == 64


def test_it_sends_checkpoints_to_the_gpu_queue(wflw, alice):
    response = post_submission(api_client(alice), wflw, checkpoint_bytes(), name="fan.safetensors", kind="checkpoint")
    assert response.status_code == 201, response.json()
    assert response.json()["run"]["queue"] == "gpu"


def test_it_puts_the_verified_numbers_on_the_leaderboard(wflw, alice):
    pred = predictions(wflw, offset=2.0)
    response = post_submission(
        api_client(alice), wflw, predictions_json(wflw, pred), paper_url="https://arxiv.org/abs/1904.07399",
        code_url="https://github.com/example/net",
    )
    run = evaluate_latest(response.json()["id"])
    assert run.status == "succeeded", run.log
    expected = score(pred, truth(wflw), "inter_ocular")["overall"]
    submission = Submission.objects.get(pk=response.json()["id"])
    result = submission.result
    assert result.provenance == "verified" and submission.current_run == run
    values = {v.metric.name: v.raw for v in result.values.select_related("metric")}
    assert values["NME (inter-ocular)"] == f"{expected['nme'] * 100:.2f}"
    assert values["FR@10 (inter-ocular)"] == f"{expected['fr@0.1'] * 100:.2f}"
    assert values["AUC@10 (inter-ocular)"] == f"{expected['auc@0.1'] * 100:.2f}"
    assert result.code_links == [{"url": "https://github.com/example/net", "title": "code"}]
    assert result.paper is not None and result.paper.arxiv_id == "1904.07399"
    rows = sota_table(wflw.leaderboard)
    assert [row.result.pk for row in rows] == [result.pk]
    assert run.ced["x"][0] == 0.0 and "per_face_nme" not in run.scores


def test_it_scores_the_first_run_with_the_predictions_parsed_at_upload(wflw, alice, monkeypatch):
    pred = predictions(wflw, offset=2.0)
    response = post_submission(api_client(alice), wflw, predictions_json(wflw, pred))
    submission = Submission.objects.get(pk=response.json()["id"])
    storage = submission.artifact.storage
    assert storage.exists(services.parsed_name(submission))

    def no_parsing(*args):
        raise AssertionError("the worker parsed the file again")

    monkeypatch.setattr(services.evaluation, "check_predictions", no_parsing)
    run = evaluate_latest(submission.pk)
    assert run.status == "succeeded", run.log
    assert "as parsed at upload by evaluator" in run.log
    expected = score(pred, truth(wflw), "inter_ocular")["overall"]
    assert run.scores["overall"]["nme"] == pytest.approx(expected["nme"])
    assert not storage.exists(services.parsed_name(submission))  # re-runs parse again: nothing kept


def test_it_parses_again_for_a_rerun_or_another_evaluator_version(wflw, alice, monkeypatch):
    staff = make_user("root", staff=True)
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    submission = Submission.objects.get(pk=response.json()["id"])
    kept = services.parsed_name(submission)
    monkeypatch.setattr(services.evaluation, "version", lambda: "0.0.0-other")
    assert services.parsed_name(submission) != kept  # a worker on another evaluator looks elsewhere
    first = evaluate_latest(submission.pk)
    assert first.status == "succeeded" and "as parsed at upload" not in first.log
    monkeypatch.undo()

    # A re-run never uses a parsed copy, even one the current evaluator version would match.
    submission.artifact.storage.delete(kept)
    services._keep_parsed(submission, np.zeros((len(truth(wflw)), wflw.num_landmarks, 2)))
    api_client(staff).post(f"/api/v1/submissions/{submission.pk}/rerun/")
    second = evaluate_latest(submission.pk)
    assert second.status == "succeeded" and "as parsed at upload" not in second.log
    assert second.scores["overall"]["nme"] == pytest.approx(first.scores["overall"]["nme"])


def test_it_delivers_a_message_twice_but_publishes_once(wflw, alice):
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    run = EvaluationRun.objects.get(submission_id=response.json()["id"])
    assert services.evaluate(run.pk, "worker-a") == "succeeded"
    assert services.evaluate(run.pk, "worker-b") == "skipped: the run is not queued"
    assert Submission.objects.get(pk=run.submission_id).result.values.count() == 3
    assert wflw.leaderboard.dataset.results.count() == 1


def test_it_keeps_private_results_off_the_leaderboard(wflw, alice):
    response = post_submission(api_client(alice), wflw, predictions_json(wflw), private="true")
    run = evaluate_latest(response.json()["id"])
    assert run.status == "succeeded"
    assert Submission.objects.get(pk=run.submission_id).result is None
    assert sota_table(wflw.leaderboard) == []


def test_it_evaluates_a_checkpoint(wflw, alice):
    response = post_submission(api_client(alice), wflw, checkpoint_bytes(), name="fan.safetensors", kind="checkpoint")
    run = evaluate_latest(response.json()["id"])
    assert run.status == "succeeded", run.log
    assert run.progress_done == run.progress_total == 4
    assert set(run.metrics) == {"NME (inter-ocular)", "AUC@10 (inter-ocular)", "FR@10 (inter-ocular)"}


def test_it_fails_a_run_past_its_time_limit_with_a_clear_reason(wflw, alice, monkeypatch):
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    clock = iter([0.0, 0.0] + [10_000.0] * 50)
    monkeypatch.setattr(services.time, "monotonic", lambda: next(clock))
    run = evaluate_latest(response.json()["id"])
    assert run.status == "failed"
    assert f"longer than the {wflw.time_limit_seconds} s time limit of the wflw-demo benchmark" in run.error


def test_it_reruns_and_switches_the_leaderboard_only_on_success(wflw, alice):
    staff = make_user("root", staff=True)
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    first = evaluate_latest(response.json()["id"])
    submission = Submission.objects.get(pk=response.json()["id"])
    before = {v.metric.name: v.raw for v in submission.result.values.select_related("metric")}

    answer = api_client(staff).post(f"/api/v1/benchmarks/{wflw.slug}/rerun/")
    assert answer.status_code == 202 and len(answer.json()["runs"]) == 1
    second = EvaluationRun.objects.get(pk=answer.json()["runs"][0])
    submission.artifact.storage.delete(submission.artifact.name)  # this re-run will fail
    services.evaluate(second.pk, "worker")
    second.refresh_from_db()
    submission.refresh_from_db()
    assert second.status == "failed" and submission.current_run == first
    assert {v.metric.name: v.raw for v in submission.result.values.select_related("metric")} == before
    assert submission.runs.count() == 2


def test_it_reruns_one_submission_from_the_api_and_keeps_the_history(wflw, alice):
    staff = make_user("root", staff=True)
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    first = evaluate_latest(response.json()["id"])
    answer = api_client(staff).post(f"/api/v1/submissions/{first.submission_id}/rerun/")
    assert answer.status_code == 202
    second = evaluate_latest(first.submission_id)
    submission = Submission.objects.get(pk=first.submission_id)
    assert second.status == "succeeded" and submission.current_run == second
    body = api_client(alice).get(f"/api/v1/submissions/{submission.pk}/").json()
    assert [run["id"] for run in body["runs"]] == [second.pk, first.pk]
    assert body["result"]["run"] == second.pk


def test_it_requeues_a_run_whose_worker_vanished_then_gives_up(wflw, alice, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(services, "send", lambda *args: sent.append(args) or True)
    settings.VERIFICATION_MAX_ATTEMPTS = 2
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    run = EvaluationRun.objects.get(submission_id=response.json()["id"])
    later = lambda: services.timezone.now() + services.dt.timedelta(seconds=settings.VERIFICATION_LEASE_SECONDS + 1)

    assert services.claim(run.pk, "lost-1")
    assert services.reap(later()).requeued == 1 and sent[-1][0] == run.pk
    assert services.claim(run.pk, "lost-2")
    assert services.reap(later()).failed == 1
    run.refresh_from_db()
    assert run.status == "failed" and "stopped responding 2 times" in run.error


def test_it_resends_messages_the_broker_lost(wflw, alice, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(services, "send", lambda *args: sent.append(args) or True)
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    run = EvaluationRun.objects.get(submission_id=response.json()["id"])
    now = services.timezone.now() + services.dt.timedelta(seconds=settings.VERIFICATION_RESEND_AFTER_SECONDS + 1)
    assert services.reap(now).resent == 1 and sent == [(run.pk, "cpu", wflw.time_limit_seconds)]
    assert services.reap(now).resent == 0  # re-sent once per period, not on every pass


def test_it_stops_a_cancelled_run_without_publishing(wflw, alice):
    response = post_submission(api_client(alice), wflw, predictions_json(wflw))
    run = EvaluationRun.objects.get(submission_id=response.json()["id"])
    token = services.claim(run.pk, "worker")
    assert api_client(alice).post(f"/api/v1/submissions/{run.submission_id}/cancel/").status_code == 200
    lease = services.Lease(run.pk, token)
    assert lease.renew() is False and lease.lost.is_set()
    run.refresh_from_db()
    assert run.status == "cancelled" and Submission.objects.get(pk=run.submission_id).result is None


def test_it_counts_only_unfailed_submissions_towards_the_daily_limit(wflw, alice):
    wflw.daily_submission_limit = 1
    wflw.save()
    client = api_client(alice)
    first = post_submission(client, wflw, predictions_json(wflw)).json()
    refused = post_submission(client, wflw, predictions_json(wflw, seed=1))
    assert refused.status_code == 429 and "daily limit" in refused.json()["error"]
    EvaluationRun.objects.filter(submission_id=first["id"]).update(status="failed")
    assert post_submission(client, wflw, predictions_json(wflw, seed=1)).status_code == 201


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _bad_inputs(benchmark):
    good = predictions(benchmark)
    ids = list(truth(benchmark).face_ids)
    as_json = lambda d: __import__("json").dumps(d).encode()
    return {
        "wrong format": ("pred.txt", predictions_json(benchmark), "predictions", "use a .json or .csv file"),
        "wrong landmark count": (
            "pred.json", as_json({fid: p[:68].tolist() for fid, p in zip(ids, good)}), "predictions",
            "expected 98 landmarks, got 68",
        ),
        "missing ids": (
            "pred.json", as_json({fid: p.tolist() for fid, p in zip(ids[1:], good[1:])}), "predictions",
            "1 face(s) have no prediction",
        ),
        "unknown ids": (
            "pred.json", as_json({**{fid: p.tolist() for fid, p in zip(ids, good)}, "nobody.jpg#9": good[0].tolist()}),
            "predictions", "unknown face id",
        ),
        "NaN": (
            "pred.json", predictions_json(benchmark, np.where(np.arange(98)[None, :, None] == 3, np.nan, good)),
            "predictions", "NaN or infinite",
        ),
        "empty file": ("pred.json", b"", "predictions", "is empty"),
        "malicious pickle": ("fan.pth", pickle.dumps({"state_dict": Evil()}), "checkpoint", "pickled Python objects"),
        "checkpoint for another layout": (
            "fan.safetensors", checkpoint_bytes(num_landmarks=68), "checkpoint", "68 landmarks, but 98 were expected",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["wrong format", "wrong landmark count", "missing ids", "unknown ids", "NaN", "empty file", "malicious pickle",
     "checkpoint for another layout"],
)
def test_it_refuses_bad_input_with_a_clear_400_and_queues_nothing(wflw, alice, case, capsys, caplog):
    name, data, kind, message = _bad_inputs(wflw)[case]
    response = post_submission(api_client(alice), wflw, data, name=name, kind=kind)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert Submission.objects.count() == 0 and EvaluationRun.objects.count() == 0
    assert "this must never run" not in capsys.readouterr().out
    if case == "malicious pickle":
        assert "Refused a checkpoint carrying pickled code" in caplog.text


def test_it_refuses_an_oversized_upload_before_storing_it(wflw, alice, settings):
    settings.MAX_UPLOAD_BYTES = 2048
    response = post_submission(api_client(alice), wflw, b"x" * 200_000)
    assert response.status_code == 400
    assert "larger than the limit of 2048 bytes (MAX_UPLOAD_BYTES)" in response.json()["error"]
    assert Submission.objects.count() == 0 and EvaluationRun.objects.count() == 0


def test_it_cuts_off_an_upload_that_lies_about_its_length(wflw, alice, settings, rf):
    from leaderboard.verification.uploads import SizeCapUploadHandler

    settings.MAX_UPLOAD_BYTES = 2048
    request = rf.post("/")
    handler = SizeCapUploadHandler(request)
    assert handler.handle_raw_input(None, {}, 1000, b"x") is None
    handler.receive_data_chunk(b"x" * 2000, 0)
    with pytest.raises(Exception, match="StopUpload|"):
        handler.receive_data_chunk(b"x" * 100, 2000)
    assert "larger than the limit" in request.upload_refused

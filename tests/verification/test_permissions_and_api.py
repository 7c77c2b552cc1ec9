"""Who may do what, the public benchmark information, and the web pages."""

import pytest

from leaderboard.verification import services
from leaderboard.verification.models import EvaluationRun, Submission
from tests.verification.conftest import (
    api_client,
    make_user,
    post_submission,
    predictions_json,
)


@pytest.fixture
def world(wflw):
    """owner's public and private submissions, another user, staff."""
    owner, other, staff = make_user("owner"), make_user("other"), make_user("staff", staff=True)
    public = post_submission(api_client(owner), wflw, predictions_json(wflw)).json()["id"]
    private = post_submission(api_client(owner), wflw, predictions_json(wflw, seed=1), private="true").json()["id"]
    return {"owner": owner, "other": other, "staff": staff, "public": public, "private": private, "wflw": wflw}


def client_for(world, who):
    return api_client(None if who == "anonymous" else world[who])


@pytest.mark.parametrize(
    "who, submit, view, view_private, rerun, cancel",
    [
        ("anonymous", 401, 200, 404, 401, 401),
        ("other", 201, 200, 404, 403, 403),
        ("owner", 201, 200, 200, 403, 200),
        ("staff", 201, 200, 200, 202, 200),
    ],
)
def test_it_allows_each_role_exactly_its_actions(world, who, submit, view, view_private, rerun, cancel):
    client = client_for(world, who)
    assert post_submission(client, world["wflw"], predictions_json(world["wflw"], seed=2)).status_code == submit
    assert client.get(f"/api/v1/submissions/{world['public']}/").status_code == view
    assert client.get(f"/api/v1/submissions/{world['private']}/").status_code == view_private
    assert client.post(f"/api/v1/submissions/{world['private']}/cancel/").status_code in {cancel, 404}
    assert client.post(f"/api/v1/submissions/{world['public']}/cancel/").status_code == cancel
    answer = client.post(f"/api/v1/submissions/{world['public']}/rerun/")
    assert answer.status_code == rerun or (rerun == 202 and answer.status_code == 202)
    assert client.post(f"/api/v1/benchmarks/{world['wflw'].slug}/rerun/").status_code == (
        202 if who == "staff" else rerun
    )


def test_it_lists_private_submissions_only_to_their_owner_and_staff(world):
    def listed(who):
        return {item["id"] for item in client_for(world, who).get("/api/v1/submissions/").json()["results"]}

    assert world["private"] not in listed("anonymous") | listed("other")
    assert world["private"] in listed("owner") & listed("staff")


def test_it_hides_private_submission_pages_from_others(world, client):
    assert client.get(f"/submissions/{world['private']}/").status_code == 404
    client.force_login(world["owner"])
    page = client.get(f"/submissions/{world['private']}/")
    assert page.status_code == 200 and b"verification/submission.js" in page.content


def test_it_shows_benchmarks_without_ground_truth(wflw, django_assert_max_num_queries):
    client = api_client()
    listing = client.get("/api/v1/benchmarks/").json()
    assert [b["slug"] for b in listing["results"]] == ["wflw-demo"]
    detail = client.get("/api/v1/benchmarks/wflw-demo/").json()
    assert detail["num_landmarks"] == 98 and detail["metrics"][0] == "NME (inter-ocular)"
    with django_assert_max_num_queries(4):
        faces = client.get("/api/v1/benchmarks/wflw-demo/faces/?items_per_page=2").json()
    assert faces["count"] == 4 and len(faces["results"]) == 2
    face = faces["results"][0]
    assert set(face) == {"face_id", "position", "image_url", "box", "subsets"}
    assert client.get(face["image_url"]).status_code == 200
    assert client.get("/benchmarks/wflw-demo/images/list_98pt_rect_attr_test.txt").status_code == 404


def test_it_lists_submissions_in_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = api_client(world["staff"])
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/submissions/").json()["results"]) == 2


def test_it_lists_verified_submissions_in_a_fixed_number_of_queries(world):
    """A verified submission names its leaderboard: that is read with the list, not once per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(world["staff"])

    def queries_for_the_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            rows = client.get("/api/v1/submissions/").json()["results"]
        public = [row for row in rows if not row["private"]]  # a private one is never on a leaderboard
        assert public and all(row["result"]["leaderboard"] for row in public)
        return len(queries)

    for run in EvaluationRun.objects.all():
        services.evaluate(run.pk, "worker")
    two = queries_for_the_list()
    third = post_submission(api_client(world["other"]), world["wflw"], predictions_json(world["wflw"], seed=3))
    services.evaluate(EvaluationRun.objects.get(submission_id=third.json()["id"]).pk, "worker")
    assert queries_for_the_list() == two


def _run_columns_read(queries) -> set[str]:
    """The heavy run columns (log, ced) that the queries of one request read from the runs table."""
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    return {column for column in ("log", "ced") if f'"verification_evaluationrun"."{column}"' in sql}


def test_the_list_of_submissions_leaves_each_runs_log_and_ced_curve_to_its_submission(world):
    """A page of the list holds 50 submissions with their latest runs: a run's log and its CED curve (1001
    points each way) are read and sent only with the one submission they belong to."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for run in EvaluationRun.objects.all():
        services.evaluate(run.pk, "worker")
    client = api_client(world["owner"])
    with CaptureQueriesContext(connection) as queries:
        rows = client.get("/api/v1/submissions/").json()["results"]
    assert _run_columns_read(queries) == set()
    listed = {row["id"]: row for row in rows}[world["public"]]
    assert listed["status"] == "succeeded" and listed["run"]["metrics"] and "runs" not in listed
    assert not {"log", "ced"} & set(listed["run"])
    detail = client.get(f"/api/v1/submissions/{world['public']}/").json()
    assert detail["run"]["ced"]["x"] and "log" in detail["run"]
    assert {key: value for key, value in detail["run"].items() if key not in ("log", "ced")} == listed["run"]


def test_the_list_shows_each_submission_as_the_summary_serializer_does(world):
    """The list builds its page from rows (api.SubmissionListing); it must say what the serializer says
    of the same submissions, in every state: verified on a leaderboard, re-run, queued, private, runless."""
    import json

    from leaderboard.verification import selectors
    from leaderboard.verification.api import SubmissionSummarySerializer

    services.evaluate(EvaluationRun.objects.get(submission_id=world["public"]).pk, "worker")
    services.rerun([Submission.objects.get(pk=world["public"])], by=world["staff"], reason="again")
    Submission.objects.create(owner=world["other"], benchmark=world["wflw"], kind="predictions", artifact="x.json",
                              original_filename="p.json", sha256="f" * 64, size=0, model_name="Runless")
    listed = api_client(world["staff"]).get("/api/v1/submissions/").json()["results"]
    expected = SubmissionSummarySerializer(
        selectors.with_runs(selectors.visible_submissions(world["staff"])).order_by("-created_at", "-id"), many=True
    ).data
    assert len(listed) == 3 and listed == json.loads(json.dumps(expected))
    by_name = {row["model_name"]: row for row in listed}
    assert by_name["Runless"]["run"] is None and by_name["Runless"]["status"] is None
    verified = next(row for row in listed if row["id"] == world["public"])
    assert verified["result"]["leaderboard"] and verified["run"]["reason"] == "again"  # the re-run, the latest
    assert verified["status"] == "queued" and len(api_client(world["staff"]).get(verified["url"].replace(
        "/submissions/", "/api/v1/submissions/")).json()["runs"]) == 2


def test_the_profile_lists_submissions_without_reading_their_runs_logs_or_curves(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for run in EvaluationRun.objects.all():
        services.evaluate(run.pk, "worker")
    client.force_login(world["owner"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/accounts/profile/").content.decode()
    assert page.count('class="status succeeded"') == 2 and _run_columns_read(queries) == set()


def test_the_profile_pages_through_all_of_a_users_submissions(world, client):
    """Every submission is reachable from the profile, a page of them at a time, the newest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leaderboard.views import PAGE_SIZE

    owner, benchmark = world["owner"], world["wflw"]
    for i in range(PAGE_SIZE + 100):
        Submission.objects.create(owner=owner, benchmark=benchmark, kind="predictions", artifact=f"x/{i}.json",
                                  original_filename="p.json", sha256=f"{i:064x}", size=0, model_name=f"Listed-{i:03}")
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/accounts/profile/").content.decode()
    assert len(queries) <= 6  # the session's user, the token, a count, the page: none per row
    assert first.count("<tr>") - 1 == PAGE_SIZE and "Listed-124" in first and "Listed-099" not in first
    assert 'href="?page=2"' in first
    assert "Listed-000" in client.get("/accounts/profile/?page=5").content.decode()
    last = client.get("/accounts/profile/?page=6").content.decode()  # 127 in all: the world's two come last
    assert last.count("<tr>") - 1 == 2 and f"/submissions/{world['public']}/" in last


def test_a_submission_page_shows_the_current_runs_ced_curve(world, client):
    run = EvaluationRun.objects.get(submission_id=world["public"])
    assert f"/runs/{run.pk}/ced.svg" not in client.get(f"/submissions/{world['public']}/").content.decode()
    services.evaluate(run.pk, "worker")
    page = client.get(f"/submissions/{world['public']}/").content.decode()
    assert f'src="/submissions/{world["public"]}/runs/{run.pk}/ced.svg"' in page
    figure = client.get(f"/submissions/{world['public']}/runs/{run.pk}/ced.svg")
    assert figure.status_code == 200 and figure["Content-Type"] == "image/svg+xml" and b"<svg" in figure.content


def test_it_never_publishes_per_face_errors(world):
    run = EvaluationRun.objects.get(submission_id=world["public"])
    services.evaluate(run.pk, "worker")
    body = api_client().get(f"/api/v1/submissions/{world['public']}/").text
    assert "per_face" not in body and '"status":"succeeded"' in body


def test_it_submits_through_the_web_form(wflw, client):
    user = make_user("web")
    anonymous = client.get("/submit/")
    assert anonymous.status_code == 200 and b"Sign in to submit" in anonymous.content
    client.force_login(user)
    assert client.get("/submit/").status_code == 200
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/submit/", {
        "benchmark": wflw.slug, "kind": "predictions", "model_name": "WebNet",
        "file": SimpleUploadedFile("pred.json", predictions_json(wflw)),
    })
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == submission.get_absolute_url()
    bad = client.post("/submit/", {
        "benchmark": wflw.slug, "kind": "predictions", "model_name": "WebNet",
        "file": SimpleUploadedFile("pred.json", b"{}"),
    })
    assert bad.status_code == 400 and b"have no prediction" in bad.content
    assert Submission.objects.count() == 1


def test_it_shows_the_benchmark_pages(wflw, client):
    assert b"Submit to this benchmark" in client.get("/benchmarks/wflw-demo/").content
    assert b"WFLW demo" in client.get("/benchmarks/").content


def test_it_reads_the_celery_settings_back_from_the_app(settings):
    import workers.tasks  # noqa: F401 - what a worker's autodiscovery imports
    from workers.app import app

    assert app.conf.beat_schedule["reap-runs"]["task"] == "workers.tasks.reap_runs"
    assert "workers.tasks.evaluate_run" in app.tasks and "workers.tasks.reap_runs" in app.tasks
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost and app.conf.worker_prefetch_multiplier == 1


def test_it_refuses_a_time_limit_the_broker_would_outlive(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 100}
    with pytest.raises(ValueError, match="visibility timeout"):
        services.check_time_limit(100)


def test_it_reaps_from_the_management_command(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("reap_runs", stdout=out)
    assert "requeued 0, failed 0" in out.getvalue()

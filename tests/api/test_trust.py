"""Trust: verified results are frozen, rows store their owner, deletes never take other users' rows,
and every write path (API, admin, verification service, import) is in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.importers import Rejects, import_file
from leaderboard.models import (
    Area,
    Dataset,
    Leaderboard,
    LeaderboardMetric,
    Metric,
    Result,
    Task,
)
from leaderboard.verification import services as verification
from leaderboard.verification.models import Benchmark, EvaluationRun, Submission
from tests.api.conftest import BOARD, client_for

pytestmark = pytest.mark.django_db

NME = "NME (inter-ocular)"
NULLS = {"metrics": None, "methodology": None, "uses_additional_data": None, "paper": None,
         "evaluated_on": None, "external_source_url": None, "code_links": None}


def publish(submission: Submission, metrics: dict, by=None) -> Result:
    """The verification service's publish path, as a worker runs it after a successful run."""
    run = EvaluationRun.objects.create(submission=submission, status=EvaluationRun.Status.SUCCEEDED, queue="test",
                                       metrics=metrics, finished_at=timezone.now(), requested_by=by)
    verification.publish(submission, run)
    submission.refresh_from_db()
    return submission.result


@pytest.fixture
def submission(demo, alice):
    board = Leaderboard.objects.get(slug=BOARD)
    benchmark = Benchmark.objects.create(slug="wflw-trust", name="WFLW", format=Benchmark.Format.WFLW,
                                         num_landmarks=98, leaderboard=board, files_dir="wflw-trust")
    return Submission.objects.create(owner=alice, benchmark=benchmark, kind=Submission.Kind.PREDICTIONS,
                                     artifact="submissions/x.json", sha256="0" * 64, size=1, model_name="TrustNet",
                                     code_url="https://github.com/alice/trustnet")


@pytest.fixture
def verified(submission):
    return publish(submission, {NME: "3.10"})


def url(result: Result) -> str:
    return f"/api/v1/evaluations/{BOARD}/results/{result.pk}/"


def values(result: Result) -> dict:
    return {v.metric.name: v.raw for v in Result.objects.get(pk=result.pk).values.select_related("metric")}


# --- defect 1: a verified result is frozen ----------------------------------------------------


def test_the_owner_cannot_rewrite_the_numbers_or_date_of_a_verified_result(verified, alice):
    before = client_for(alice).get(url(verified)).json()
    response = client_for(alice).patch(url(verified), {**NULLS, "metrics": {NME: "0.01"},
                                                       "evaluated_on": "2010-01-01"}, format="json")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert "metrics" in error and "evaluated_on" in error and "re-run" in error
    after = client_for(alice).get(url(verified)).json()
    assert after == before and after["verified"] is True and after["metrics"] == {NME: "3.10"}
    assert not AuditEntry.objects.filter(model="leaderboard.result", action="update", source="api").exists()


@pytest.mark.parametrize("field, value", [("methodology", "Renamed"), ("uses_additional_data", True),
                                          ("paper", "adaptive-wing-loss-for-robust-face-alignment")])
def test_every_frozen_field_is_refused(verified, alice, field, value):
    response = client_for(alice).patch(url(verified), {field: value}, format="json")
    assert response.status_code == 403 and field in response.json()["error"]


def test_the_owner_may_still_edit_the_code_and_source_links(verified, alice):
    body = {**NULLS, "methodology": "TrustNet", "metrics": {NME: "3.10"},  # unchanged frozen values may be sent
            "code_links": ["https://github.com/alice/trustnet-v2"], "external_source_url": "https://alice.example.org"}
    response = client_for(alice).patch(url(verified), body, format="json")
    assert response.status_code == 200, response.content
    result = Result.objects.get(pk=verified.pk)
    assert result.code_links == [{"url": "https://github.com/alice/trustnet-v2", "title": "code"}]
    assert result.external_source_url == "https://alice.example.org" and values(result) == {NME: "3.10"}
    entry = AuditEntry.objects.get(model="leaderboard.result", action="update", source="api")
    assert entry.user == alice and entry.before["code_links"] == [{"url": "https://github.com/alice/trustnet",
                                                                   "title": "code"}]


def test_staff_cannot_patch_the_numbers_either(verified, staff):
    response = client_for(staff).patch(url(verified), {"metrics": {NME: "2.0"}}, format="json")
    assert response.status_code == 403 and values(verified) == {NME: "3.10"}


def test_a_staff_rerun_still_updates_a_verified_result(submission, verified, staff):
    assert publish(submission, {NME: "2.95"}, by=staff).pk == verified.pk
    assert values(verified) == {NME: "2.95"}
    entry = AuditEntry.objects.filter(model="leaderboard.result", object_pk=str(verified.pk)).latest("id")
    assert (entry.action, entry.source, entry.user) == ("update", "service", staff)
    assert entry.before["metric_values"] == {NME: "3.10"} and entry.after["metric_values"] == {NME: "2.95"}


def test_synchronize_cannot_overwrite_a_verified_result(verified, alice):
    Result.objects.filter(pk=verified.pk).update(external_id="trust-1")
    body = {"task": "face-alignment", "dataset": "wflw", "metrics": [{"name": NME, "is_loss": True}],
            "results": [{"metrics": {NME: "0.01"}, "methodology": "TrustNet", "external_id": "trust-1",
                         "evaluated_on": "2010-01-01"}]}
    response = client_for(alice).post("/api/v1/rpc/evaluation-synchronize/", body, format="json")
    assert response.status_code == 403, response.content
    result = Result.objects.get(pk=verified.pk)
    assert values(result) == {NME: "3.10"} and result.evaluated_on != "2010-01-01"
    assert result.provenance == Result.Provenance.VERIFIED


def test_only_staff_delete_a_verified_result_and_the_deletion_is_kept(submission, verified, alice, staff):
    refused = client_for(alice).delete(url(verified))
    assert refused.status_code == 403 and "staff" in refused.json()["error"]
    assert Result.objects.filter(pk=verified.pk).exists()
    assert client_for(staff).delete(url(verified)).status_code == 204
    assert not Result.objects.filter(pk=verified.pk).exists()
    entry = AuditEntry.objects.get(model="leaderboard.result", object_pk=str(verified.pk), action="delete")
    assert entry.user == staff and entry.before["metric_values"] == {NME: "3.10"}
    assert entry.before["provenance"] == "verified"
    audit.revert(entry, by=staff)
    assert Result.objects.get(pk=verified.pk).provenance == Result.Provenance.VERIFIED
    assert client_for(staff).get(url(verified)).json()["verified"] is True  # back in its table
    submission.refresh_from_db()
    assert submission.result_id == verified.pk


def test_the_admin_shows_a_verified_results_frozen_fields_read_only(verified, staff, client):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get(f"/admin/leaderboard/result/{verified.pk}/change/").content.decode()
    assert 'name="model_name"' not in page and 'name="evaluated_on"' not in page
    assert 'name="values-0-raw"' not in page and "3.10" in page  # the values inline is read-only
    archived = Result.objects.exclude(provenance=Result.Provenance.VERIFIED).first()
    page = client.get(f"/admin/leaderboard/result/{archived.pk}/change/").content.decode()
    assert 'name="model_name"' in page and 'name="values-0-raw"' in page
    assert 'name="code_links"' in page


# --- defect 3: a delete never takes other users' rows -----------------------------------------


@pytest.fixture
def shared(alice, bob):
    """Alice's task, dataset, table and metric; Bob's result in her table."""
    Task.objects.create(name="Face Alignment", slug="face-alignment")
    api = client_for(alice)
    task = api.post("/api/v1/tasks/", {"name": "Alice Task"}, format="json").json()["id"]
    dataset = api.post("/api/v1/datasets/", {"name": "Alice Faces"}, format="json").json()["id"]
    board = api.post("/api/v1/evaluations/", {"task": task, "dataset": dataset}, format="json").json()["id"]
    metric = api.post(f"/api/v1/evaluations/{board}/metrics/", {"name": "Alice NME", "is_loss": True},
                      format="json").json()["id"]
    row = client_for(bob).post(f"/api/v1/evaluations/{board}/results/", {
        "metrics": {"Alice NME": "4.2"}, "methodology": "Bob Net"}, format="json")
    assert row.status_code == 201, row.content
    return {"task": task, "dataset": dataset, "board": board, "metric": metric, "result": int(row.json()["id"])}


@pytest.mark.parametrize("what, path", [("dataset", "/api/v1/datasets/{dataset}/"),
                                        ("task", "/api/v1/tasks/{task}/"),
                                        ("evaluation table", "/api/v1/evaluations/{board}/"),
                                        ("metric column", "/api/v1/evaluations/{board}/metrics/{metric}/")])
def test_deleting_what_other_users_results_depend_on_is_refused(shared, alice, what, path):
    response = client_for(alice).delete(path.format(**shared))
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert "1 result by other users" in error and "Bob Net on Alice Faces" in error and "by bob" in error
    assert "ask staff" in error
    assert Result.objects.filter(pk=shared["result"]).exists()
    assert Dataset.objects.filter(slug=shared["dataset"]).exists()
    assert LeaderboardMetric.objects.filter(leaderboard__slug=shared["board"], metric_id=shared["metric"]).exists()
    assert not AuditEntry.objects.filter(action="delete").exists()


def test_deleting_what_only_you_depend_on_works_and_reverts(alice, staff):
    api = client_for(alice)
    dataset = api.post("/api/v1/datasets/", {"name": "Mine Only"}, format="json").json()["id"]
    task = api.post("/api/v1/tasks/", {"name": "My Task"}, format="json").json()["id"]
    board = api.post("/api/v1/evaluations/", {"task": task, "dataset": dataset}, format="json").json()["id"]
    row = api.post(f"/api/v1/evaluations/{board}/results/", {"metrics": {"My NME": "4.0"}, "methodology": "Me"},
                   format="json").json()["id"]
    assert api.delete(f"/api/v1/datasets/{dataset}/").status_code == 204
    assert not Result.objects.filter(pk=row).exists()
    for entry in AuditEntry.objects.filter(action="delete").order_by("-id"):  # newest first, as the admin does
        audit.revert(entry, by=staff)
    assert Dataset.objects.filter(slug=dataset, created_by=alice).exists()
    assert Leaderboard.objects.filter(slug=board, created_by=alice).exists()
    assert values(Result.objects.get(pk=row)) == {"My NME": "4.0"}
    assert api.get(f"/api/v1/evaluations/{board}/results/{row}/").json()["methodology"] == "Me"


def test_staff_may_delete_a_shared_dataset_and_every_row_it_takes_is_logged(shared, staff):
    assert client_for(staff).delete(f"/api/v1/datasets/{shared['dataset']}/").status_code == 204
    deleted = set(AuditEntry.objects.filter(action="delete").values_list("model", "object_pk"))
    assert ("leaderboard.result", str(shared["result"])) in deleted
    assert {model for model, _ in deleted} == {"leaderboard.result", "leaderboard.leaderboard", "leaderboard.dataset"}


def test_archive_rows_are_staff_only(demo, alice):
    response = client_for(alice).delete("/api/v1/datasets/wflw/")
    assert response.status_code == 403 and Dataset.objects.filter(slug="wflw").exists()


# --- ownership is stored on the rows ----------------------------------------------------------


def test_every_row_a_user_creates_stores_its_owner(shared, alice, bob):
    board = Leaderboard.objects.get(slug=shared["board"])
    assert Task.objects.get(slug=shared["task"]).created_by == alice
    assert Dataset.objects.get(slug=shared["dataset"]).created_by == alice
    assert board.created_by == alice
    assert Metric.objects.get(name="Alice NME").created_by == alice
    assert LeaderboardMetric.objects.get(leaderboard=board, metric__name="Alice NME").created_by == alice
    assert Result.objects.get(pk=shared["result"]).created_by == bob
    # A result's new metric adds a column (and a metric) that belong to its author.
    client_for(bob).post(f"/api/v1/evaluations/{board.slug}/results/", {
        "metrics": {"Bob AUC": "55"}, "methodology": "Bob Net 2"}, format="json")
    assert LeaderboardMetric.objects.get(leaderboard=board, metric__name="Bob AUC").created_by == bob
    assert Metric.objects.get(name="Bob AUC").created_by == bob
    assert AuditEntry.objects.filter(model="leaderboard.leaderboardmetric", action="create", user=bob).exists()
    client_for(bob).patch(f"/api/v1/evaluations/{board.slug}/results/{shared['result']}/", {
        "metrics": {"Bob FR": "1.5"}}, format="json")
    assert LeaderboardMetric.objects.get(leaderboard=board, metric__name="Bob FR").created_by == bob


def test_synchronize_stores_the_owner_of_the_dataset_it_creates(alice):
    Task.objects.create(name="Face Alignment", slug="face-alignment")
    body = {"task": "face-alignment", "dataset": "Synced Faces", "metrics": [], "results": []}
    assert client_for(alice).post("/api/v1/rpc/evaluation-synchronize/", body, format="json").status_code == 200
    dataset = Dataset.objects.get(name="Synced Faces")
    assert dataset.created_by == alice
    assert Leaderboard.objects.get(dataset=dataset).created_by == alice
    assert AuditEntry.objects.filter(model="leaderboard.dataset", action="create", user=alice).exists()


def test_permissions_read_the_stored_owner_not_the_audit_log(shared, alice, bob):
    AuditEntry.objects.all().delete()
    assert client_for(alice).patch(f"/api/v1/tasks/{shared['task']}/", {"description": "x"},
                                   format="json").status_code == 200
    Task.objects.filter(slug=shared["task"]).update(created_by=bob)
    assert client_for(alice).patch(f"/api/v1/tasks/{shared['task']}/", {"description": "y"},
                                   format="json").status_code == 403


# --- every write path is audited ----------------------------------------------------------------


def test_admin_changes_and_deletes_are_audited_with_the_user(db, staff, client):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    area = Area.objects.create(name="Vision", slug="vision")
    response = client.post(f"/admin/leaderboard/area/{area.pk}/change/", {"name": "Computer Vision",
                                                                           "slug": "vision"})
    assert response.status_code == 302, response.content
    entry = AuditEntry.objects.get(model="leaderboard.area", action="update")
    assert (entry.user, entry.source) == (staff, "admin")
    assert entry.before["name"] == "Vision" and entry.after["name"] == "Computer Vision"
    added = client.post("/admin/leaderboard/area/add/", {"name": "Robotics", "slug": "robotics"})
    assert added.status_code == 302
    assert AuditEntry.objects.filter(model="leaderboard.area", action="create", source="admin").exists()
    task = Task.objects.create(name="Doomed", slug="doomed")
    client.post("/admin/leaderboard/task/", {"action": "delete_selected", "_selected_action": [task.pk],
                                             "post": "yes"})
    assert not Task.objects.filter(pk=task.pk).exists()
    entry = AuditEntry.objects.get(model="leaderboard.task", action="delete")
    assert (entry.user, entry.source, entry.before["name"]) == (staff, "admin", "Doomed")


def test_an_import_is_one_audit_entry_per_file(db, tmp_path):
    path = Path(__file__).resolve().parents[1] / "importers" / "data" / "coqa.json"
    stats = import_file(path, "evaluation-tables", rejects=Rejects(tmp_path / "rejects.jsonl"))
    assert stats.created
    entries = list(AuditEntry.objects.all())
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.source, entry.object_pk) == ("import", "import", "evaluation-tables")
    assert entry.after["file"].endswith("coqa.json")
    assert entry.after["created"] == stats.created and entry.after["read"] == stats.read
    with pytest.raises(Exception, match="cannot be reverted"):
        audit.revert(entry)


def test_verification_admin_actions_are_audited(submission, staff, client):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    response = client.post("/admin/verification/submission/", {"action": "rerun", "_selected_action": [submission.pk]})
    assert response.status_code == 302
    run = EvaluationRun.objects.get(submission=submission)
    created = AuditEntry.objects.get(model="verification.evaluationrun", action="create")
    assert (created.user, created.source, created.object_pk) == (staff, "admin", str(run.pk))
    client.post("/admin/verification/evaluationrun/", {"action": "cancel", "_selected_action": [run.pk]})
    cancelled = AuditEntry.objects.get(model="verification.evaluationrun", action="update")
    assert cancelled.before["status"] == "queued" and cancelled.after["status"] == "cancelled"

"""Write endpoints: the client's bodies (nulls mean unset), idempotent sync, the audit log and revert."""

from __future__ import annotations

import pytest

from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.models import Metric, Result, Task
from tests.api.conftest import AWING, BOARD, client_for

pytestmark = pytest.mark.django_db


def test_it_creates_and_patches_a_task_ignoring_nulls(demo, alice):
    api = client_for(alice)
    body = {"name": "Landmark Tracking", "description": "Track landmarks.", "area": "Computer Vision",
            "parent_task": "face-alignment"}
    created = api.post("/api/v1/tasks/", body, format="json")
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    patched = api.patch(f"/api/v1/tasks/{task_id}/", {"name": None, "description": "New.", "area": None,
                                                      "parent_task": None}, format="json")
    assert patched.json() == {"id": task_id, "name": "Landmark Tracking", "description": "New."}
    task = Task.objects.get(slug=task_id)
    assert task.parents.filter(slug="face-alignment").exists() and task.areas.filter(slug="computer-vision").exists()


def test_it_refuses_a_duplicate_name_with_a_409_that_names_the_existing_task(demo, alice):
    response = client_for(alice).post("/api/v1/tasks/", {"name": "Face Alignment", "description": "",
                                                          "area": None, "parent_task": None}, format="json")
    assert response.status_code == 409
    assert "existing task “Face Alignment” (id “face-alignment”)" in response.json()["error"]


def test_it_adds_metrics_and_results_to_a_new_table(demo, alice):
    api = client_for(alice)
    dataset = api.post("/api/v1/datasets/", {"name": "Tiny Faces", "full_name": None, "url": None}, format="json").json()
    table = api.post("/api/v1/evaluations/", {"task": "face-alignment", "dataset": dataset["id"], "description": "",
                                              "mirror_url": None}, format="json").json()
    assert table["id"] == "face-alignment-on-tiny-faces"
    metric = api.post(f"/api/v1/evaluations/{table['id']}/metrics/", {"name": "Tiny NME", "description": "",
                                                                      "is_loss": True}, format="json").json()
    assert metric["is_loss"] is True
    result = api.post(f"/api/v1/evaluations/{table['id']}/results/", {
        "metrics": {"Tiny NME": "4.1"}, "methodology": "Mine", "uses_additional_data": False,
        "paper": "https://arxiv.org/abs/1904.07399v3", "evaluated_on": "2024-01-02", "external_source_url": None,
    }, format="json")
    assert result.status_code == 201, result.content
    row = result.json()
    assert row["paper"] == AWING and row["best_rank"] == 1 and row["provenance"] == "self_reported"
    patched = client_for(alice).patch(f"/api/v1/evaluations/{table['id']}/results/{row['id']}/", {
        "metrics": {"Tiny NME": "3.9"}, "methodology": None, "uses_additional_data": None, "paper": None,
        "evaluated_on": None, "external_source_url": None}, format="json").json()
    assert patched["metrics"] == {"Tiny NME": "3.9"} and patched["methodology"] == "Mine" and patched["paper"] == AWING


def test_it_reports_an_unknown_paper_reference(demo, alice):
    response = client_for(alice).post(f"/api/v1/evaluations/{BOARD}/results/", {
        "metrics": {"NME (inter-ocular)": "1.0"}, "methodology": "X", "uses_additional_data": False,
        "paper": "no-such-paper", "evaluated_on": None, "external_source_url": None}, format="json")
    assert response.status_code == 400 and "paper" in response.json()["error"]
    assert not Result.objects.filter(model_name="X").exists()


def test_it_refuses_to_flip_a_shared_metric_direction(demo, alice):
    response = client_for(alice).post(f"/api/v1/evaluations/{BOARD}/metrics/", {
        "name": "NME (inter-ocular)", "description": "", "is_loss": False}, format="json")
    assert response.status_code == 400 and "is_loss" in response.json()["error"]
    assert Metric.objects.get(name="NME (inter-ocular)").is_loss


SYNC = {
    "task": "Face Alignment", "dataset": "Competition Faces", "description": "mirrored", "mirror_url": None,
    "external_id": None,
    "metrics": [{"name": "Comp NME", "description": "", "is_loss": True},
                {"name": "Comp AUC", "description": "", "is_loss": False}],
    "results": [
        {"metrics": {"Comp NME": "4.0", "Comp AUC": "60"}, "methodology": "Entry A", "paper": "",
         "uses_additional_data": False, "external_id": "comp-1", "evaluated_on": "2020-11-20",
         "external_source_url": "https://comp.example.org/1"},
        {"metrics": {"Comp NME": "3.5", "Comp AUC": "62"}, "methodology": "Entry B", "paper": "",
         "uses_additional_data": False, "external_id": "comp-2", "evaluated_on": "2020-11-21",
         "external_source_url": None},
    ],
}


def test_sync_is_idempotent_and_merges_by_external_id(demo, alice):
    api = client_for(alice)
    first = api.post("/api/v1/rpc/evaluation-synchronize/", SYNC, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["id"] == "face-alignment-on-competition-faces"
    assert [m["name"] for m in body["metrics"]] == ["Comp NME", "Comp AUC"]
    entries = AuditEntry.objects.count()
    again = api.post("/api/v1/rpc/evaluation-synchronize/", SYNC, format="json").json()
    assert [r["id"] for r in again["results"]] == [r["id"] for r in body["results"]]
    assert Result.objects.filter(external_id__startswith="comp-").count() == 2
    assert AuditEntry.objects.count() == entries, "a repeated sync writes nothing"
    changed = {**SYNC, "results": [{**SYNC["results"][0], "metrics": {"Comp NME": "3.0", "Comp AUC": "61"}}]}
    merged = api.post("/api/v1/rpc/evaluation-synchronize/", changed, format="json").json()
    assert merged["results"][0]["metrics"] == {"Comp NME": "3.0", "Comp AUC": "61"}
    sota = api.get(f"/api/v1/evaluations/{body['id']}/sota/").json()
    assert [row["methodology"] for row in sota["rows"]] == ["Entry A", "Entry B"]


def test_sync_refuses_to_merge_into_someone_elses_result(demo, alice, bob):
    client_for(alice).post("/api/v1/rpc/evaluation-synchronize/", SYNC, format="json")
    changed = {**SYNC, "results": [{**SYNC["results"][0], "methodology": "Hijacked"}]}
    response = client_for(bob).post("/api/v1/rpc/evaluation-synchronize/", changed, format="json")
    assert response.status_code == 403
    assert not Result.objects.filter(model_name="Hijacked").exists()


def test_sync_needs_an_existing_task(demo, alice):
    response = client_for(alice).post("/api/v1/rpc/evaluation-synchronize/", {**SYNC, "task": "No Such Task"},
                                      format="json")
    assert response.status_code == 400 and "No Such Task" in response.json()["error"]


def test_every_write_is_audited_with_before_and_after(demo, alice):
    api = client_for(alice)
    task_id = api.post("/api/v1/tasks/", {"name": "Audited", "description": "one", "area": None,
                                          "parent_task": None}, format="json").json()["id"]
    api.patch(f"/api/v1/tasks/{task_id}/", {"description": "two"}, format="json")
    api.delete(f"/api/v1/tasks/{task_id}/")
    entries = list(AuditEntry.objects.filter(model="leaderboard.task").order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert all(e.user == alice for e in entries)
    assert entries[1].before["description"] == "one" and entries[1].after["description"] == "two"
    assert entries[2].before["name"] == "Audited" and entries[2].after is None


def test_staff_can_revert_vandalism_from_the_audit_log(demo, alice, staff):
    api = client_for(alice)
    row = api.post(f"/api/v1/evaluations/{BOARD}/results/", {
        "metrics": {"NME (inter-ocular)": "3.0"}, "methodology": "Honest", "uses_additional_data": False,
        "paper": None, "evaluated_on": None, "external_source_url": None}, format="json").json()
    api.patch(f"/api/v1/evaluations/{BOARD}/results/{row['id']}/", {"metrics": {"NME (inter-ocular)": "0.01"},
                                                                   "methodology": "Vandal"}, format="json")
    vandalism = AuditEntry.objects.filter(model="leaderboard.result", action="update").latest("id")
    audit.revert(vandalism, by=staff)
    result = Result.objects.get(pk=row["id"])
    assert result.model_name == "Honest"
    assert {v.metric.name: v.raw for v in result.values.all()} == {"NME (inter-ocular)": "3.0"}
    deleted = api.delete(f"/api/v1/evaluations/{BOARD}/results/{row['id']}/")
    assert deleted.status_code == 204
    audit.revert(AuditEntry.objects.filter(action="delete").latest("id"), by=staff)
    assert Result.objects.filter(pk=row["id"], model_name="Honest").exists()


def test_the_admin_reverts_selected_entries(demo, alice, staff, client):
    client_for(alice).post("/api/v1/tasks/", {"name": "Spam Task", "description": "", "area": None,
                                              "parent_task": None}, format="json")
    entry = AuditEntry.objects.get(model="leaderboard.task", action="create")
    client.force_login(staff)
    staff.is_superuser = True
    staff.save()
    response = client.post("/admin/audit/auditentry/", {"action": "revert_entries", "_selected_action": [entry.pk]})
    assert response.status_code == 302
    assert not Task.objects.filter(name="Spam Task").exists()
    entry.refresh_from_db()
    assert entry.reverted_by == staff


def test_it_answers_400_not_500_on_malformed_bodies(demo, alice):
    api = client_for(alice)
    for url, body in (
        ("/api/v1/tasks/", [1, 2]),
        ("/api/v1/tasks/", {"name": "x" * 400}),
        (f"/api/v1/evaluations/{BOARD}/results/", {"metrics": {"A": {"nested": 1}}, "methodology": "m"}),
        (f"/api/v1/evaluations/{BOARD}/results/", {"metrics": {}, "methodology": "m"}),
        ("/api/v1/rpc/evaluation-synchronize/", {"task": "Face Alignment", "dataset": "D", "results": "nope"}),
        ("/api/v1/datasets/", {"name": "N\x00ul"}),
    ):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert response.json()["error"]
    response = api.generic("POST", "/api/v1/tasks/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]


def test_a_write_expires_the_cached_sota_table(demo, alice, anon, django_capture_on_commit_callbacks):
    url = f"/api/v1/evaluations/{BOARD}/sota/?items_per_page=500"
    before = anon.get(url).json()
    assert anon.get(url).json() == before  # served again, from the cache
    with django_capture_on_commit_callbacks(execute=True):
        created = client_for(alice).post(f"/api/v1/evaluations/{BOARD}/results/", {
            "metrics": {"NME (inter-ocular)": "0.5"}, "methodology": "Fresh", "uses_additional_data": False,
            "paper": None, "evaluated_on": None, "external_source_url": None}, format="json")
    assert created.status_code == 201
    after = anon.get(url).json()
    assert after["count"] == before["count"] + 1 and after["rows"][0]["methodology"] == "Fresh"

"""Permission matrix: anonymous, another user, the owner and staff × every write endpoint.

Anyone signed in may add; changing or deleting is for the creator (the
row's created_by) and for staff.
"""

from __future__ import annotations

import pytest

from leaderboard import services
from tests.api.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

RESULT_BODY = {"metrics": {"Owned NME": "4.0"}, "methodology": "Owned", "uses_additional_data": False,
               "paper": None, "evaluated_on": None, "external_source_url": None}


@pytest.fixture
def world(alice):
    """Objects alice (the owner) created through the API, beside one archive task."""
    services.task_named("Face Alignment")
    api = client_for(alice)
    task = api.post("/api/v1/tasks/", {"name": "Owned Task", "description": "", "area": None, "parent_task": None},
                    format="json").json()["id"]
    dataset = api.post("/api/v1/datasets/", {"name": "Owned Data", "full_name": None, "url": None},
                       format="json").json()["id"]
    board = api.post("/api/v1/evaluations/", {"task": task, "dataset": dataset, "description": "", "mirror_url": None},
                     format="json").json()["id"]
    metric = api.post(f"/api/v1/evaluations/{board}/metrics/", {"name": "Owned NME", "description": "",
                                                                "is_loss": True}, format="json").json()["id"]
    result = api.post(f"/api/v1/evaluations/{board}/results/", RESULT_BODY, format="json").json()["id"]
    return {"task": task, "dataset": dataset, "board": board, "metric": metric, "result": result}


# (name, method, url template, body)
CHANGES = [
    ("task patch", "patch", "/api/v1/tasks/{task}/", {"description": "changed"}),
    ("task delete", "delete", "/api/v1/tasks/{task}/", None),
    ("dataset patch", "patch", "/api/v1/datasets/{dataset}/", {"url": "https://example.org/data"}),
    ("dataset delete", "delete", "/api/v1/datasets/{dataset}/", None),
    ("evaluation patch", "patch", "/api/v1/evaluations/{board}/", {"description": "changed"}),
    ("evaluation delete", "delete", "/api/v1/evaluations/{board}/", None),
    ("metric patch", "patch", "/api/v1/evaluations/{board}/metrics/{metric}/", {"description": "changed"}),
    ("metric delete", "delete", "/api/v1/evaluations/{board}/metrics/{metric}/", None),
    ("result patch", "patch", "/api/v1/evaluations/{board}/results/{result}/", {"methodology": "changed"}),
    ("result delete", "delete", "/api/v1/evaluations/{board}/results/{result}/", None),
]
CREATES = [
    ("task create", "/api/v1/tasks/", {"name": "New Task", "description": "", "area": None, "parent_task": None}),
    ("dataset create", "/api/v1/datasets/", {"name": "New Data", "full_name": None, "url": None}),
    ("evaluation create", "/api/v1/evaluations/", {"task": "face-alignment", "dataset": "{dataset}",
                                                   "description": "", "mirror_url": None}),
    ("metric create", "/api/v1/evaluations/{board}/metrics/", {"name": "Extra", "description": "", "is_loss": False}),
    ("result create", "/api/v1/evaluations/{board}/results/", RESULT_BODY),
    ("sync", "/api/v1/rpc/evaluation-synchronize/", {"task": "face-alignment", "dataset": "{dataset}",
                                                     "metrics": [], "results": []}),
]
OK = {"patch": 200, "delete": 204}


def _caller(role, alice):
    if role == "anonymous":
        return client_for(None)
    if role == "owner":
        return client_for(alice)
    return client_for(make_user("stan", staff=True) if role == "staff" else make_user("mallory"))


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    return value


@pytest.mark.parametrize("role, expected", [("anonymous", 401), ("user", 403), ("owner", None), ("staff", None)])
@pytest.mark.parametrize("name, method, url, body", CHANGES, ids=[c[0] for c in CHANGES])
def test_change_permissions(world, alice, role, expected, name, method, url, body):
    response = getattr(_caller(role, alice), method)(_fill(url, world), body, format="json")
    assert response.status_code == (expected or OK[method]), response.content
    if expected:
        assert response.json()["error"]


@pytest.mark.parametrize("role, expected", [("anonymous", 401), ("user", None), ("owner", None), ("staff", None)])
@pytest.mark.parametrize("name, url, body", CREATES, ids=[c[0] for c in CREATES])
def test_create_permissions(world, alice, role, expected, name, url, body):
    response = _caller(role, alice).post(_fill(url, world), _fill(body, world), format="json")
    assert response.status_code == (expected or (200 if name == "sync" else 201)), response.content


def test_archive_results_are_staff_only(demo, alice, staff):
    from leaderboard.models import Result

    archived = Result.objects.filter(dataset__slug="wflw", created_by=None).first()
    url = f"/api/v1/evaluations/face-alignment-on-wflw/results/{archived.pk}/"
    assert client_for(alice).patch(url, {"methodology": "Mine now"}, format="json").status_code == 403
    assert client_for(staff).patch(url, {"methodology": "Fixed"}, format="json").status_code == 200

"""The write services called directly, with no HTTP: they apply the rules, log the change and raise domain errors."""

import ast
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from leaderboard import writes
from leaderboard.audit.models import AuditEntry
from leaderboard.errors import Conflict, Invalid, Missing, NotAllowed
from leaderboard.models import Dataset, Leaderboard, Metric, Task

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.org", None)


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.org", None)


def actor(user) -> writes.Actor:
    return writes.Actor(user, source=AuditEntry.Source.SERVICE)


def test_a_created_dataset_is_the_actors_and_its_creation_is_logged_with_the_source(demo, alice):
    dataset = writes.create_dataset(actor(alice), {"name": "Menpo 2D", "url": "https://example.org/menpo"})
    assert dataset.created_by == alice and dataset.homepage == "https://example.org/menpo"
    entry = AuditEntry.objects.filter(model="leaderboard.dataset", object_pk=str(dataset.pk), action=AuditEntry.Action.CREATE).get()
    assert entry.user == alice and entry.source == AuditEntry.Source.SERVICE


@pytest.mark.parametrize("name", ["wflw", "W-FLW", " WF LW "])
def test_a_dataset_named_as_a_case_or_spacing_variant_of_another_is_a_conflict(demo, alice, name):
    with pytest.raises(Conflict) as refused:
        writes.create_dataset(actor(alice), {"name": name})
    assert refused.value.field == "name"
    assert "the existing dataset “WFLW”" in refused.value.message
    assert not Dataset.objects.filter(created_by=alice).exists()


def test_a_stranger_may_not_update_someone_elses_task(demo, alice, bob):
    task = writes.create_task(actor(alice), {"name": "Face Landmark Tracking"})
    with pytest.raises(NotAllowed) as refused:
        writes.update_task(actor(bob), task, {"description": "mine now"})
    assert refused.value.message.startswith("Only the user who created this task")
    task.refresh_from_db()
    assert task.description == ""


def test_a_task_may_be_renamed_in_another_case_but_not_to_a_variant_of_another_task(demo, alice):
    task = writes.create_task(actor(alice), {"name": "Face Landmark Tracking"})
    other = Task.objects.exclude(pk=task.pk).first()
    with pytest.raises(Conflict) as refused:
        writes.update_task(actor(alice), task, {"name": other.name.upper()})
    assert refused.value.field == "name" and f"(id “{other.slug}”)" in refused.value.message
    writes.update_task(actor(alice), task, {"name": "face landmark tracking"})
    task.refresh_from_db()
    assert task.name == "face landmark tracking"


def test_an_update_leaves_the_fields_it_sets_to_none_unchanged(demo, alice):
    task = writes.create_task(actor(alice), {"name": "Face Landmark Tracking", "description": "tracking"})
    writes.update_task(actor(alice), task, {"name": None, "description": None})
    task.refresh_from_db()
    assert (task.name, task.description) == ("Face Landmark Tracking", "tracking")


def test_an_unknown_task_name_is_invalid_input_naming_the_field(demo, alice):
    dataset = Dataset.objects.get(name="WFLW")
    with pytest.raises(Invalid) as refused:
        writes.create_evaluation(actor(alice), {"task": "No Such Task", "dataset": dataset.slug})
    assert refused.value.field == "task"
    assert refused.value.message == (
        "No task with the id or name “No Such Task”; create it first (POST /api/v1/tasks/)."
    )


def test_a_task_cannot_be_its_own_parent(demo, alice):
    task = writes.create_task(actor(alice), {"name": "Face Landmark Tracking"})
    with pytest.raises(Invalid) as refused:
        writes.update_task(actor(alice), task, {"parent_task": task.slug})
    assert refused.value.field == "parent_task"


def test_removing_a_metric_that_is_not_a_column_of_the_table_is_missing(demo):
    staff = get_user_model().objects.create_user("stella", "stella@example.org", None, is_staff=True)
    board = Leaderboard.objects.filter(dataset__name="WFLW").first()
    metric = Metric.objects.create(name="Not a column here")
    with pytest.raises(Missing) as refused:
        writes.remove_metric(actor(staff), board, metric)
    assert refused.value.message == f"The metric {metric.pk} is not a column of “{board.slug}”."


def test_the_synchronisation_creates_the_table_once(demo, alice):
    task = Task.objects.filter(leaderboards__dataset__name="WFLW").first()
    data = {
        "task": task.name,
        "dataset": "Menpo 2D",
        "metrics": [{"name": "NME", "is_loss": True}],
        "results": [{"methodology": "AWing", "metrics": {"NME": "1.5"}, "external_id": "menpo-awing"}],
    }
    board, rows = writes.synchronize(actor(alice), data)
    again, same = writes.synchronize(actor(alice), data)
    assert again == board and [r.pk for r in same] == [r.pk for r in rows]
    assert board.created_by == alice and rows[0].created_by == alice


def _imports(path: Path) -> set[str]:
    """The modules a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _source(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _reached(start: str) -> set[str]:
    """Every module that `start`, or a project module it reaches, imports."""
    seen, todo, reached = set(), [start], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _source(module)
        if path is None:
            continue
        for name in _imports(path):
            reached.add(name)
            if name.startswith("leaderboard."):
                todo.append(name)
    return reached


def _http(modules: set[str]) -> list[str]:
    return sorted(n for n in modules if n.split(".")[0] == "rest_framework" or n.startswith("leaderboard.api"))


def test_the_write_services_import_no_http_layer():
    """Neither leaderboard.writes nor any project module it reaches imports rest_framework or the API package."""
    reached = _reached("leaderboard.writes")
    assert "leaderboard.services" in reached and "leaderboard.ownership" in reached
    assert _http(reached) == []
    assert "rest_framework.response" in _http(_reached("leaderboard.api.table_parts"))  # the check sees them

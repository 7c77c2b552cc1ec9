"""Parity: one table of rows gives the same rows through the importer, the services and the API sync.

Each example starts from the same small world, runs the rows through the importer
and snapshots what it wrote (datasets, aliases and their extra flags, tasks,
models, papers, results, category listings, exact numbers), rolls back, runs the
same rows through another path, and compares. Names vary in case, spacing,
hyphens, underscores, Unicode form and "(Extra Data)" listings.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard import services
from leaderboard.importers import Rejects, import_records
from leaderboard.models import (
    Dataset,
    DatasetAlias,
    Leaderboard,
    MetricValue,
    Model,
    Paper,
    Result,
    ResultTask,
    Task,
    TaskAlias,
)
from leaderboard.rules.names import extra_data_base
from tests.api.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

AWING_URL = "https://arxiv.org/abs/1904.07399v3"
AWING_TITLE = "Adaptive Wing Loss for Robust Face Alignment"
DATE = "2020-01-01"


@pytest.fixture
def world(db):
    """A task under a category, two datasets (one with an extra-data alias), a paper with a model."""
    services.add_task_parents(services.task_named("Face Alignment"), [services.task_named("Facial Analysis")])
    services.dataset_named("WFLW")
    services.dataset_named("300W")
    services.add_dataset_alias(Dataset.objects.get(name="300W"), "300-W (Extra Data)", True)
    paper = services.save_paper(title=AWING_TITLE, arxiv_id="1904.07399", url_abs="https://arxiv.org/abs/1904.07399")
    services.model_for(paper, "AWing")
    return make_user("syncer")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@st.composite
def spelling(draw, base: str) -> str:
    """`base` in another case, with other separators between its parts, or in full-width letters."""
    case = draw(st.sampled_from([str, str.lower, str.upper, str.title]))
    separator = draw(st.sampled_from([None, " ", "  ", "-", "_", ""]))
    text = case(base)
    if separator is not None:
        text = separator.join(text.replace("-", " ").split(" "))
    if draw(st.booleans()) and draw(st.booleans()):
        text = _fullwidth(text)
    return text.strip() or base


# Any other name: letters, digits, spaces and dashes of any script (stripped, as the API strips).
ANY_NAME = (
    st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs", "Pd", "Pc"]), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)


@st.composite
def listing(draw) -> str:
    base = draw(st.sampled_from(["WFLW", "300W", "COFW-68", "Menpo 2D", "Straße Faces"]) | ANY_NAME)
    name = draw(spelling(base))
    extra = draw(st.sampled_from(["", "", " (Extra Data)", " (extra data)", " (with extra training data)"]))
    return name + extra


VALUES = st.sampled_from(["3.72", "63.81%", "1,234.5", "0.5 ± 0.1", 4.25, 7, "91.2 (val)"])


@st.composite
def table_rows(draw) -> list[dict]:
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        model = draw(st.sampled_from(["AWing", "awing", "AWING", "HRNet", "hrnet", "Straße Net", "STRASSE NET"]) | ANY_NAME)
        paper = draw(st.sampled_from(["awing", "none", "new"]))
        rows.append(
            {
                "model": model,
                "paper": paper,
                "metrics": {"NME": draw(VALUES), **({"AUC": draw(VALUES)} if draw(st.booleans()) else {})},
                "extra": draw(st.booleans()),
            }
        )
    return rows


def _reference(row: dict) -> tuple[str | None, str | None]:
    """(paper title, paper URL) the archive lists for a row."""
    return {
        "awing": (AWING_TITLE, AWING_URL),
        "none": (None, None),
        "new": (f"A paper on {row['model']}", None),
    }[row["paper"]]


def _metric_names(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row["metrics"]))


def through_importer(task: str, dataset: str, rows: list[dict], tmp_path) -> None:
    record = {
        "task": task,
        "datasets": [
            {
                "dataset": dataset,
                "sota": {
                    "metrics": _metric_names(rows),
                    "rows": [
                        {
                            "model_name": row["model"],
                            "paper_title": _reference(row)[0],
                            "paper_url": _reference(row)[1],
                            "paper_date": DATE,
                            "code_links": [],
                            "model_links": [],
                            "metrics": row["metrics"],
                            "uses_additional_data": row["extra"],
                        }
                        for row in rows
                    ],
                },
            }
        ],
    }
    rejects = Rejects(tmp_path / "rejects.jsonl")
    import_records([record], "evaluation-tables", rejects=rejects)
    rejects.close()


def through_services(task: str, dataset: str, rows: list[dict]) -> None:
    the_task = services.task_named(task)
    the_dataset, extra = services.dataset_named(dataset)
    board = services.leaderboard_for(the_task, the_dataset, _metric_names(rows))
    for row in rows:
        title, url = _reference(row)
        services.record_result(
            board,
            model_name=row["model"],
            metrics=row["metrics"],
            dataset_name=dataset,
            paper=services.paper_for_row(title, url, dt.date(2020, 1, 1)),
            uses_additional_data=row["extra"] or extra,
            evaluated_on=dt.date(2020, 1, 1),
        )


def through_sync(task: str, dataset: str, rows: list[dict], user) -> None:
    body = {
        "task": task,
        "dataset": dataset,
        "description": None,
        "mirror_url": None,
        "external_id": None,
        "metrics": [{"name": name, "description": "", "is_loss": True} for name in _metric_names(rows)],
        "results": [
            {
                "metrics": row["metrics"],
                "methodology": row["model"],
                "paper": AWING_URL if row["paper"] == "awing" else "",
                "uses_additional_data": row["extra"],
                "external_id": f"row-{i}",
                "evaluated_on": DATE,
                "external_source_url": None,
            }
            for i, row in enumerate(rows)
        ],
    }
    cache.clear()  # the write rate limit
    response = client_for(user).post("/api/v1/rpc/evaluation-synchronize/", body, format="json")
    assert response.status_code == 200, response.content


def snapshot() -> dict:
    def result(r):
        return (r.model_name, r.model.name, r.paper.title if r.paper else None, r.dataset.name, r.dataset_name)

    results = Result.objects.select_related("model", "paper", "dataset")
    listings = ResultTask.objects.select_related("result__model", "result__paper", "result__dataset", "task")
    values = MetricValue.objects.select_related("result__model", "result__paper", "result__dataset", "metric")
    return {
        "tasks": sorted(Task.objects.values_list("name", "slug")),
        "task aliases": sorted(TaskAlias.objects.values_list("name", "task__name")),
        "datasets": sorted(Dataset.objects.values_list("name", "slug")),
        "aliases": sorted(DatasetAlias.objects.values_list("name", "dataset__name", "uses_additional_data")),
        "papers": sorted(Paper.objects.values_list("title", "slug", "arxiv_id", "url_abs")),
        "models": sorted(Model.objects.values_list("paper__title", "name"), key=str),
        "boards": sorted(Leaderboard.objects.values_list("task__name", "dataset__name")),
        "results": sorted(((*result(r), r.uses_additional_data) for r in results), key=str),
        "listings": sorted(((*result(x.result), x.task.name, x.via_category) for x in listings), key=str),
        "values": sorted(((*result(v.result), v.metric.name, str(v.value), v.raw) for v in values), key=str),
    }


def rolled_back(run) -> dict:
    """What `run` writes, as a snapshot; the database is as before afterwards."""
    point = transaction.savepoint()
    try:
        run()
        return snapshot()
    finally:
        transaction.savepoint_rollback(point)


TASKS = st.sampled_from(["Face Alignment", "face alignment", "FACE_ALIGNMENT", "Face-Alignment"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=TASKS, dataset=listing(), rows=table_rows())
def test_the_importer_and_the_api_sync_write_the_same_rows(world, tmp_path, task, dataset, rows):
    api_rows = [row for row in rows if row["paper"] != "new"]  # the API cites known papers only
    if not api_rows:
        return
    imported = rolled_back(lambda: through_importer(task, dataset, api_rows, tmp_path))
    synced = rolled_back(lambda: through_sync(task, dataset, api_rows, world))
    assert synced == imported


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=TASKS, dataset=listing(), rows=table_rows())
def test_the_importer_and_the_services_write_the_same_rows(world, tmp_path, task, dataset, rows):
    imported = rolled_back(lambda: through_importer(task, dataset, rows, tmp_path))
    recorded = rolled_back(lambda: through_services(task, dataset, rows))
    assert recorded == imported


def test_an_extra_data_listing_is_flagged_the_same_way_in_every_path(world, tmp_path):
    rows = [{"model": "AWing", "paper": "awing", "metrics": {"NME": "4.36"}, "extra": False}]
    paths = {
        "importer": lambda: through_importer("Face Alignment", "wflw (Extra Data)", rows, tmp_path),
        "services": lambda: through_services("Face Alignment", "wflw (Extra Data)", rows),
        "api": lambda: through_sync("Face Alignment", "wflw (Extra Data)", rows, world),
    }
    snapshots = {path: rolled_back(run) for path, run in paths.items()}
    assert snapshots["importer"] == snapshots["services"] == snapshots["api"]
    assert ("wflw (Extra Data)", "WFLW", True) in snapshots["api"]["aliases"]
    assert snapshots["api"]["results"] == [("AWing", "AWing", AWING_TITLE, "WFLW", "wflw (Extra Data)", True)]
    assert extra_data_base("wflw (Extra Data)") == "wflw"

"""The demo knowledge base: the AWing paper page and its face-alignment peers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.db import transaction

from leaderboard import services
from leaderboard.models import Leaderboard, Paper

DEMO_DIR = Path(__file__).resolve().parent


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _load_rows(task, dataset_name: str, metric_names: list[str], rows: list[dict]) -> None:
    dataset, extra_from_name = services.dataset_named(dataset_name)
    board = services.leaderboard_for(task, dataset, metric_names)
    for row in rows:
        date = _date(row.get("paper_date"))
        paper = services.paper_for_row(row.get("paper_title"), row.get("paper_url"), date)
        services.record_result(
            board,
            model_name=row["model_name"],
            metrics=row["metrics"],
            dataset_name=dataset_name,
            paper=paper,
            uses_additional_data=bool(row.get("uses_additional_data")) or extra_from_name,
            evaluated_on=date,
            code_links=row.get("code_links", []),
            listed_paper_title=row.get("paper_title") or "",
            listed_paper_url=row.get("paper_url") or "",
        )
        if paper is not None:
            paper.tasks.add(task)


def _load_graph(demo: dict) -> None:
    for name in demo["areas"]:
        services.area_named(name)
    for child, parents in demo["task_parents"].items():
        services.add_task_parents(services.task_named(child), [services.task_named(p) for p in parents])
    for task_name, areas in demo["task_areas"].items():
        services.task_named(task_name).areas.add(*[services.area_named(a) for a in areas])


def _load_paper(spec: dict) -> Paper:
    paper = services.save_paper(
        title=spec["title"],
        slug=spec["slug"],
        arxiv_id=spec["arxiv_id"],
        abstract=spec["abstract"],
        published=_date(spec["published"]),
        url_abs=spec["url_abs"],
        url_pdf=spec["url_pdf"],
        proceeding=spec["proceeding"],
        authors=spec["authors"],
        tasks=spec["tasks"],
    )
    for code in spec["code"]:
        services.link_repository(paper, code["url"], is_official=code["is_official"], framework=code["framework"])
    return paper


@transaction.atomic
def load_demo() -> bool:
    """Load the demo data once; returns False when it is already there."""
    if Leaderboard.objects.filter(slug="face-alignment-on-wflw").exists():
        return False
    demo = json.loads((DEMO_DIR / "awing.json").read_text())
    _load_graph(demo)
    _load_paper(demo["paper"])
    for alias in demo["dataset_aliases"]:
        dataset, _ = services.dataset_named(alias["dataset"])
        services.add_dataset_alias(dataset, alias["alias"], alias["uses_additional_data"])
    tables = json.loads((DEMO_DIR / "face_alignment.evaluation-tables.json").read_text())
    for table in tables:
        task = services.task_named(table["task"], table.get("description", ""))
        task.areas.add(*[services.area_named(name) for name in table.get("categories", [])])
        for entry in table["datasets"]:
            _load_rows(task, entry["dataset"], entry["sota"]["metrics"], entry["sota"]["rows"])
    for extra in demo["extra_rows"]:
        task = services.task_named(extra["task"])
        row = extra["row"]
        _load_rows(task, extra["dataset"], list(row["metrics"]), [row])
    return True

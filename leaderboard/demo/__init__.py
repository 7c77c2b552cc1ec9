"""The demo knowledge base: the AWing paper page and its face-alignment peers."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.db import transaction

from leaderboard import services
from leaderboard.importers import Rejects, import_records
from leaderboard.models import Dataset, Leaderboard, Method, Paper, Task
from leaderboard.rules.values import parse_date

DEMO_DIR = Path(__file__).resolve().parent


def _extra_row_table(item: dict) -> dict:
    """A single row the archive lists elsewhere, as a one-row evaluation table."""
    row = item["row"]
    return {
        "task": item["task"],
        "datasets": [
            {
                "dataset": item["dataset"],
                "sota": {"metrics": list(row["metrics"]), "rows": [row]},
            }
        ],
    }


def _load_graph(demo: dict) -> None:
    for name in demo["areas"]:
        services.area_named(name)
    for child, parents in demo["task_parents"].items():
        services.add_task_parents(
            services.task_named(child), [services.task_named(p) for p in parents]
        )
    for task_name, areas in demo["task_areas"].items():
        services.task_named(task_name).areas.add(
            *[services.area_named(a) for a in areas]
        )


def _load_paper(spec: dict) -> Paper:
    paper = services.save_paper(
        title=spec["title"],
        slug=spec["slug"],
        arxiv_id=spec["arxiv_id"],
        abstract=spec["abstract"],
        published=parse_date(spec["published"]),
        url_abs=spec["url_abs"],
        url_pdf=spec["url_pdf"],
        proceeding=spec["proceeding"],
        authors=spec["authors"],
        tasks=spec["tasks"],
    )
    for code in spec["code"]:
        services.link_repository(
            paper,
            code["url"],
            is_official=code["is_official"],
            framework=code["framework"],
        )
    return paper


def _load_content(demo: dict) -> None:
    """The demo's descriptions of its tasks and datasets, and the methods of the AWing paper.

    Idempotent: fills only empty descriptions and names, and creates a method once.
    """
    for name, text in demo["task_descriptions"].items():
        Task.objects.filter(name=name, description="").update(description=text)
    for name, spec in demo["datasets"].items():
        Dataset.objects.filter(name=name, description="").update(description=spec["description"])
        Dataset.objects.filter(name=name, full_name="").update(full_name=spec["full_name"])
    paper = Paper.objects.get(slug=demo["paper"]["slug"])
    for spec in demo["methods"]:
        method = Method.objects.filter(name=spec["name"]).first()
        if method is None:
            method = Method.objects.create(
                name=spec["name"],
                slug=services.new_slug(Method, spec["name"]),
                full_name=spec["full_name"],
                description=spec["description"],
                introduced_year=spec.get("year"),
                paper=paper if spec["introduced_here"] else None,
            )
        paper.methods.add(method)


@transaction.atomic
def load_demo() -> bool:
    """Load the demo data once; returns False when it is already there (its content is still filled in)."""
    demo = json.loads((DEMO_DIR / "awing.json").read_text())
    if Leaderboard.objects.filter(slug="face-alignment-on-wflw").exists():
        _load_content(demo)
        return False
    _load_graph(demo)
    _load_paper(demo["paper"])
    for alias in demo["dataset_aliases"]:
        dataset, _ = services.dataset_named(alias["dataset"])
        services.add_dataset_alias(
            dataset, alias["alias"], alias["uses_additional_data"]
        )
    # The leaderboards go through the archive importer, so the demo and `import_pwc` agree.
    tables = json.loads(
        (DEMO_DIR / "face_alignment.evaluation-tables.json").read_text()
    )
    extra = [_extra_row_table(item) for item in demo["extra_rows"]]
    import_records(
        tables + extra,
        "evaluation-tables",
        source="demo",
        rejects=Rejects(Path(os.devnull)),
    )
    _load_content(demo)
    return True

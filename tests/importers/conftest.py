import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
DEMO_TABLES = (
    Path(__file__).resolve().parents[2]
    / "leaderboard"
    / "demo"
    / "face_alignment.evaluation-tables.json"
)


@pytest.fixture
def rejects(tmp_path):
    from leaderboard.importers import Rejects

    report = Rejects(tmp_path / "rejects.jsonl")
    yield report
    report.close()


def read_rejects(report) -> list[dict]:
    report.close()
    if not report.path.exists():
        return []
    return [json.loads(line) for line in report.path.read_text().splitlines()]


def table(
    task: str, dataset: str, rows: list[dict], metrics: list[str] | None = None, **extra
) -> dict:
    """A one-table evaluation-tables record, built in code."""
    names = metrics or sorted({name for row in rows for name in row.get("metrics", {})})
    return {
        "task": task,
        "datasets": [{"dataset": dataset, "sota": {"metrics": names, "rows": rows}}],
        **extra,
    }


def row(
    model: str,
    title: str = "A paper",
    url: str = "https://arxiv.org/abs/2001.00001v1",
    **metrics,
) -> dict:
    return {
        "model_name": model,
        "paper_title": title,
        "paper_url": url,
        "paper_date": "2020-01-01",
        "code_links": [],
        "model_links": [],
        "metrics": metrics or {"Accuracy": "90.1"},
        "uses_additional_data": False,
    }

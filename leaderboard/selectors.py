"""Reads with domain rules: the paper page's results, related papers, SotA tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from leaderboard.models import Leaderboard, MetricValue, Paper, Result, ResultTask


@dataclass(frozen=True)
class PaperResultRow:
    task: object
    dataset_name: str
    dataset: object
    metric: str
    value: str
    model_name: str
    result_id: int


def paper_page_paper(slug: str) -> Paper:
    """The paper with everything its page shows, in a fixed number of queries."""
    return (
        Paper.objects.select_related("proceeding")
        .prefetch_related("authorships__author", "tasks", "code_links__repository", "methods")
        .get(slug=slug)
    )


def paper_result_rows(paper: Paper) -> list[PaperResultRow]:
    """Result × task × metric, the rows of the paper page's Results table.

    A result is shown under the task categories its leaderboard's task sits
    in (as the original paper pages did); a result whose task has no parent
    category is shown under that task itself.
    """
    results = Result.objects.filter(paper=paper).select_related("dataset").prefetch_related(
        Prefetch("values", queryset=MetricValue.objects.select_related("metric")),
        Prefetch("listings", queryset=ResultTask.objects.select_related("task")),
    )
    rows = []
    for result in results:
        listings = [item for item in result.listings.all() if item.via_category]
        listings = listings or list(result.listings.all())
        for listing in listings:
            for value in result.values.all():
                rows.append(
                    PaperResultRow(
                        task=listing.task,
                        dataset_name=result.dataset_name,
                        dataset=result.dataset,
                        metric=value.metric.name,
                        value=value.raw,
                        model_name=result.model_name,
                        result_id=result.pk,
                    )
                )
    rows.sort(key=lambda r: (r.task.name, r.dataset_name, r.metric, r.model_name))
    return rows


def related_papers(paper: Paper, limit: int = 8) -> QuerySet[Paper]:
    """Papers that share a task with `paper`, newest first."""
    task_ids = [task.pk for task in paper.tasks.all()]
    return (
        Paper.objects.filter(tasks__in=task_ids)
        .exclude(pk=paper.pk)
        .distinct()
        .order_by("-published", "-id")
        .only("slug", "title", "published")[:limit]
    )


@dataclass
class SotaRow:
    rank: int | None
    result: Result
    values: dict[str, MetricValue] = field(default_factory=dict)

    @property
    def primary(self) -> Decimal | None:
        return self._primary

    _primary: Decimal | None = None


def leaderboard_results(board: Leaderboard) -> QuerySet[Result]:
    return (
        Result.objects.filter(dataset_id=board.dataset_id, listings__task_id=board.task_id)
        .select_related("paper", "model")
        .prefetch_related(Prefetch("values", queryset=MetricValue.objects.select_related("metric")))
    )


def rank_key(higher_is_better: bool):
    """Sort key of the SotA table, the documented tie rule included.

    Rows with the ranking metric come first, best value first in the
    metric's direction; rows without it come last. Ties go to the earlier
    result (evaluation date, then the order it was recorded), because the
    first to reach a number holds the state of the art.
    """

    def key(item: tuple[Decimal | None, Result]):
        value, result = item
        missing = value is None
        number = Decimal(0) if missing else (-value if higher_is_better else value)
        date = result.evaluated_on or dt.date.max
        return (missing, number, date, result.pk)

    return key


def sota_table(board: Leaderboard, metric=None, uses_additional_data: bool | None = None) -> list[SotaRow]:
    """The leaderboard's rows ranked by `metric` (default: its primary metric)."""
    metric = metric or board.primary_metric
    results = leaderboard_results(board)
    if uses_additional_data is not None:
        results = results.filter(uses_additional_data=uses_additional_data)
    items = []
    for result in results:
        values = {v.metric.name: v for v in result.values.all()}
        chosen = values.get(metric.name) if metric else None
        items.append((chosen.value if chosen else None, result, values))
    higher = metric.higher_is_better if metric else True
    key = rank_key(higher)
    items.sort(key=lambda item: key((item[0], item[1])))
    rows, rank = [], 0
    for value, result, values in items:
        rank = rank + 1 if value is not None else rank
        row = SotaRow(rank=rank if value is not None else None, result=result, values=values)
        row._primary = value
        rows.append(row)
    return rows


def sota_over_time(rows: list[SotaRow], higher_is_better: bool) -> list[dict]:
    """Each dated result as a point, with the running best at that date."""
    dated = sorted((r for r in rows if r.primary is not None and r.result.evaluated_on), key=lambda r: (r.result.evaluated_on, r.result.pk))
    series, best = [], None
    for row in dated:
        value = row.primary
        if best is None or (value > best if higher_is_better else value < best):
            best = value
        series.append(
            {
                "date": row.result.evaluated_on.isoformat(),
                "model_name": row.result.model_name,
                "value": float(value),
                "best": float(best),
                "result_id": row.result.pk,
            }
        )
    return series

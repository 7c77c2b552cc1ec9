"""The SotA table of a leaderboard as the API sends it.

Ranking and the SotA-over-time series come from the same selectors as the
web page (selectors.sota_page ranks in SQL a page at a time by the documented
rule; selectors.sota_series is the chart), so page and API always agree.
Rows are plain dicts here, not DRF serializers: a big board has hundreds of
rows and this is the API's hottest endpoint.
"""

from __future__ import annotations

from rest_framework import serializers as drf

from leaderboard import claims, selectors
from leaderboard.models import Leaderboard, Metric, Result

TIE_RULE = (
    "Best first in the ranking metric's direction; rows without it come last, unranked; "
    "ties go to the earlier result (evaluation date, then the order of recording)."
)


class SotaQuerySerializer(drf.Serializer):
    metric = drf.CharField(
        required=False, max_length=300, help_text="rank by this column (name or id); default: the ranking metric"
    )
    uses_additional_data = drf.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="only rows with (true) or without (false) extra training data",
    )


class SotaPageQuerySerializer(SotaQuerySerializer):
    page = drf.IntegerField(required=False, min_value=1, default=1)
    items_per_page = drf.IntegerField(required=False, min_value=1, max_value=500, default=selectors.SOTA_PAGE_SIZE)


def column(metric: Metric) -> dict:
    return {"name": metric.name, "is_loss": metric.is_loss}


def sota_body(board: Leaderboard, metric: Metric | None, query: dict, columns: list[Metric]) -> dict:
    extra = query.get("uses_additional_data")
    page = selectors.sota_page(board, metric, extra, page=query["page"], page_size=query["items_per_page"])
    return {
        "evaluation": {
            "id": board.slug, "task": board.task.slug, "dataset": board.dataset.slug,
            "description": board.description, "mirror_url": None,
        },
        "ranking_metric": column(metric) if metric else None,
        "metrics": [column(m) for m in columns],
        "tie_rule": TIE_RULE,
        "count": page.total,
        "ranked": page.ranked,
        "page": page.number,
        "pages": page.pages,
        "rows": [row_body(row) for row in page.rows],
        "sota_over_time": selectors.sota_series(board, metric, extra),
    }


def row_body(row: selectors.SotaRow) -> dict:
    result = row.result
    paper = claims.linked_paper(result)
    return {
        "rank": row.rank,
        "result": str(result.pk),
        "methodology": result.model_name,
        "paper": {"id": paper.slug, "title": paper.title} if paper else None,
        "metrics": {name: value.raw for name, value in row.values.items()},
        "values": {name: None if v.value is None else float(v.value) for name, v in row.values.items()},
        "uses_additional_data": result.uses_additional_data,
        "evaluated_on": result.evaluated_on.isoformat() if result.evaluated_on else None,
        "provenance": result.provenance,
        "verified": result.provenance == Result.Provenance.VERIFIED,
        "verification": verification(result),
        "code_links": result.code_links,
        "external_source_url": result.external_source_url,
    }


def verification(result: Result) -> dict | None:
    """The verified submission behind a row and its current run (selected with the row, no query)."""
    if "verification" not in selectors.verification_relation():
        return None
    try:
        submission = result.verification
    except Result.verification.RelatedObjectDoesNotExist:
        return None
    return {"submission": submission.pk, "run": submission.current_run_id, "url": submission.get_absolute_url()}

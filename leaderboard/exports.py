"""The export of a ranked leaderboard, one format for the page and the API.

`/sota/<slug>?format=csv|json` and `/api/v1/evaluations/<slug>/export.csv/` and
`export.json/` all send these columns: rank, model, paper (its slug),
paper_title, one column per metric (the published text), uses_additional_data,
evaluated_on, provenance, verified, external_source_url.
"""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpResponse

from leaderboard import claims
from leaderboard.models import Result

LEADING = ["rank", "model", "paper", "paper_title"]
TRAILING = ["uses_additional_data", "evaluated_on", "provenance", "verified", "external_source_url"]


def header(columns: list) -> list[str]:
    return [*LEADING, *(metric.name for metric in columns), *TRAILING]


def rows(table: list, columns: list) -> list[dict]:
    """Each SotaRow of `table` as an export row: metrics keyed by name ("" where the row has none)."""
    out = []
    for row in table:
        result = row.result
        paper = claims.linked_paper(result)  # none while a verified result's paper link is unconfirmed
        out.append(
            {
                "rank": row.rank,
                "model": result.model_name,
                "paper": paper.slug if paper else None,
                "paper_title": paper.title if paper else None,
                "metrics": {m.name: row.values[m.name].raw if m.name in row.values else "" for m in columns},
                "uses_additional_data": result.uses_additional_data,
                "evaluated_on": result.evaluated_on.isoformat() if result.evaluated_on else None,
                "provenance": result.provenance,
                "verified": result.provenance == Result.Provenance.VERIFIED,
                "external_source_url": result.external_source_url,
            }
        )
    return out


def as_csv(table: list, columns: list) -> str:
    """The table as CSV text: one line per row, empty cells for what a row lacks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(columns))
    for item in rows(table, columns):
        cells = [*(item[k] for k in LEADING), *item["metrics"].values(), *(item[k] for k in TRAILING)]
        writer.writerow(["" if cell is None else cell for cell in cells])
    return buffer.getvalue()


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def response(board, table: list, columns: list, fmt: str, body=None) -> HttpResponse:
    """The CSV or JSON file of `table`; `body(rows)` wraps the JSON rows (default: the list itself)."""
    if fmt == "csv":
        content = as_csv(table, columns)
    else:
        items = rows(table, columns)
        content = json.dumps(body(items) if body else items, indent=1)
    return _file(content, board.slug, fmt)


def cached_response(key: str, slug: str, fmt: str, make) -> HttpResponse:
    """The file `make()` answers, kept in the generation cache under `key` (a big board's file is
    built from every row; a write to the knowledge base starts a new generation)."""
    from leaderboard.cache import cached_table

    return _file(cached_table(f"export:{fmt}:{key}", lambda: make().content), slug, fmt)


def _file(content, slug: str, fmt: str) -> HttpResponse:
    answer = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    answer["Content-Disposition"] = f'attachment; filename="{slug}.{fmt}"'
    return answer

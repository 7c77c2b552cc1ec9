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


def response(board, table: list, columns: list, fmt: str, body=None) -> HttpResponse:
    """The CSV or JSON file of `table`; `body(rows)` wraps the JSON rows (default: the list itself)."""
    if fmt == "csv":
        answer = HttpResponse(as_csv(table, columns), content_type="text/csv; charset=utf-8")
    else:
        items = rows(table, columns)
        answer = HttpResponse(json.dumps(body(items) if body else items, indent=1), content_type="application/json")
    answer["Content-Disposition"] = f'attachment; filename="{board.slug}.{fmt}"'
    return answer

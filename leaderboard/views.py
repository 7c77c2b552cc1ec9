"""Web pages. Views stay thin: selectors read, templates show."""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from leaderboard import selectors
from leaderboard.models import Paper


def paper_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        paper = selectors.paper_page_paper(slug)
    except Paper.DoesNotExist:
        raise Http404(f"No paper with the slug “{slug}”.") from None
    context = {
        "paper": paper,
        "result_rows": selectors.paper_result_rows(paper),
        "related": selectors.related_papers(paper),
    }
    return render(request, "leaderboard/paper_detail.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers and the broker accepts a connection."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return f"error: {exc}"


def _check_broker() -> str:
    from workers.app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc}"

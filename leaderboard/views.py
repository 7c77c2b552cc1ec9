"""Web pages. Views stay thin: selectors read, templates show."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from leaderboard import claims, exports, selectors
from leaderboard import search as ranked_search
from leaderboard.api.pagination import BoundedPaginator
from leaderboard.cache import for_visitors
from leaderboard.forms import LeaderboardFilterForm, SignupForm
from leaderboard.models import Area, Author, Dataset, Leaderboard, Method, Paper, Task

PAGE_SIZE = 25
# Rows per leaderboard page: building and rendering 100 rows alone cost ~60 ms on a
# loaded machine when the page cache is cold; the API keeps selectors.SOTA_PAGE_SIZE.
LEADERBOARD_PAGE_SIZE = 50
# Tasks per page of one area's list (/tasks/?area=<slug>).
AREA_PAGE_SIZE = 100


def paginate(request: HttpRequest, items, per_page: int = PAGE_SIZE) -> Page:
    """The requested page; a bad or out-of-range ?page= shows the nearest valid page, never an error.

    Counts and depth are bounded (leaderboard.api.pagination): a long list is counted by estimate
    ("about 576,000") and served up to MAX_ROWS deep.
    """
    return BoundedPaginator(items, per_page).get_page(request.GET.get("page"))


class CachedPaginator(BoundedPaginator):
    """Counts and page rows from the cache too. The pages' lists (papers, datasets, methods) read no
    values, so they are kept through edits of values; a list that reads no result at all is kept
    through new results too, one filtered by where results sit (`results`) is not (selectors.cached)."""

    def __init__(self, object_list, per_page, results: bool = False):
        super().__init__(object_list, per_page)
        self.results = results

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        from leaderboard.api.pagination import bounded_count

        key = f"count:{selectors.sql_of(self.object_list)}"
        return selectors.cached(key, lambda: bounded_count(self.object_list), structure=True, results=self.results)

    def fetch(self, rows) -> list:
        return selectors.cached_list(rows, results=self.results)


def paginate_cached(request: HttpRequest, items, per_page: int = PAGE_SIZE, results: bool = False) -> Page:
    return CachedPaginator(items, per_page, results).get_page(request.GET.get("page"))


@for_visitors
def home(request: HttpRequest) -> HttpResponse:
    page = selectors.cached("home", selectors.home_page)
    context = {"tasks": list({item.board.task_id: item.board.task for item in page["notable"]}.values()), **page}
    return render(request, "leaderboard/home.html", context)


@for_visitors
def about(request: HttpRequest) -> HttpResponse:
    return render(request, "leaderboard/about.html")


@for_visitors
def browse(request: HttpRequest) -> HttpResponse:
    """Every area with its first tasks; ?area=<slug> lists all the tasks of one area, a page at a time."""
    slug = request.GET.get("area")
    if slug is None:
        return render(request, "leaderboard/browse.html", {"areas": selectors.cached("browse", selectors.areas_with_tasks, structure=True)})
    try:
        area, tasks = selectors.area_tasks(slug)
    except Area.DoesNotExist:
        raise Http404(f"No area with the slug “{slug}”. Browse them all at /tasks/.") from None
    page = paginate(request, tasks, per_page=AREA_PAGE_SIZE)
    section = selectors.AreaTasks(area, list(page), page.paginator.count)
    return render(request, "leaderboard/browse.html", {"areas": [section], "page": page})


@for_visitors
def task_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        task, boards, datasets = selectors.task_page(slug)
    except Task.DoesNotExist:
        raise Http404(f"No task with the slug “{slug}”.") from None
    context = {
        "task": task,
        "boards": boards[: selectors.BOARDS_SHOWN],
        "boards_more": len(boards) > selectors.BOARDS_SHOWN,
        "papers": paginate_cached(request, selectors.task_papers(task)),
        "datasets": datasets,
        "related_shown": selectors.RELATED_TASKS_SHOWN,
    }
    return render(request, "leaderboard/task_detail.html", context)


@for_visitors
def leaderboard_detail(request: HttpRequest, slug: str, fmt: str | None = None) -> HttpResponse:
    try:
        board, columns = selectors.leaderboard_page(slug)
    except Leaderboard.DoesNotExist:
        raise Http404(f"No leaderboard with the slug “{slug}”. Browse them all at /sota/.") from None
    fmt = fmt or request.GET.get("format") or "html"
    if fmt not in ("html", "csv", "json"):
        return HttpResponse(
            f"Unknown format “{fmt}”: use ?format=csv or ?format=json (or none for the page).",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    form = LeaderboardFilterForm(request.GET)
    form.is_valid()
    wanted = form.cleaned_data.get("metric") or ""
    metric = next((m for m in columns if m.name == wanted), None) or board.primary_metric or (columns or [None])[0]
    if wanted and (metric is None or metric.name != wanted):
        messages.warning(
            request,
            f"This leaderboard has no metric “{wanted}”; it is ranked by {metric} instead.",
        )
    extra = form.uses_additional_data()
    worst_first = form.cleaned_data.get("order") == "worst"
    if fmt != "html":

        def export() -> HttpResponse:
            rows = selectors.sota_table(board, metric=metric, uses_additional_data=extra, worst_first=worst_first)
            return exports.response(
                board, rows, columns, fmt, body=lambda items: _json_envelope(board, metric, columns, items)
            )

        key = f"page:{board.pk}:{metric.pk if metric else 0}:{extra}:{worst_first}"
        return exports.cached_response(key, board.slug, fmt, export)
    page = _page_number(request)
    key = f"board-table:{board.pk}:{metric.pk if metric else 0}:{extra}:{worst_first}:{page}"
    table, rows_html, series = selectors.cached(
        key, lambda: _leaderboard_table(board, columns, metric, extra, worst_first, page), board=board
    )
    context = {
        "board": board,
        "form": form,
        "metric": metric,
        "columns": _sort_headers(request, columns, metric, worst_first),
        "table": table,
        # Rendered by our own autoescaping template (sota_rows.html), so safe as it stands.
        "rows_html": mark_safe(rows_html),
        "series": series,
        "series_kinds": _series_kinds(series),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "leaderboard/leaderboard_detail.html", context)


@dataclass(frozen=True)
class TableFrame:
    """A SotaPage without its rows: what the page shows around the (cached, rendered) rows."""

    total: int
    offset: int
    page_size: int
    shown: int
    ranked: int = 0

    @property
    def complete(self) -> bool:
        return self.total <= self.shown

    @property
    def number(self) -> int:
        return self.offset // self.page_size + 1

    @property
    def last(self) -> int:
        return self.offset + self.shown

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _leaderboard_table(board, columns, metric, extra, worst_first: bool, page: int) -> tuple:
    """One page of the ranked table as rendered rows (cached whole), with its frame and chart series."""
    table = selectors.sota_page(board, metric, extra, worst_first, page=page, page_size=LEADERBOARD_PAGE_SIZE)
    rows_html = render_to_string(
        "leaderboard/sota_rows.html", {"rows": selectors.with_cells(table.rows, columns), "columns": columns}
    )
    frame = TableFrame(
        total=table.total, offset=table.offset, page_size=table.page_size, shown=len(table.rows), ranked=table.ranked
    )
    return frame, str(rows_html), selectors.sota_chart(board, metric, extra)


SERIES_KINDS = {
    "archive": "Result from the archive",
    "self_reported": "Self-reported result",
    "verified": "Verified result",
}


def _series_kinds(series: list[dict]) -> list[dict]:
    """The kinds of point the chart draws (its legend), in a fixed order."""
    present = {point["provenance"] for point in series}
    return [{"key": key, "label": label} for key, label in SERIES_KINDS.items() if key in present]


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page", 1))
    except ValueError:
        return 1


def _sort_headers(request: HttpRequest, columns: list, current, worst_first: bool) -> list[dict]:
    """One header per metric; its link ranks by that metric, best first (again: worst first)."""
    headers = []
    for metric in columns:
        active = current is not None and metric.pk == current.pk
        query = {k: v for k, v in request.GET.items() if k not in ("metric", "order", "page")}
        query["metric"] = metric.name
        if active and not worst_first:
            query["order"] = "worst"
        descending = metric.higher_is_better != (active and worst_first)
        headers.append(
            {
                "metric": metric,
                "url": "?" + urlencode(query),
                "active": active,
                "aria_sort": ("descending" if descending else "ascending") if active else "none",
            }
        )
    return headers


def _json_envelope(board: Leaderboard, metric, columns: list, rows: list[dict]) -> dict:
    """The page's JSON export: the API's export rows with the board they come from."""
    return {
        "leaderboard": board.slug,
        "task": board.task.name,
        "dataset": board.dataset.name,
        "ranked_by": metric.name if metric else None,
        "metrics": [{"name": m.name, "higher_is_better": m.higher_is_better} for m in columns],
        "rows": rows,
    }


@for_visitors
def dataset_list(request: HttpRequest) -> HttpResponse:
    page = paginate_cached(request, selectors.dataset_list())
    # A column no dataset on the page fills is left out.
    shown = {
        "full_name": any(dataset.full_name for dataset in page),
        "introduced": any(dataset.introduced_date for dataset in page),
    }
    return render(request, "leaderboard/dataset_list.html", {"page": page, "shown": shown})


@for_visitors
def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        dataset, boards = selectors.dataset_page(slug)
    except Dataset.DoesNotExist:
        raise Http404(f"No dataset with the slug “{slug}”.") from None
    context = {
        "dataset": dataset,
        "boards": boards[: selectors.BOARDS_SHOWN],
        "boards_more": len(boards) > selectors.BOARDS_SHOWN,
        "papers": paginate_cached(request, selectors.dataset_papers(dataset), results=True),
    }
    return render(request, "leaderboard/dataset_detail.html", context)


@for_visitors
def paper_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leaderboard/paper_list.html",
        {"page": paginate_cached(request, selectors.paper_list())},
    )


@for_visitors
def paper_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        paper, boards, result_rows, related = selectors.cached(
            f"paper:{slug}", lambda: selectors.paper_page(slug, LEADERBOARD_PAGE_SIZE)
        )
    except Paper.DoesNotExist:
        raise Http404(f"No paper with the slug “{slug}”.") from None
    context = {
        "paper": paper,
        "boards": boards,
        "result_rows": result_rows,
        "related": related,
        "claim": selectors.users_claim(request.user, paper),
    }
    return render(request, "leaderboard/paper_detail.html", context)


@login_required
@require_POST
def paper_claim(request: HttpRequest, slug: str) -> HttpResponse:
    """Claim to be an author of the paper; staff or a confirmed author of it approve the claim."""
    paper = Paper.objects.filter(slug=slug).first()
    if paper is None:
        raise Http404(f"No paper with the slug “{slug}”.")
    claim, created = claims.claim_paper(request.user, paper)
    if created:
        messages.success(
            request,
            "Your claim to be an author of this paper is recorded. Once staff or a confirmed author "
            "approves it, your verified results on it are listed on this page.",
        )
    else:
        messages.info(request, f"You have already claimed this paper; your claim is {claim.get_status_display()}.")
    return redirect(paper.get_absolute_url() + "#claim")


@for_visitors
def method_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leaderboard/method_list.html",
        {"page": paginate_cached(request, selectors.method_list())},
    )


@for_visitors
def method_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        method = selectors.method_page_method(slug)
    except Method.DoesNotExist:
        raise Http404(f"No method with the slug “{slug}”.") from None
    context = {
        "method": method,
        "papers": paginate_cached(request, selectors.method_papers(method)),
    }
    return render(request, "leaderboard/method_detail.html", context)


@for_visitors
def author_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        author = Author.objects.get(slug=slug)
    except Author.DoesNotExist:
        raise Http404(f"No author with the slug “{slug}”.") from None
    context = {
        "author": author,
        "papers": paginate_cached(request, selectors.author_papers(author)),
    }
    return render(request, "leaderboard/author_detail.html", context)


@for_visitors
def search(request: HttpRequest) -> HttpResponse:
    found = ranked_search.search(request.GET.get("q", ""))
    papers = Paginator(found.papers.ids, PAGE_SIZE).get_page(request.GET.get("page"))
    papers.object_list = ranked_search.in_order(selectors.paper_rows(Paper.objects.all()), list(papers.object_list))
    context = {"query": found.query, "found": found, "papers": papers}
    return render(request, "leaderboard/search.html", context)


def signup(request: HttpRequest) -> HttpResponse:
    back = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(back or "profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        return redirect(back or "profile")
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": back},
        status=400 if form.errors else 200,
    )


def _safe_next(request: HttpRequest) -> str:
    """The `next` page to return to after signing up, if it is on this site ("" otherwise)."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return wanted if safe else ""


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    context = {
        "token": Token.objects.filter(user=request.user).first(),
        "submissions": paginate(request, selectors.user_submissions(request.user)),
    }
    return render(request, "registration/profile.html", context)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Create the user's API token, or replace it (the old one stops working at once)."""
    replaced = Token.objects.filter(user=request.user).delete()[0] > 0
    Token.objects.create(user=request.user)
    messages.success(
        request,
        "New API token created; the old one no longer works." if replaced else "API token created.",
    )
    return redirect(reverse("profile") + "#api-token")


@login_required
@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    deleted = Token.objects.filter(user=request.user).delete()[0] > 0
    messages.success(request, "API token revoked." if deleted else "You had no API token to revoke.")
    return redirect(reverse("profile") + "#api-token")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers and the broker accepts a connection.

    Anyone sees "ok" or "failing" per check; only staff see the error text, which can
    name hosts, users and paths.
    """
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    if not (request.user.is_authenticated and request.user.is_staff):
        checks = {name: "ok" if value == "ok" else "failing" for name, value in checks.items()}
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks},
        status=200 if healthy else 503,
    )


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

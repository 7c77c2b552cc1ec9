"""Reads with domain rules: the paper page's results, related papers, SotA tables."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, F, Prefetch, Q, QuerySet, When
from django.utils.functional import cached_property

from leaderboard import claims
from leaderboard.models import Leaderboard, MetricValue, Paper, Result, ResultTask
from leaderboard.rules import ranking
from leaderboard.rules.columns import shown_columns

logger = logging.getLogger(__name__)

# Newest first, ties by id: the order of the (published DESC, id) index, so a page of a long list
# is read from the index instead of sorting every paper (and the API's default order too).
NEWEST_FIRST = ("-published", "id")


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


def paper_results(paper: Paper) -> list[Result]:
    """The paper's results with their dataset, values and task listings, in three queries."""
    return list(
        claims.paper_results(paper)
        .select_related("dataset")
        .prefetch_related(
            Prefetch("values", queryset=MetricValue.objects.select_related("metric")),
            Prefetch("listings", queryset=ResultTask.objects.select_related("task")),
        )
        .order_by("id")
    )


def paper_result_rows(paper: Paper, results: list[Result] | None = None) -> list[PaperResultRow]:
    """Result × task × metric, the rows of the paper page's per-category listing.

    A result is shown under the task categories its leaderboard's task sits
    in (as the original paper pages did); a result whose task has no parent
    category is shown under that task itself.
    """
    results = paper_results(paper) if results is None else results
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


@dataclass(frozen=True)
class PaperBoardEntry:
    """One of the paper's results on one leaderboard: its values, rank and row link there."""

    result: Result
    values: list  # MetricValue, the board's primary metric first
    rank: int | None  # by the board's primary metric (rules.ranking); None: the result lacks it
    url: str  # the result's row on the leaderboard page


@dataclass(frozen=True)
class PaperBoard:
    board: Leaderboard
    rank: int | None  # the best rank of the paper's results on the board
    ranked: int  # how many results the board ranks
    entries: list[PaperBoardEntry]


def paper_boards(results: list[Result], page_size: int) -> list[PaperBoard]:
    """The leaderboards the paper's results sit on, each with the paper's standing there.

    Ranks come from rules.ranking over every result of the board, by its primary
    metric; `page_size` (the leaderboard page's) turns a position into the page
    that shows the row. Three queries, whatever the number of boards.
    """
    keys = {
        (listing.task_id, result.dataset_id)
        for result in results
        for listing in result.listings.all()
        if not listing.via_category
    }
    if not keys:
        return []
    tasks, datasets = {k[0] for k in keys}, {k[1] for k in keys}
    boards = [
        board
        for board in Leaderboard.objects.filter(task_id__in=tasks, dataset_id__in=datasets)
        .select_related("task", "dataset", "primary_metric")
        .order_by("task__name", "dataset__name")
        if (board.task_id, board.dataset_id) in keys
    ]
    if not boards:
        return []
    members: dict[tuple[int, int], dict[int, object]] = {(b.task_id, b.dataset_id): {} for b in boards}
    # Each board's own (task, dataset) pair: a task's results on other datasets are not read.
    on_boards = Q()
    for board in boards:
        on_boards |= Q(task_id=board.task_id, result__dataset_id=board.dataset_id)
    for task_id, dataset_id, result_id, date in (
        ResultTask.objects.filter(on_boards)
        .values_list("task_id", "result__dataset_id", "result_id", "result__evaluated_on")
        .order_by()
    ):
        members[(task_id, dataset_id)][result_id] = date
    wanted = Q()
    for board in boards:
        if board.primary_metric_id:
            wanted |= Q(
                metric_id=board.primary_metric_id,
                result__dataset_id=board.dataset_id,
                result__listings__task_id=board.task_id,
            )
    numbers = {
        (result_id, metric_id): value
        for result_id, metric_id, value in (
            MetricValue.objects.filter(wanted, value__isnull=False).values_list("result_id", "metric_id", "value").order_by()
            if wanted
            else []
        )
    }
    mine: dict[tuple[int, int], list[Result]] = {}
    for result in results:
        for listing in result.listings.all():
            if not listing.via_category:
                mine.setdefault((listing.task_id, result.dataset_id), []).append(result)
    out = []
    for board in boards:
        key = (board.task_id, board.dataset_id)
        higher = board.primary_metric.higher_is_better if board.primary_metric else True
        entries = [
            ranking.Entry(numbers.get((result_id, board.primary_metric_id)), date, result_id)
            for result_id, date in members[key].items()
        ]
        table = ranking.ranked(entries, higher)
        position = {entry.recorded: index for index, entry in enumerate(table, start=1)}
        ranked = sum(1 for entry in table if entry.value is not None)
        items = []
        for result in mine.get(key, []):
            at = position.get(result.pk)
            has_value = numbers.get((result.pk, board.primary_metric_id)) is not None
            page = -(-at // page_size) if at else 1
            url = board.get_absolute_url() + (f"?page={page}" if page > 1 else "") + f"#result-{result.pk}"
            values = sorted(result.values.all(), key=lambda v: (v.metric_id != board.primary_metric_id, v.metric.name))
            items.append(PaperBoardEntry(result=result, values=values, rank=at if has_value else None, url=url))
        items.sort(key=lambda item: (item.rank is None, item.rank or 0, item.result.pk))
        best = items[0].rank if items else None
        out.append(PaperBoard(board=board, rank=best, ranked=ranked, entries=items))
    return out


RELATED_CANDIDATES = 500


def related_papers(paper: Paper, limit: int = 8) -> QuerySet[Paper]:
    """Papers that share a task with `paper`, newest first, among the last RELATED_CANDIDATES added to its tasks.

    Candidates come from the task links alone (an index, no paper rows), then the newest of them:
    walking every paper newest-first to probe its tasks is slow when related papers are rare, and
    sorting every paper of a big task is slow too.
    """
    task_ids = [task.pk for task in paper.tasks.all()]
    sharing = (
        Paper.tasks.through.objects.filter(task_id__in=task_ids)
        .exclude(paper_id=paper.pk)
        .order_by("-paper_id")
        .values_list("paper_id", flat=True)[:RELATED_CANDIDATES]
    )
    return Paper.objects.filter(pk__in=list(sharing)).order_by(*NEWEST_FIRST).only("slug", "title", "published")[:limit]


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
        .select_related("paper", "model", *verification_relation())
        .prefetch_related(Prefetch("values", queryset=MetricValue.objects.select_related("metric")))
    )


def sota_table(
    board: Leaderboard, metric=None, uses_additional_data: bool | None = None, worst_first: bool = False
) -> list[SotaRow]:
    """The leaderboard's rows ranked by `metric` (default: its primary metric), by rules.ranking."""
    metric = metric or board.primary_metric
    results = leaderboard_results(board)
    if uses_additional_data is not None:
        results = results.filter(uses_additional_data=uses_additional_data)
    items = []
    for result in results:
        values = {v.metric.name: v for v in result.values.all()}
        chosen = values.get(metric.name) if metric else None
        number = chosen.value if chosen else None
        items.append((ranking.Entry(number, result.evaluated_on, result.pk), result, values))
    higher = metric.higher_is_better if metric else True
    items = ranking.ranked(items, higher, worst_first, entry=lambda item: item[0])
    present = [entry.value is not None for entry, _, _ in items]
    ranks = ranking.rank_numbers(present, sum(present), worst_first)
    rows = []
    for rank, (entry, result, values) in zip(ranks, items, strict=True):
        row = SotaRow(rank=rank, result=result, values=values)
        row._primary = entry.value
        rows.append(row)
    return rows


def sota_over_time(rows: list[SotaRow], higher_is_better: bool) -> list[dict]:
    """Each dated result as a point, with the running best at that date."""
    dated = sorted(
        (r for r in rows if r.primary is not None and r.result.evaluated_on),
        key=lambda r: (r.result.evaluated_on, r.result.pk),
    )
    points = [(r.result.evaluated_on, r.result.model_name, r.primary, r.result.pk) for r in dated]
    return _series(points, higher_is_better)


def _series(points: list[tuple], higher_is_better: bool) -> list[dict]:
    """(date, model name, value, result id) in date order -> the chart's points with the running best."""
    bests = ranking.running_best((value for _, _, value, _ in points), higher_is_better)
    return [
        {
            "date": date.isoformat(),
            "model_name": model_name,
            "value": float(value),
            "best": float(best),
            "result_id": result_id,
        }
        for (date, model_name, value, result_id), best in zip(points, bests, strict=True)
    ]


# ---------------------------------------------------------------------------
# Web pages: home, browse, task, leaderboard, dataset, method, author (search: leaderboard.search).
# Every reader below costs a fixed number of queries, whatever the row count.

# How long a choice of the home page's notable boards stands before a worker makes the next one.
NOTABLE_CACHE_SECONDS = 300


def verification_relation() -> list[str]:
    """The verification (a Submission) of a Result and its owner, once the verification app links them.

    Leaderboard rows select both in the same query, so showing the link and
    the submitter of a row whose paper link is unconfirmed costs nothing per
    row; until the model exists, nothing is selected.
    """
    try:
        field = Result._meta.get_field("verification")
    except Exception:  # noqa: BLE001 - FieldDoesNotExist: the verification models are not there yet
        return []
    return ["verification", "verification__owner"] if field.one_to_one else []


def leaderboard_page_board(slug: str) -> Leaderboard:
    return Leaderboard.objects.select_related("task", "dataset", "primary_metric").get(slug=slug)


def leaderboard_columns(board: Leaderboard) -> list:
    """The board's metrics in column order (the primary metric first when it has no position)."""
    metrics = [column.metric for column in board.columns.select_related("metric").order_by("position", "id")]
    return shown_columns(board.primary_metric, metrics)


@dataclass(frozen=True)
class BoardSummary:
    board: Leaderboard
    best_model: str | None
    best_value: str | None
    best_paper_slug: str | None
    result_count: int
    best_result_id: int | None = None  # its row on the board's page: #result-<id>


def best_of_boards(boards: list[Leaderboard]) -> list[BoardSummary]:
    """Each board with its current best model and value and its number of results.

    Each board's summary is kept in the cache with the board's version, so a write to one board's
    results leaves the others' summaries (on the home, task and dataset pages) as they are; the
    missing ones are read in three queries, whatever their number.
    """
    from leaderboard import cache

    if not boards:
        return []
    by_key = {(board.task_id, board.dataset_id): board for board in boards}
    found = cache.cached_per_board(
        "board-summary", list(by_key), lambda missing: _read_summaries([by_key[key] for key in missing])
    )
    summaries = []
    for board in boards:
        model_name, raw, paper_slug, n, result_id = found[(board.task_id, board.dataset_id)]
        summaries.append(BoardSummary(board, model_name, raw, paper_slug, n, best_result_id=result_id))
    return summaries


def _read_summaries(boards: list[Leaderboard]) -> dict[tuple[int, int], tuple]:
    """(best model, best value, best paper slug, result count, best result id) of each board, in three queries.

    SQL picks each board's best row by rules.ranking's order (sql_ordering of ranking.ordering) and counts
    its rows, board by board through the indexes: no board's rows are read into Python.
    """
    from django.db.models import Func, OuterRef, Subquery

    listed = ResultTask.objects.filter(task_id=OuterRef("task_id"), result__dataset_id=OuterRef("dataset_id"))
    count = listed.order_by().annotate(n=Func(F("id"), function="COUNT")).values("n")
    found: dict[int, tuple[int, int | None]] = {}
    # One query per direction of the primary metric: boards ranked higher-is-better, then the others.
    for higher in (True, False):
        chosen = [b.pk for b in boards if (b.primary_metric.higher_is_better if b.primary_metric else True) == higher]
        if not chosen:
            continue
        best = (
            MetricValue.objects.filter(
                metric_id=OuterRef("primary_metric_id"),
                value__isnull=False,
                result__dataset_id=OuterRef("dataset_id"),
                result__listings__task_id=OuterRef("task_id"),
            )
            .order_by(*sql_ordering(ranking.ordering(higher), VALUE_SQL_FIELDS))
            .values("id")[:1]
        )
        for pk, n, best_id in (
            Leaderboard.objects.filter(pk__in=chosen)
            .annotate(n=Subquery(count), best=Subquery(best))
            .values_list("pk", "n", "best")
            .order_by()
        ):
            found[pk] = (n, best_id)
    bests = {
        pk: (result_id, model_name, raw, paper_slug)
        for pk, result_id, model_name, raw, paper_slug in MetricValue.objects.filter(
            pk__in=[best_id for _, best_id in found.values() if best_id is not None]
        )
        .values_list(
            "pk",
            "result_id",
            "result__model_name",
            "raw",
            # An unconfirmed paper link is not the board's best paper (see leaderboard.claims).
            Case(When(claims.confirmed("result"), then=F("result__paper__slug"))),
        )
        .order_by()
    }
    summaries = {}
    for board in boards:
        n, best_id = found.get(board.pk, (0, None))
        result_id, model_name, raw, paper_slug = bests.get(best_id, (None, None, None, None))
        summaries[(board.task_id, board.dataset_id)] = (model_name, raw, paper_slug, n or 0, result_id)
    return summaries


def choose_notable_boards(limit: int = 8) -> list[int]:
    """The ids of the `limit` boards with the most results: a scan of every listing (~0.4 s at full scale)."""
    from django.db.models import Count

    pairs = list(
        ResultTask.objects.filter(via_category=False)
        .values("task_id", "result__dataset_id")
        .annotate(n=Count("id"))
        .order_by("-n", "task_id", "result__dataset_id")[: limit * 2]
    )
    boards = {
        (b.task_id, b.dataset_id): b.pk
        for b in Leaderboard.objects.filter(
            task_id__in={p["task_id"] for p in pairs},
            dataset_id__in={p["result__dataset_id"] for p in pairs},
        ).only("id", "task_id", "dataset_id")
    }
    return [boards[key] for key in ((p["task_id"], p["result__dataset_id"]) for p in pairs) if key in boards][:limit]


def notable_key(limit: int) -> str:
    """Where the kept choice of the `limit` notable boards is, in the default cache."""
    return f"home:notable-boards:{limit}"


def _board_set() -> dict:
    """Which database the boards are in (the first board's id, the earliest creation time), and how
    many boards there are with the newest id (they change when a board is made or deleted)."""
    from django.db.models import Count, Max, Min

    now = Leaderboard.objects.aggregate(n=Count("id"), last=Max("id"), first=Min("id"), born=Min("created_at"))
    born = now["born"].isoformat() if now["born"] else None
    return {"database": (now["first"], born), "boards": (now["n"], now["last"])}


def refresh_notable_boards(limit: int = 8, board_set: dict | None = None) -> list[int]:
    """Choose the notable boards again and keep the choice, with when and for which set of boards
    (`board_set`, read now if not given) it was made."""
    from django.core.cache import cache

    from leaderboard.cache import bump

    board_set = board_set or _board_set()
    ids = choose_notable_boards(limit)
    before = cache.get(notable_key(limit))
    cache.set(notable_key(limit), {**board_set, "at": time.time(), "ids": ids}, timeout=None)
    if before is not None and before.get("ids") != ids:
        bump()  # the home page's boards (kept with structure=True) change
    return ids


def notable_leaderboards(limit: int = 8) -> list[Leaderboard]:
    """The boards with the most results, from the kept choice: no visitor waits for the scan that makes it.

    A choice older than NOTABLE_CACHE_SECONDS, or made before a board was made or deleted, is still
    shown while a worker makes the next one (workers.tasks.refresh_notable_boards, queued once); a
    board that is gone is left out meanwhile. Only the first visitor, or the first after the database
    was replaced under a cache that outlived it, waits for the choice.
    """
    from django.core.cache import cache

    key = notable_key(limit)
    kept = cache.get(key)
    now = _board_set()
    if kept is None or kept.get("database") != now["database"]:
        ids = refresh_notable_boards(limit, now)
    else:
        ids = kept["ids"]
        if kept["boards"] != now["boards"]:
            stale = f"{key}:queued:{now['boards'][0]}:{now['boards'][1]}"
        else:
            stale = f"{key}:queued" if time.time() - kept["at"] > NOTABLE_CACHE_SECONDS else None
        if stale and cache.add(stale, 1, NOTABLE_CACHE_SECONDS):
            _queue_notable_refresh(limit)
    by_id = Leaderboard.objects.select_related("task", "dataset", "primary_metric").in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def _queue_notable_refresh(limit: int) -> None:
    """Ask a worker to choose the notable boards again; without a broker the kept choice stays."""
    from django.conf import settings

    from workers.app import app

    try:
        app.send_task(
            "workers.tasks.refresh_notable_boards",
            kwargs={"limit": limit},
            queue=settings.VERIFICATION_QUEUES["cpu"],
            retry=False,
        )
    except Exception:
        logger.exception("Could not queue a new choice of notable boards; the current one stays")


def active_leaderboards(limit: int = 8) -> list[Leaderboard]:
    """The boards that received results most recently (newest results first)."""
    # The newest results from the created_at index first, then their listings: ordering the
    # listings by a column of the joined result sorted every listing of the archive.
    recent = list(Result.objects.order_by("-created_at", "-id").values_list("id", "dataset_id")[: limit * 10])
    tasks: dict[int, list[int]] = {}
    for result_id, task_id in ResultTask.objects.filter(
        result_id__in=[result_id for result_id, _ in recent], via_category=False
    ).values_list("result_id", "task_id"):
        tasks.setdefault(result_id, []).append(task_id)
    keys: list[tuple[int, int]] = []
    for result_id, dataset_id in recent:
        for task_id in sorted(tasks.get(result_id, [])):
            if (task_id, dataset_id) not in keys:
                keys.append((task_id, dataset_id))
    keys = keys[:limit]
    boards = Leaderboard.objects.filter(
        task_id__in={k[0] for k in keys}, dataset_id__in={k[1] for k in keys}
    ).select_related("task", "dataset", "primary_metric")
    by_key = {(b.task_id, b.dataset_id): b for b in boards}
    return [by_key[k] for k in keys if k in by_key]


def paper_rows(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """Just what a list of papers shows: title, date and venue in the same query, then the
    authors and the code links of the whole page in one query each."""
    from leaderboard.models import PaperAuthor, PaperRepository

    return (
        papers.select_related("proceeding")
        .only("slug", "title", "published", "proceeding__name")
        .prefetch_related(
            Prefetch(
                "authorships",
                queryset=PaperAuthor.objects.select_related("author").only(
                    "paper_id", "position", "author__name", "author__slug"
                ),
            ),
            Prefetch(
                "code_links",
                queryset=PaperRepository.objects.select_related("repository").only(
                    "paper_id", "is_official", "repository__url", "repository__stars"
                ),
            ),
        )
    )


def recent_papers(limit: int = 8) -> QuerySet[Paper]:
    """The newest papers by publication date, as the paper list orders them (read from its index)."""
    return paper_rows(Paper.objects.order_by(*NEWEST_FIRST))[:limit]


def recent_verified_results(limit: int = 8) -> QuerySet[Result]:
    return (
        Result.objects.filter(provenance=Result.Provenance.VERIFIED)
        .select_related("dataset", "paper", *verification_relation())
        .order_by("-created_at", "-id")[:limit]
    )


BROWSE_TASKS_PER_AREA = 24


@dataclass(frozen=True)
class AreaTasks:
    """An area (None: the tasks in no area) with its first tasks and how many it has in all."""

    area: object
    tasks: list
    total: int

    @property
    def slug(self) -> str:
        return self.area.slug if self.area is not None else "other"

    @property
    def name(self) -> str:
        return self.area.name if self.area is not None else "Other tasks"


def areas_with_tasks(per_area: int | None = None) -> list[AreaTasks]:
    """Every area with its tasks that have the most leaderboards (then by name), at most `per_area`
    (default BROWSE_TASKS_PER_AREA) each.

    Tasks in no area come last, under "Other tasks". Three light queries, whatever the number of tasks;
    an area's full list is area_tasks().
    """
    from django.db.models import Count

    from leaderboard.models import Area, Task

    per_area = per_area or BROWSE_TASKS_PER_AREA
    boards = dict(Leaderboard.objects.values_list("task_id").annotate(n=Count("id")).order_by())
    grouped: dict[int | None, list] = {}
    for area_id, task_id, name, slug in Task.areas.through.objects.values_list(
        "area_id", "task_id", "task__name", "task__slug"
    ).order_by():
        grouped.setdefault(area_id, []).append((-boards.get(task_id, 0), name, slug))
    for task_id, name, slug in Task.objects.filter(areas=None).values_list("id", "name", "slug").order_by():
        grouped.setdefault(None, []).append((-boards.get(task_id, 0), name, slug))
    out = []
    for area in [*Area.objects.order_by("name"), None]:
        tasks = grouped.get(area.pk if area is not None else None, [])
        if area is None and not tasks:
            continue
        first = sorted(tasks)[:per_area]
        out.append(AreaTasks(area, [{"name": name, "slug": slug} for _, name, slug in first], len(tasks)))
    return out


def area_tasks(slug: str):
    """All tasks of the area with this slug ("other": the tasks in no area), by name; Area.DoesNotExist if none."""
    from leaderboard.models import Area, Task

    if slug == "other":
        return None, Task.objects.filter(areas=None).order_by("name", "id").only("name", "slug")
    area = Area.objects.get(slug=slug)
    return area, area.tasks.order_by("name", "id").only("name", "slug")


# Parent tasks and subtasks a task page shows; one more is read to tell whether there are others.
RELATED_TASKS_SHOWN = 50


def task_page_task(slug: str):
    """The task with its areas and its first RELATED_TASKS_SHOWN + 1 parents and subtasks by name
    (task.shown_parents, task.shown_children)."""
    from leaderboard.models import Task

    first = Task.objects.only("name", "slug").order_by("name", "id")[: RELATED_TASKS_SHOWN + 1]
    return Task.objects.prefetch_related(
        Prefetch("parents", queryset=first, to_attr="shown_parents"),
        Prefetch("children", queryset=first, to_attr="shown_children"),
        "areas",
    ).get(slug=slug)


# Boards a task or dataset page shows; one more is read to tell whether there are others.
BOARDS_SHOWN = 100


def task_leaderboards(task) -> list[Leaderboard]:
    """The task's first BOARDS_SHOWN + 1 boards by dataset name."""
    boards = task.leaderboards.select_related("task", "dataset", "primary_metric").order_by("dataset__name", "id")
    return list(boards[: BOARDS_SHOWN + 1])


def task_papers(task) -> QuerySet[Paper]:
    return paper_rows(task.papers.order_by(*NEWEST_FIRST))


def task_datasets(task):
    from leaderboard.models import Dataset

    # One IN over a UNION, not an OR of two IN subqueries: PostgreSQL turns the
    # OR into a scan of every dataset, the UNION into two index look-ups.
    tagged = Dataset.tasks.through.objects.filter(task_id=task.pk).values("dataset_id").order_by()
    with_boards = Leaderboard.objects.filter(task_id=task.pk).values("dataset_id").order_by()
    return Dataset.objects.filter(pk__in=tagged.union(with_boards)).only("name", "slug", "full_name")


def paper_list() -> QuerySet[Paper]:
    return paper_rows(Paper.objects.order_by(*NEWEST_FIRST))


def dataset_list():
    from leaderboard.models import Dataset

    # Names are unique: ordered by the name's index alone.
    return Dataset.objects.order_by("name").only("name", "slug", "full_name", "introduced_date")


def method_list():
    from leaderboard.models import Method

    return Method.objects.order_by("name", "id").only("name", "slug", "full_name", "introduced_year", "description")


def dataset_page_dataset(slug: str):
    from leaderboard.models import Dataset

    return Dataset.objects.select_related("paper").prefetch_related("aliases", "tasks").get(slug=slug)


def dataset_leaderboards(dataset) -> list[Leaderboard]:
    """The dataset's first BOARDS_SHOWN + 1 boards by task name."""
    boards = dataset.leaderboards.select_related("task", "dataset", "primary_metric").order_by("task__name", "id")
    return list(boards[: BOARDS_SHOWN + 1])


def dataset_papers(dataset) -> QuerySet[Paper]:
    """Papers with results on the dataset, newest first (a list that new results change: cache it with
    results=True)."""
    paper_ids = Result.objects.filter(claims.confirmed(), dataset=dataset, paper__isnull=False).values("paper_id")
    return paper_rows(Paper.objects.filter(pk__in=paper_ids).order_by(*NEWEST_FIRST))


def method_page_method(slug: str):
    from leaderboard.models import Method

    return Method.objects.select_related("paper").get(slug=slug)


def method_papers(method) -> QuerySet[Paper]:
    return paper_rows(method.papers.order_by(*NEWEST_FIRST))


def author_papers(author) -> QuerySet[Paper]:
    return paper_rows(author.papers.order_by(*NEWEST_FIRST))


def user_submissions(user) -> QuerySet:
    """The user's verification submissions, newest first, with just what the profile's list shows of
    each: its benchmark and board (names), the current run's status (never its log or CED curve)."""
    return (
        user.submissions.select_related("benchmark__leaderboard", "current_run")
        .only("owner", "model_name", "private", "kind", "created_at", "result_id", "benchmark__slug", "benchmark__name",
              "benchmark__leaderboard__slug", "current_run__status")
        .order_by("-created_at", "-id")
    )


# ---------------------------------------------------------------------------
# The leaderboard page ranks in SQL and builds only the rows it shows: the
# biggest boards of the archive hold thousands of results.

SOTA_PAGE_SIZE = 100


@dataclass
class SotaPage:
    rows: list[SotaRow]
    total: int
    ranked: int
    offset: int
    page_size: int

    @property
    def complete(self) -> bool:
        return self.total <= len(self.rows)

    @property
    def number(self) -> int:
        return self.offset // self.page_size + 1

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _ranked_results(board: Leaderboard, metric, uses_additional_data: bool | None, worst_first: bool):
    """The board's results, annotated with the ranking value (`rank_value`), and the rule's ORDER BY."""
    from django.db.models import OuterRef, Subquery

    results = Result.objects.filter(dataset_id=board.dataset_id, listings__task_id=board.task_id)
    if uses_additional_data is not None:
        results = results.filter(uses_additional_data=uses_additional_data)
    if metric is None:
        terms = [t for t in ranking.ordering(True, worst_first) if t.field != ranking.VALUE]
        return results, sql_ordering(terms)
    value = MetricValue.objects.filter(result_id=OuterRef("pk"), metric_id=metric.pk).values("value")[:1]
    return results.annotate(rank_value=Subquery(value)), sql_ordering(
        ranking.ordering(metric.higher_is_better, worst_first)
    )


def _table_counts(results, metric) -> tuple[int, int]:
    """(rows, rows with the ranking metric) of a _ranked_results() query."""
    from django.db.models import Count

    if metric is None:
        return results.count(), 0
    counts = results.aggregate(total=Count("pk"), ranked=Count("pk", filter=Q(rank_value__isnull=False)))
    return counts["total"], counts["ranked"]


def _table_rows(results, order, ranked: int, worst_first: bool, offset: int, limit: int) -> list[SotaRow]:
    chosen = list(
        results.order_by(*order)
        .select_related("paper", "model", *verification_relation())
        .prefetch_related(Prefetch("values", queryset=MetricValue.objects.select_related("metric")))[
            offset : offset + limit
        ]
    )
    present = [getattr(result, "rank_value", None) is not None for result in chosen]
    rows = []
    for rank, result in zip(ranking.rank_numbers(present, ranked, worst_first, offset), chosen, strict=True):
        row = SotaRow(rank=rank, result=result, values={v.metric.name: v for v in result.values.all()})
        row._primary = getattr(result, "rank_value", None)
        rows.append(row)
    return rows


def sota_page(
    board: Leaderboard,
    metric=None,
    uses_additional_data: bool | None = None,
    worst_first: bool = False,
    page: int = 1,
    page_size: int = SOTA_PAGE_SIZE,
) -> SotaPage:
    """One page of the SotA table, ranked in SQL by the rule of rules.ranking.

    The ORDER BY is built from rules.ranking.ordering(), the terms sota_table
    sorts by in Python: best value first in the metric's direction, rows
    without it last, ties to the earlier result (evaluation date, then order
    of recording). Worst first reverses the ranked rows; rows without the
    metric stay last. Ranks number the rows with a value, 1…n.
    """
    metric = metric or board.primary_metric
    results, order = _ranked_results(board, metric, uses_additional_data, worst_first)
    total, ranked = _table_counts(results, metric)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    offset = (page - 1) * page_size
    rows = _table_rows(results, order, ranked, worst_first, offset, page_size)
    return SotaPage(rows=rows, total=total, ranked=ranked, offset=offset, page_size=page_size)


class RankedResults(Sequence):
    """A board's results best first (its primary metric), for a paginator: counted once, read a slice at a time.

    `ranks` gathers the rank of every result read so far (result id -> rank).
    """

    def __init__(self, board: Leaderboard):
        self.board = board
        self.metric = board.primary_metric
        self.results, self.order = _ranked_results(board, self.metric, None, False)
        self.ranks: dict[int, int] = {}

    @cached_property
    def _counts(self) -> tuple[int, int]:
        return _table_counts(self.results, self.metric)

    def __len__(self) -> int:
        return self._counts[0]

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(len(self))
        rows = _table_rows(self.results, self.order, self._counts[1], False, start, max(0, stop - start))
        self.ranks.update({row.result.pk: row.rank for row in rows if row.rank is not None})
        return [row.result for row in rows]


def result_rank(board: Leaderboard, result_id: int) -> int | None:
    """The rank of one result on the board by its primary metric (None: it lacks the metric), in one light query."""
    metric = board.primary_metric
    if metric is None:
        return None
    results, order = _ranked_results(board, metric, None, False)
    ids = list(results.filter(rank_value__isnull=False).order_by(*order).values_list("pk", flat=True))
    return ids.index(result_id) + 1 if result_id in ids else None


# The columns of a Result query (annotated with `rank_value`) behind rules.ranking's fields.
SQL_FIELDS = {ranking.VALUE: "rank_value", ranking.DATE: "evaluated_on", ranking.RECORDED: "pk"}
# The same fields seen from a metric value (a board's values of its ranking metric).
VALUE_SQL_FIELDS = {ranking.VALUE: "value", ranking.DATE: "result__evaluated_on", ranking.RECORDED: "result_id"}


def sql_ordering(terms, fields: dict[str, str] = SQL_FIELDS) -> list:
    """rules.ranking terms as ORDER BY expressions over `fields` (results by default)."""
    from django.db.models import F

    out = []
    for term in terms:
        column = F(fields[term.field])
        nulls = {"nulls_last": True} if term.nulls_last else {"nulls_first": True}
        out.append(column.desc(**nulls) if term.descending else column.asc(**nulls))
    return out


def board_values(board: Leaderboard, metric, uses_additional_data: bool | None = None) -> QuerySet[MetricValue]:
    """The board's values of `metric` that have a number (optionally only with or without extra data)."""
    values = MetricValue.objects.filter(
        metric_id=metric.pk,
        value__isnull=False,
        result__dataset_id=board.dataset_id,
        result__listings__task_id=board.task_id,
    )
    if uses_additional_data is not None:
        values = values.filter(result__uses_additional_data=uses_additional_data)
    return values


def sota_series(board: Leaderboard, metric, uses_additional_data: bool | None = None) -> list[dict]:
    """The SotA-over-time points of the whole board (every dated result), from one light query."""
    if metric is None:
        return []
    values = board_values(board, metric, uses_additional_data).filter(result__evaluated_on__isnull=False)
    points = values.order_by("result__evaluated_on", "result_id").values_list(
        "result__evaluated_on", "result__model_name", "value", "result_id"
    )
    return _series(list(points), metric.higher_is_better)


def sota_chart(board: Leaderboard, metric, uses_additional_data: bool | None = None) -> list[dict]:
    """The page chart's points: sota_series' points, each with what its tooltip and link need.

    Adds the result's provenance (verified and self-reported points are drawn
    apart), its paper's title (none while the paper link is unconfirmed) and its
    rank on the board by rules.ranking, which tells the page its row's page. One query.
    """
    if metric is None:
        return []
    rows = list(
        board_values(board, metric, uses_additional_data)
        .order_by().values_list(
            "result_id",
            "result__evaluated_on",
            "result__model_name",
            "value",
            "result__provenance",
            "result__paper_link_confirmed",
            "result__paper__title",
            "result__listed_paper_title",
        )
    )
    table = ranking.ranked(rows, metric.higher_is_better, entry=lambda r: ranking.Entry(r[3], r[1], r[0]))
    rank = {row[0]: position for position, row in enumerate(table, start=1)}
    about = {row[0]: row for row in rows}
    dated = sorted((row for row in rows if row[1] is not None), key=lambda r: (r[1], r[0]))
    points = _series([(r[1], r[2], r[3], r[0]) for r in dated], metric.higher_is_better)
    for point in points:
        _, _, _, _, provenance, confirmed, title, listed = about[point["result_id"]]
        point["rank"] = rank[point["result_id"]]
        point["provenance"] = provenance
        point["paper"] = (title or listed or "") if confirmed else ""
    return points


def with_cells(rows: list[SotaRow], columns: list) -> list[SotaRow]:
    """Give each row its metric cells in column order, (raw text, plain number), and its date, for a fast template."""
    for row in rows:
        cells = []
        for metric in columns:
            value = row.values.get(metric.name)
            number = "" if value is None or value.value is None else format(value.value.normalize(), "f")
            cells.append((value.raw if value else "", number))
        row.cells = cells
        # Dates as text here: the template's |date filter costs ~0.1 ms a call.
        date = row.result.evaluated_on
        row.date = date.isoformat() if date else ""
        row.month = date.strftime("%Y-%m") if date else ""
    return rows


# ---------------------------------------------------------------------------
# Page caches. Every entry lives in the one generation cache
# (leaderboard.cache) that also holds the API's tables and counts: a write
# to the knowledge base or the verification app starts a new generation, at
# once and again on commit, so no page shows data older than the last write
# (or, for writes that send no signal, API_CACHE_SECONDS).


def cached(key: str, build, board: Leaderboard | None = None, structure: bool = False, results: bool = False):
    """`build()`, cached under `key` until the next write (see leaderboard.cache); with `board`,
    until the next write to its results or to anything but results; with `structure` (for what
    reads no results), until the next write but an edit of values or a new result; with `results`
    (for what reads of results only where they sit: dataset, paper, listings), until the next write
    but an edit of values."""
    from leaderboard.cache import cached_table

    board_key = (board.task_id, board.dataset_id) if board else None
    return cached_table(f"web:{key}", build, board=board_key, structure=structure, results=results)


def sql_of(queryset) -> str | None:
    """The SQL of a queryset, as a cache key; None when it can match nothing."""
    from django.core.exceptions import EmptyResultSet

    try:
        return str(queryset.query)
    except EmptyResultSet:
        return None


def cached_list(queryset, results: bool = False) -> list:
    """The rows of a (sliced) queryset that reads no values, cached under its SQL: with `results` when it
    reads where results sit (dataset_papers), else as what reads no result (structure=True)."""
    sql = sql_of(queryset)
    return [] if sql is None else cached(f"list:{sql}", lambda: list(queryset), structure=True, results=results)


def _home_boards() -> tuple:
    return notable_leaderboards(), active_leaderboards()


def home_page() -> dict:
    """What the home page shows: the notable boards (the most results) and the active ones (the newest
    results) with their best entries, the latest papers and the latest verified results.

    The papers are kept through every write to results (structure=True); which boards, which new
    results change, through edits of values (results=True). Choosing them again reads the kept choice
    of notable boards, and queues a new choice when it is old (notable_leaderboards); a new choice
    moves the structure number (refresh_notable_boards)."""
    papers = cached("home-papers", lambda: list(recent_papers()), structure=True)
    notable, active = cached("home-boards", _home_boards, results=True)
    summaries = best_of_boards(notable + active)
    return {
        "notable": summaries[: len(notable)],
        "active": summaries[len(notable) :],
        "papers": papers,
        "verified": list(recent_verified_results()),
    }


# The task, dataset and paper pages read their parts in two ways. What reads no results (the task or
# dataset with its boards, the paper with its authors, related papers) is cached with
# structure=True, through edits of results' values and new results; each board's best entry is kept with the
# board's version (best_of_boards). Right after an edit of one board's values, rebuilding a task
# or dataset page reads that board's best entry again and nothing else.


def _dataset_structure(slug: str) -> tuple:
    dataset = dataset_page_dataset(slug)
    return dataset, dataset_leaderboards(dataset)


def dataset_page(slug: str) -> tuple:
    """The dataset and its boards with their best entries; Dataset.DoesNotExist if none."""
    dataset, boards = cached(f"dataset-structure:{slug}", lambda: _dataset_structure(slug), structure=True)
    return dataset, best_of_boards(boards)


def _task_structure(slug: str) -> tuple:
    task = task_page_task(slug)
    return task, task_leaderboards(task), list(task_datasets(task)[:50])


def task_page(slug: str) -> tuple:
    """The task, its boards with their best entries and its first 50 datasets; Task.DoesNotExist if none."""
    task, boards, datasets = cached(f"task-structure:{slug}", lambda: _task_structure(slug), structure=True)
    return task, best_of_boards(boards), datasets


def _board_structure(slug: str) -> tuple:
    board = leaderboard_page_board(slug)
    return board, leaderboard_columns(board)


def leaderboard_page(slug: str) -> tuple:
    """The board and its metric columns, kept through edits of values; Leaderboard.DoesNotExist if none."""
    return cached(f"board:{slug}", lambda: _board_structure(slug), structure=True)


def users_claim(user, paper: Paper):
    """The signed-in user's claim to `paper` (shown beside the claim button), or None."""
    if not user.is_authenticated:
        return None
    return paper.claims.filter(user=user).first()


def paper_page(slug: str, page_size: int = SOTA_PAGE_SIZE) -> tuple:
    """The paper, its standing on each leaderboard, its per-category result rows and related
    papers; Paper.DoesNotExist if none. `page_size`: the leaderboard page's rows per page."""
    paper, related = cached(f"paper-structure:{slug}", lambda: _paper_structure(slug), structure=True)
    results = paper_results(paper)
    return paper, paper_boards(results, page_size), paper_result_rows(paper, results), related


def _paper_structure(slug: str) -> tuple:
    paper = paper_page_paper(slug)
    return paper, list(related_papers(paper))

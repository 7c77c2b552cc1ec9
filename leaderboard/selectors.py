"""Reads with domain rules: the paper page's results, related papers, SotA tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, F, Prefetch, Q, QuerySet, When

from leaderboard import claims
from leaderboard.models import Leaderboard, MetricValue, Paper, Result, ResultTask
from leaderboard.rules import ranking
from leaderboard.rules.columns import shown_columns


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


RELATED_CANDIDATES = 5000


def related_papers(paper: Paper, limit: int = 8) -> QuerySet[Paper]:
    """Papers that share a task with `paper`, newest first."""
    task_ids = [task.pk for task in paper.tasks.all()]
    # Candidates first, then sort them: walking every paper newest-first to probe
    # its tasks is slow when related papers are rare; huge tasks are capped.
    sharing = (
        Paper.tasks.through.objects.filter(task_id__in=task_ids)
        .exclude(paper_id=paper.pk)
        .order_by("-paper_id")
        .values_list("paper_id", flat=True)[:RELATED_CANDIDATES]
    )
    return (
        Paper.objects.filter(pk__in=list(sharing))
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
    """Each board with its current best model and value, in one query for all of them."""
    if not boards:
        return []
    wanted = {(b.task_id, b.dataset_id): b for b in boards}
    values = (
        ResultTask.objects.filter(
            task_id__in={b.task_id for b in boards},
            result__dataset_id__in={b.dataset_id for b in boards},
        )
        .values_list(
            "task_id",
            "result__dataset_id",
            "result_id",
            "result__model_name",
            "result__evaluated_on",
            # An unconfirmed paper link is not the board's best paper (see leaderboard.claims).
            Case(When(claims.confirmed("result"), then=F("result__paper__slug"))),
        )
        .order_by()
    )
    values = list(values)
    primary = {b.primary_metric_id for b in boards if b.primary_metric_id}
    numbers = {
        (result_id, metric_id): (value, raw)
        for result_id, metric_id, value, raw in MetricValue.objects.filter(
            metric_id__in=primary, result_id__in={row[2] for row in values}
        )
        .values_list("result_id", "metric_id", "value", "raw")
        .order_by()
    }
    candidates: dict[int, list] = {b.pk: [] for b in boards}
    counts: dict[int, int] = {b.pk: 0 for b in boards}
    for task_id, dataset_id, result_id, model_name, date, paper_slug in values:
        board = wanted.get((task_id, dataset_id))
        if board is None:
            continue
        counts[board.pk] += 1
        value, raw = numbers.get((result_id, board.primary_metric_id), (None, None))
        if value is not None:
            candidates[board.pk].append((ranking.Entry(value, date, result_id), model_name, raw, paper_slug))
    summaries = []
    for board in boards:
        higher = board.primary_metric.higher_is_better if board.primary_metric else True
        best = ranking.best_of(candidates[board.pk], higher, entry=lambda c: c[0])
        summaries.append(
            BoardSummary(
                board=board,
                best_model=best[1] if best else None,
                best_value=best[2] if best else None,
                best_paper_slug=best[3] if best else None,
                result_count=counts[board.pk],
                best_result_id=best[0].recorded if best else None,
            )
        )
    return summaries


def notable_leaderboards(limit: int = 8) -> list[Leaderboard]:
    """The boards with the most results, cached for NOTABLE_CACHE_SECONDS: counting them scans every listing.

    Deliberately not in the generation cache, so a write does not cost that scan on the next home
    page: which boards are the biggest changes slowly, and what they show is read fresh."""
    from django.core.cache import cache
    from django.db.models import Count

    ids = cache.get("home:notable-boards")
    if ids is None:
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
        ids = [boards[key] for key in ((p["task_id"], p["result__dataset_id"]) for p in pairs) if key in boards][:limit]
        cache.set("home:notable-boards", ids, NOTABLE_CACHE_SECONDS)
    by_id = Leaderboard.objects.select_related("task", "dataset", "primary_metric").in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def active_leaderboards(limit: int = 8) -> list[Leaderboard]:
    """The boards that received results most recently (newest results first)."""
    recent = (
        ResultTask.objects.filter(via_category=False)
        .order_by("-result__created_at", "-result_id")
        .values_list("task_id", "result__dataset_id")[: limit * 10]
    )
    keys: list[tuple[int, int]] = []
    for key in recent:
        if key not in keys:
            keys.append(key)
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
    """The newest papers by publication date, as the paper list orders them."""
    return paper_rows(Paper.objects.order_by("-published", "-id"))[:limit]


def recent_verified_results(limit: int = 8) -> QuerySet[Result]:
    return (
        Result.objects.filter(provenance=Result.Provenance.VERIFIED)
        .select_related("dataset", "paper", *verification_relation())
        .order_by("-created_at", "-id")[:limit]
    )


def areas_with_tasks() -> tuple[list, list]:
    """Every area with its tasks; tasks in no area are listed under "Other"."""
    from leaderboard.models import Area, Task

    areas = list(Area.objects.prefetch_related(Prefetch("tasks", queryset=Task.objects.only("name", "slug"))))
    orphans = list(Task.objects.filter(areas=None).only("name", "slug"))
    return areas, orphans


def task_page_task(slug: str):
    from leaderboard.models import Task

    return Task.objects.prefetch_related(
        Prefetch("parents", queryset=Task.objects.only("name", "slug")),
        Prefetch("children", queryset=Task.objects.only("name", "slug")),
        "areas",
    ).get(slug=slug)


def task_leaderboards(task) -> list[BoardSummary]:
    boards = list(task.leaderboards.select_related("task", "dataset", "primary_metric").order_by("dataset__name"))
    return best_of_boards(boards)


def task_papers(task) -> QuerySet[Paper]:
    return paper_rows(task.papers.order_by("-published", "-id"))


def task_datasets(task):
    from leaderboard.models import Dataset

    # One IN over a UNION, not an OR of two IN subqueries: PostgreSQL turns the
    # OR into a scan of every dataset, the UNION into two index look-ups.
    tagged = Dataset.tasks.through.objects.filter(task_id=task.pk).values("dataset_id").order_by()
    with_boards = Leaderboard.objects.filter(task_id=task.pk).values("dataset_id").order_by()
    return Dataset.objects.filter(pk__in=tagged.union(with_boards)).only("name", "slug", "full_name")


def paper_list() -> QuerySet[Paper]:
    return paper_rows(Paper.objects.order_by("-published", "-id"))


def dataset_list():
    from leaderboard.models import Dataset

    return Dataset.objects.order_by("name", "id").only("name", "slug", "full_name", "introduced_date")


def method_list():
    from leaderboard.models import Method

    return Method.objects.order_by("name", "id").only("name", "slug", "full_name", "introduced_year", "description")


def dataset_page_dataset(slug: str):
    from leaderboard.models import Dataset

    return Dataset.objects.select_related("paper").prefetch_related("aliases", "tasks").get(slug=slug)


def dataset_leaderboards(dataset) -> list[BoardSummary]:
    boards = list(dataset.leaderboards.select_related("task", "dataset", "primary_metric").order_by("task__name"))
    return best_of_boards(boards)


def dataset_papers(dataset) -> QuerySet[Paper]:
    """Papers with results on the dataset, newest first."""
    paper_ids = Result.objects.filter(claims.confirmed(), dataset=dataset, paper__isnull=False).values("paper_id")
    return paper_rows(Paper.objects.filter(pk__in=paper_ids).order_by("-published", "-id"))


def method_page_method(slug: str):
    from leaderboard.models import Method

    return Method.objects.select_related("paper").get(slug=slug)


def method_papers(method) -> QuerySet[Paper]:
    return paper_rows(method.papers.order_by("-published", "-id"))


def author_papers(author) -> QuerySet[Paper]:
    return paper_rows(author.papers.order_by("-published", "-id"))


def user_submissions(user) -> list:
    """The user's verification submissions, newest first, each with its benchmark and current run."""
    manager = getattr(user, "submissions", None)  # verification.Submission.owner, related_name="submissions"
    if manager is None:
        return []
    return list(manager.select_related("benchmark__leaderboard", "current_run").order_by("-created_at", "-id")[:100])


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
    from django.db.models import Count, OuterRef, Subquery

    metric = metric or board.primary_metric
    results = Result.objects.filter(dataset_id=board.dataset_id, listings__task_id=board.task_id)
    if uses_additional_data is not None:
        results = results.filter(uses_additional_data=uses_additional_data)
    if metric is not None:
        value = MetricValue.objects.filter(result_id=OuterRef("pk"), metric_id=metric.pk).values("value")[:1]
        results = results.annotate(rank_value=Subquery(value))
        counts = results.aggregate(total=Count("pk"), ranked=Count("pk", filter=Q(rank_value__isnull=False)))
        terms = ranking.ordering(metric.higher_is_better, worst_first)
    else:
        counts = {"total": results.count(), "ranked": 0}
        terms = [t for t in ranking.ordering(True, worst_first) if t.field != ranking.VALUE]
    total, ranked = counts["total"], counts["ranked"]
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    offset = (page - 1) * page_size
    chosen = list(
        results.order_by(*sql_ordering(terms))
        .select_related("paper", "model", *verification_relation())
        .prefetch_related(Prefetch("values", queryset=MetricValue.objects.select_related("metric")))[
            offset : offset + page_size
        ]
    )
    present = [getattr(result, "rank_value", None) is not None for result in chosen]
    rows = []
    for rank, result in zip(ranking.rank_numbers(present, ranked, worst_first, offset), chosen, strict=True):
        row = SotaRow(rank=rank, result=result, values={v.metric.name: v for v in result.values.all()})
        row._primary = getattr(result, "rank_value", None)
        rows.append(row)
    return SotaPage(rows=rows, total=total, ranked=ranked, offset=offset, page_size=page_size)


# The columns of a Result query (annotated with `rank_value`) behind rules.ranking's fields.
SQL_FIELDS = {ranking.VALUE: "rank_value", ranking.DATE: "evaluated_on", ranking.RECORDED: "pk"}


def sql_ordering(terms) -> list:
    """rules.ranking terms as ORDER BY expressions."""
    from django.db.models import F

    out = []
    for term in terms:
        column = F(SQL_FIELDS[term.field])
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


def notable_summaries(limit: int = 8) -> list[BoardSummary]:
    """The notable boards with their best entries, in the generation cache: a write shows at once.

    Only the choice of boards (a ranking by size, see notable_leaderboards) may lag behind."""
    return cached(f"notable-summaries:{limit}", lambda: best_of_boards(notable_leaderboards(limit)))


# ---------------------------------------------------------------------------
# Page caches. Every entry lives in the one generation cache
# (leaderboard.api.cache) that also holds the API's tables and counts: a write
# to the knowledge base or the verification app starts a new generation, at
# once and again on commit, so no page shows data older than the last write
# (or, for writes that send no signal, API_CACHE_SECONDS).


def cached(key: str, build):
    """`build()`, cached under `key` until the next write (see leaderboard.api.cache)."""
    from leaderboard.api.cache import cached_table

    return cached_table(f"web:{key}", build)


def cached_list(queryset) -> list:
    """The rows of a (sliced) queryset, cached under its SQL."""
    from django.core.exceptions import EmptyResultSet

    try:
        sql = str(queryset.query)
    except EmptyResultSet:
        return []
    return cached(f"list:{sql}", lambda: list(queryset))


def home_page() -> dict:
    """What the home page shows, apart from the notable boards (cached on their own)."""
    return {
        "active": best_of_boards(active_leaderboards()),
        "papers": list(recent_papers()),
        "verified": list(recent_verified_results()),
    }


def task_page(slug: str) -> tuple:
    """The task, its boards with their best entries and its first 50 datasets; Task.DoesNotExist if none."""
    task = task_page_task(slug)
    return task, task_leaderboards(task), list(task_datasets(task)[:50])


def leaderboard_page(slug: str) -> tuple:
    """The board and its metric columns; Leaderboard.DoesNotExist if none."""
    board = leaderboard_page_board(slug)
    return board, leaderboard_columns(board)


def users_claim(user, paper: Paper):
    """The signed-in user's claim to `paper` (shown beside the claim button), or None."""
    if not user.is_authenticated:
        return None
    return paper.claims.filter(user=user).first()


def paper_page(slug: str, page_size: int = SOTA_PAGE_SIZE) -> tuple:
    """The paper, its standing on each leaderboard, its per-category result rows and related
    papers; Paper.DoesNotExist if none. `page_size`: the leaderboard page's rows per page."""
    paper = paper_page_paper(slug)
    results = paper_results(paper)
    return paper, paper_boards(results, page_size), paper_result_rows(paper, results), list(related_papers(paper))

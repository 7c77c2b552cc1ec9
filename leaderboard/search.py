"""Search: one ranked search of papers, tasks, datasets, methods, models and leaderboards.

The web page (/search/) calls `search()`, the API (/api/v1/search/) calls
`find_papers()`, which `search()` uses for its papers: both list the same
papers in the same order.

Papers (PostgreSQL): full-text search in websearch syntax ("exact phrase",
or, -word) with English stemming. A broad query matches hundreds of thousands
of papers, and ranking them all costs seconds, so only a bounded candidate set
is ranked: up to TITLE_CANDIDATES papers whose title matches (GIN index of
migration 0006) and PAPER_CANDIDATES whose title or abstract match (GIN index
of 0004), both taken in index order, plus the papers of models named exactly
like the query. The candidates are ranked: an exact title first, then papers
with a model of that name, then ts_rank with title words weighted above
abstract words (A against D), then the newest. When the title-or-abstract
candidates fill their bound, the total is the planner's estimate ("about
380,000"); otherwise it is exact.

Names (PostgreSQL): each section ranks its names exact match first, then
prefix, then containing the query; a section where none of those matches
looks for names by trigram word similarity (pg_trgm), so a typo still finds
the name ("face aligment" finds Face Alignment). That last test runs only
when the words find few papers: a broad query is plainly spelt, and the test
costs the most. Every name column has a btree (equal, prefix) and a GIN
trigram (contains, similarity) index on UPPER(column), from migration 0006.
Leaderboards are named by their slug ("face-alignment-on-wflw"), matched
against the slugified query. When nothing at all matches, "Did you mean"
offers the closest task, dataset and method names.

SQLite keeps a simple fallback: every word contained (icontains; "a phrase"
as written, -word absent); papers in the order exact title, title starting
with the query, title containing it, the rest; names exact, prefix,
contains; a section with none of those compares the query with a bounded
list of its names by difflib, so typos are still tolerated on the small
databases SQLite serves.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, Expression, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length, Upper
from django.utils.text import slugify

from leaderboard.models import (
    Dataset,
    DatasetAlias,
    Leaderboard,
    Method,
    Model,
    Paper,
    Task,
    TaskAlias,
)

MAX_QUERY_LENGTH = 200
# Papers ranked per query: at most TITLE_CANDIDATES whose title matches and PAPER_CANDIDATES
# whose title or abstract match. Each title candidate costs a random heap read, each text
# candidate of a broad query a row of a sequential scan. Also the deepest a result list pages.
TITLE_CANDIDATES = 100
PAPER_CANDIDATES = 200
# Names kept per section; a section counts its matches up to NAME_COUNT_CAP.
NAME_LIMIT = 10
NAME_COUNT_CAP = 100
# Below this length the trigram index cannot serve "contains" or similarity: names match equal or prefix only.
SHORT_QUERY = 3
SUGGESTIONS = 5
# The lower similarity for "Did you mean": only asked when nothing matched at all.
SUGGESTION_SIMILARITY = 0.2
# SQLite: how many names difflib compares per table.
FALLBACK_NAMES = 5000

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str | None) -> str:
    """The query as searched: control characters (NUL above all, which PostgreSQL refuses in
    text) mean nothing in a search and become spaces; at most MAX_QUERY_LENGTH characters."""
    return " ".join(_CONTROL_CHARACTERS.sub(" ", (text or "")[:MAX_QUERY_LENGTH]).split())


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# ---------------------------------------------------------------------------
# Papers


@dataclass
class PaperHits:
    """The ranked paper ids (at most TITLE_CANDIDATES + PAPER_CANDIDATES, and the papers of models
    named like the query) and how many papers match."""

    ids: list[int] = field(default_factory=list)
    total: int = 0
    estimated: bool = False  # `total` is the planner's estimate, above what was ranked

    @property
    def more_than_ranked(self) -> bool:
        return self.total > len(self.ids)

    @property
    def count_text(self) -> str:
        """"12", or "about 380,000" for an estimate (two significant digits)."""
        if not self.estimated:
            return f"{self.total:,}"
        digits = max(len(str(self.total)) - 2, 0)
        return f"about {round(self.total, -digits):,}"

    @property
    def ranked_text(self) -> str:
        return f"{len(self.ids):,}"


# The tsquery is written out in each place, not taken from a CTE: as a constant the planner
# estimates how many papers it matches, and for a word in most abstracts it reads the table
# in order and stops at the bound instead of building a bitmap of 500,000 rows.
_TSQUERY = "websearch_to_tsquery('english', %(text)s)"
_TITLE_MATCHES = f"to_tsvector('english'::regconfig, title) @@ {_TSQUERY}"
_TEXT_MATCHES = f"search_document @@ {_TSQUERY}"
_BY_TITLE = f"SELECT id FROM leaderboard_paper WHERE {_TITLE_MATCHES} LIMIT {TITLE_CANDIDATES}"
_PAPER_RANKING = f"""
WITH by_title AS ({{by_title}}),
by_text AS (SELECT id FROM leaderboard_paper WHERE {_TEXT_MATCHES} LIMIT {PAPER_CANDIDATES}),
by_model AS (
    SELECT paper_id AS id FROM leaderboard_model
    WHERE UPPER(name::text) = UPPER(%(text)s) AND paper_id IS NOT NULL LIMIT {NAME_COUNT_CAP}
),
candidates AS (SELECT id FROM by_title UNION SELECT id FROM by_text UNION SELECT id FROM by_model)
SELECT p.id, (SELECT count(*) FROM by_text) AS text_matches
FROM leaderboard_paper p JOIN candidates c ON c.id = p.id
ORDER BY
    (UPPER(p.title::text) = UPPER(%(text)s)) DESC,
    (p.id IN (SELECT id FROM by_model)) DESC,
    ts_rank(setweight(to_tsvector('english'::regconfig, p.title), 'A') || p.search_document, {_TSQUERY}) DESC,
    p.published DESC NULLS LAST,
    p.id
"""
# Above this many estimated title matches, building their bitmap costs more than the rest of the
# search (30 ms for "transformer", in 32,000 titles), and the text candidates, read in table order,
# hold title matches at that same rate: the title candidates are left out.
TITLE_BITMAP_MAX = 5000


def _estimates(text: str) -> tuple[int, int]:
    """The planner's estimates of the papers whose title, and whose title or abstract, match (no scan).

    Each is the top node's row estimate of its own plan: a plan's inner nodes may be parallel
    (a Gather over workers), and those estimate each worker's share.
    """
    return _estimated_papers(_TITLE_MATCHES, text), _estimated_papers(_TEXT_MATCHES, text)


def _estimated_papers(condition: str, text: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM leaderboard_paper WHERE {condition}", {"text": text})
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _papers_postgres(text: str) -> PaperHits:
    title_estimate, estimate = _estimates(text)
    by_title = _BY_TITLE if title_estimate <= TITLE_BITMAP_MAX else "SELECT NULL::bigint AS id WHERE false"
    with connection.cursor() as cursor:
        cursor.execute(_PAPER_RANKING.format(by_title=by_title), {"text": text})
        rows = cursor.fetchall()
    ids = [row[0] for row in rows]
    if rows and rows[0][1] >= PAPER_CANDIDATES:
        return PaperHits(ids, max(estimate, len(ids)), estimated=True)
    return PaperHits(ids, len(ids))


def _all_words(fields: tuple[str, ...], words: list[str]) -> Q:
    condition = Q()
    for word in words:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        condition &= any_field
    return condition


_FALLBACK_TERM = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')


def _websearch_fallback(fields: tuple[str, ...], text: str) -> Q:
    """SQLite's reading of websearch syntax: "a phrase" is contained as written, -word is absent,
    every other word is contained; `or` is read as a plain word (PostgreSQL reads it as OR)."""
    condition = Q()
    for match in list(_FALLBACK_TERM.finditer(text))[:8]:
        minus, phrase = (match.group(1), match.group(2)) if match.group(2) is not None else match.group(3, 4)
        phrase = phrase.strip()
        if not phrase:
            continue
        term = _all_words(fields, [phrase])
        condition &= ~term if minus else term
    return condition


def _papers_fallback(text: str) -> PaperHits:
    tier = Case(
        When(title__iexact=text, then=Value(3)),
        When(title__istartswith=text, then=Value(2)),
        When(title__icontains=text, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    matches = Paper.objects.filter(_websearch_fallback(("title", "abstract"), text))
    by_model = Model.objects.filter(name__iexact=text, paper__isnull=False).values("paper_id")
    ranked = (
        Paper.objects.filter(Q(pk__in=matches.values("pk")[:PAPER_CANDIDATES]) | Q(pk__in=by_model))
        .annotate(tier=tier, named=Case(When(pk__in=by_model, then=Value(1)), default=Value(0)))
        .order_by("-tier", "-named", F("published").desc(nulls_last=True), "id")
    )
    ids = list(ranked.values_list("pk", flat=True))
    total = max(len(ids), matches.count()) if len(ids) >= PAPER_CANDIDATES else len(ids)
    return PaperHits(ids, total)


def find_papers(text: str) -> PaperHits:
    """The papers matching `text`, best first (the rule described at the top of this module);
    cached until the next write, so that paging through them ranks them once."""
    from leaderboard.cache import cached_table

    text = clean(text)
    if not text:
        return PaperHits()
    return cached_table(f"search:papers:{text}", lambda: _rank_papers(text))


def _rank_papers(text: str) -> PaperHits:
    return _papers_postgres(text) if _postgres() else _papers_fallback(text)


def in_order(queryset: QuerySet, ids: list[int]) -> list:
    """The rows of `queryset` with these ids, in the order of `ids`."""
    rows = queryset.in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def paper_matches(queryset: QuerySet, text: str) -> QuerySet:
    """`queryset` restricted to the papers whose title or abstract match `text` (a filter, unranked):
    the same match as the ranked search, for lists that keep their own order (/api/v1/papers/?q=)."""
    text = clean(text)
    if not text:
        return queryset
    if _postgres():
        from django.contrib.postgres.search import SearchQuery

        return queryset.alias(document=SearchDocument()).filter(
            document=SearchQuery(text, config="english", search_type="websearch")
        )
    return queryset.filter(_websearch_fallback(("title", "abstract"), text))


class SearchDocument(Expression):
    """A paper's stored search vector: the `search_document` column of migration 0004,
    to_tsvector('english', coalesce(title,'') || ' ' || coalesce(abstract,'')), GIN-indexed.
    The model does not declare it (SQLite has no such column), so it is named here under
    the alias the query gives the papers."""

    def __init__(self):
        from django.contrib.postgres.search import SearchVectorField

        super().__init__(output_field=SearchVectorField())

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.search_document", []


# ---------------------------------------------------------------------------
# Names


@dataclass(frozen=True)
class NameSource:
    """A column of names that points at an item of a section (its own row or, for an alias, the owner)."""

    model: type
    column: str
    owner: str = "pk"


@dataclass
class Section:
    items: list
    count: int  # matches, counted up to NAME_COUNT_CAP
    capped: bool = False
    fuzzy: list = field(default_factory=list)  # the items found by similarity alone (a typo)

    @property
    def count_text(self) -> str:
        return f"{self.count}+" if self.capped else str(self.count)


SECTIONS: dict[str, tuple[type, tuple[NameSource, ...]]] = {
    "tasks": (Task, (NameSource(Task, "name"), NameSource(TaskAlias, "name", "task_id"))),
    "datasets": (
        Dataset,
        (
            NameSource(Dataset, "name"),
            NameSource(Dataset, "full_name"),
            NameSource(DatasetAlias, "name", "dataset_id"),
        ),
    ),
    "methods": (Method, (NameSource(Method, "name"), NameSource(Method, "full_name"))),
    "models": (Model, (NameSource(Model, "name"),)),
    "leaderboards": (Leaderboard, (NameSource(Leaderboard, "slug"),)),
}


# One part per name column, all sent as one UNION ALL: equal and starts-with are served by
# the btree index on UPPER(column) (text_pattern_ops), contains by the trigram index, each
# test taking at most NAME_COUNT_CAP rows from its index.
_NAME_PART = """(
    SELECT {index} AS source, t.{owner} AS owner,
        CASE WHEN UPPER(t.{column}::text) = %s THEN 3 WHEN UPPER(t.{column}::text) LIKE %s THEN 2 ELSE 1 END AS tier,
        1.0::real AS similarity
    FROM {table} t
    WHERE t.id IN (
        (SELECT id FROM {table} WHERE UPPER({column}::text) = %s LIMIT {cap})
        UNION ALL (SELECT id FROM {table} WHERE UPPER({column}::text) LIKE %s LIMIT {cap})
        {contains}
    )
    ORDER BY tier DESC, length(t.{column}), t.{owner}
    LIMIT {cap}
)"""
_NAME_CONTAINS = "UNION ALL (SELECT id FROM {table} WHERE UPPER({column}::text) LIKE %s LIMIT {cap})"
# A name none of those finds (a typo) is looked for by trigram word similarity (%>), also indexed.
_NAME_SIMILAR_PART = """(
    SELECT {index} AS source, {owner} AS owner, 0 AS tier, word_similarity(%s, UPPER({column}::text)) AS similarity
    FROM {table} WHERE UPPER({column}::text) %%> %s
    ORDER BY similarity DESC, length({column}), {owner}
    LIMIT {limit}
)"""


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sql_names(index: int, source: NameSource) -> dict:
    meta = source.model._meta
    owner = "id" if source.owner == "pk" else meta.get_field(source.owner).column
    return {
        "index": index,
        "table": connection.ops.quote_name(meta.db_table),
        "column": connection.ops.quote_name(meta.get_field(source.column).column),
        "owner": connection.ops.quote_name(owner),
        "cap": NAME_COUNT_CAP,
        "limit": NAME_LIMIT,
    }


def _names_like_postgres(wanted: list[tuple[NameSource, str]]) -> list[list[tuple]]:
    """For each (source, text): (item id, tier, 1.0) of its names equal to, starting with or
    containing the text, best first; one query."""
    parts, params = [], []
    for index, (source, text) in enumerate(wanted):
        names = _sql_names(index, source)
        upper = text.upper()
        prefix = _like_escaped(upper) + "%"
        contains = ""
        part_params = [upper, prefix, upper, prefix]
        if len(text) >= SHORT_QUERY:
            contains = _NAME_CONTAINS.format(**names)
            part_params.append(f"%{_like_escaped(upper)}%")
        parts.append(_NAME_PART.format(contains=contains, **names))
        params += part_params
    return _grouped(len(wanted), " UNION ALL ".join(parts), params)


def _names_similar_postgres(wanted: list[tuple[NameSource, str]]) -> list[list[tuple]]:
    """For each (source, text): (item id, 0, similarity) of its names most like the text; one query."""
    parts, params = [], []
    for index, (source, text) in enumerate(wanted):
        parts.append(_NAME_SIMILAR_PART.format(**_sql_names(index, source)))
        params += [text.upper(), text.upper()]
    return _grouped(len(wanted), " UNION ALL ".join(parts), params)


def _grouped(count: int, sql: str, params: list) -> list[list[tuple]]:
    found: list[list[tuple]] = [[] for _ in range(count)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for index, owner, tier, similarity in cursor.fetchall():
            found[index].append((owner, tier, similarity))
    return found


def _names_like_fallback(wanted: list[tuple[NameSource, str]]) -> list[list[tuple]]:
    """SQLite: names holding every word of the text, exact first, then prefix, then the rest; one query."""
    parts = []
    for index, (source, text) in enumerate(wanted):
        column = source.column
        tier = Case(
            When(**{f"{column}__iexact": text}, then=Value(3)),
            When(**{f"{column}__istartswith": text}, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
        parts.append(
            source.model.objects.filter(_all_words((column,), text.split()[:8]))
            .annotate(source=Value(index), owner=F(source.owner), tier=tier, length=Length(column))
            .values_list("source", "owner", "tier", "length")
            .order_by()
        )
    rows = sorted(parts[0].union(*parts[1:], all=True), key=lambda row: (row[0], -row[2], row[3], row[1]))
    found: list[list[tuple]] = [[] for _ in wanted]
    for index, owner, tier, _ in rows:
        if len(found[index]) < NAME_COUNT_CAP:
            found[index].append((owner, tier, 1.0))
    return found


def _names_similar_fallback(wanted: list[tuple[NameSource, str]]) -> list[list[tuple]]:
    return [[(owner, 0, ratio) for owner, ratio in _close_names(source, text)[:NAME_LIMIT]] for source, text in wanted]


def _close_names(source: NameSource, text: str, cutoff: float = 0.75) -> list[tuple[int, float]]:
    """SQLite: difflib's close names among a bounded list of the column's names."""
    names = source.model.objects.exclude(**{source.column: ""}).order_by(source.column)
    wanted = text.casefold()
    scored = []
    for owner, name in names.values_list(source.owner, source.column)[:FALLBACK_NAMES]:
        ratio = difflib.SequenceMatcher(None, wanted, name.casefold()).ratio()
        if ratio >= cutoff:
            scored.append((owner, ratio))
    scored.sort(key=lambda pair: -pair[1])
    return scored[:NAME_COUNT_CAP]


def _sections(text: str, similar: bool) -> dict[str, Section]:
    """Every name section, each ranked exact, prefix, contains, then (when `similar`) by similarity."""
    wanted = []
    for name, (model, sources) in SECTIONS.items():
        query = slugify(text) if model is Leaderboard else text
        if query:
            wanted += [(name, source, query) for source in sources]
    like, alike = (
        (_names_like_postgres, _names_similar_postgres) if _postgres() else (_names_like_fallback, _names_similar_fallback)
    )
    matches = like([(source, query) for _, source, query in wanted]) if wanted else []
    if similar:
        # A section none of whose names holds the query looks for names like it (a typo).
        matched = {name for (name, _, _), rows in zip(wanted, matches, strict=True) if rows}
        retry = [i for i, (name, _, query) in enumerate(wanted) if name not in matched and len(query) >= SHORT_QUERY]
        if retry:
            for i, rows in zip(retry, alike([wanted[i][1:] for i in retry]), strict=True):
                matches[i] = rows
    best: dict[str, dict[int, tuple[int, float]]] = {name: {} for name in SECTIONS}
    capped: set[str] = set()
    for (name, _, _), rows in zip(wanted, matches, strict=True):
        if len(rows) >= NAME_COUNT_CAP:
            capped.add(name)
        for owner, tier, similarity in rows:
            if owner is not None and (tier, similarity) > best[name].get(owner, (-1, 0.0)):
                best[name][owner] = (tier, similarity)
    sections = {}
    for name, (model, _) in SECTIONS.items():
        scores = best[name]
        ranked = sorted(scores, key=lambda owner: (-scores[owner][0], -scores[owner][1]))
        rows = in_order(_section_rows(model), ranked[:NAME_LIMIT]) if ranked else []
        if model is Model and rows:
            _attach_boards(rows)
        fuzzy = [item for item in rows if scores[item.pk][0] == 0]
        count = min(len(scores), NAME_COUNT_CAP)
        sections[name] = Section(rows, count, name in capped or len(scores) > NAME_COUNT_CAP, fuzzy)
    return sections


_BOARD_FIELDS = ("slug", "task__name", "task__slug", "dataset__name", "dataset__slug")


def _section_rows(model) -> QuerySet:
    if model is Leaderboard:
        return Leaderboard.objects.select_related("task", "dataset").only(*_BOARD_FIELDS)
    if model is Model:
        return Model.objects.select_related("paper").only("name", "paper__slug", "paper__title")
    if model is Task:
        return Task.objects.only("name", "slug")
    return model.objects.only("name", "slug", "full_name")


BOARDS_PER_MODEL = 5


def _attach_boards(models: list) -> None:
    """Each model's rows: the leaderboards its results are listed on (`model.boards`, a few)."""
    from leaderboard.models import ResultTask

    listings = (
        ResultTask.objects.filter(result__model__in=models, via_category=False)
        .values_list("result__model_id", "task_id", "result__dataset_id")
        .distinct()
        .order_by()[: BOARDS_PER_MODEL * len(models) * 4]
    )
    pairs: dict[int, list[tuple[int, int]]] = {}
    for model_id, task_id, dataset_id in listings:
        pairs.setdefault(model_id, []).append((task_id, dataset_id))
    wanted = Q(pk__in=[])
    for task_id, dataset_id in {pair for found in pairs.values() for pair in found}:
        wanted |= Q(task_id=task_id, dataset_id=dataset_id)
    boards = {
        (board.task_id, board.dataset_id): board
        for board in _section_rows(Leaderboard).filter(wanted).only(*_BOARD_FIELDS, "task_id", "dataset_id")
    }
    for model in models:
        found = [boards[pair] for pair in pairs.get(model.pk, []) if pair in boards]
        model.boards = sorted(found, key=lambda board: board.slug)[:BOARDS_PER_MODEL]


def _suggestions(text: str) -> list[str]:
    """Names close to a query that found nothing: tasks, datasets and methods, at a lower similarity."""
    if len(text) < SHORT_QUERY:
        return []
    sources = [NameSource(Task, "name"), NameSource(Dataset, "name"), NameSource(Method, "name")]
    scored: dict[str, float] = {}
    if _postgres():
        from django.contrib.postgres.search import TrigramSimilarity

        with transaction.atomic(), connection.cursor() as cursor:
            # SET LOCAL: the lower threshold ends with this transaction, not with the connection.
            cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [SUGGESTION_SIMILARITY])
            for source in sources:
                rows = (
                    source.model.objects.alias(u=Upper(source.column))
                    .filter(u__trigram_similar=text.upper())
                    .annotate(similarity=TrigramSimilarity(Upper(source.column), Value(text.upper())))
                    .order_by("-similarity")
                    .values_list(source.column, "similarity")[:SUGGESTIONS]
                )
                for name, similarity in rows:
                    scored[name] = max(similarity, scored.get(name, 0.0))
    else:
        for source in sources:
            names = dict(source.model.objects.values_list("pk", source.column)[:FALLBACK_NAMES])
            for pk, similarity in _close_names(source, text, cutoff=0.6):
                scored[names.get(pk, "")] = similarity
    scored.pop("", None)
    return sorted(scored, key=lambda name: -scored[name])[:SUGGESTIONS]


# ---------------------------------------------------------------------------
# Everything


def _section_items(name: str) -> property:
    """`found.tasks` and the like: the items a section shows."""
    return property(lambda found: found.sections[name].items)


@dataclass
class Found:
    query: str
    papers: PaperHits
    sections: dict[str, Section]
    suggestions: list[str] = field(default_factory=list)

    tasks = _section_items("tasks")
    datasets = _section_items("datasets")
    methods = _section_items("methods")
    models = _section_items("models")
    leaderboards = _section_items("leaderboards")

    @property
    def nothing(self) -> bool:
        return not self.papers.ids and not any(section.items for section in self.sections.values())


def _find(text: str) -> Found:
    papers = find_papers(text)
    # Typos are looked for among names when the words find few papers: a broad query is
    # plainly spelt, and comparing it with every name costs the most of all the tests.
    sections = _sections(text, similar=papers.total < PAPER_CANDIDATES)
    found = Found(text, papers, sections)
    if not papers.ids:
        fuzzy = [item for name in ("tasks", "datasets", "methods") for item in sections[name].fuzzy]
        if fuzzy:
            found.suggestions = list(dict.fromkeys(item.name for item in fuzzy))[:SUGGESTIONS]
        elif found.nothing:
            found.suggestions = _suggestions(text)
    return found


def search(text: str) -> Found:
    """Everything matching `text`, each section best first; cached until the next write."""
    from leaderboard.cache import cached_table

    text = clean(text)
    if not text:
        return Found("", PaperHits(), {name: Section([], 0) for name in SECTIONS})
    return cached_table(f"search:{text}", lambda: _find(text))

"""evaluation-tables: task trees -> tasks, task parents, datasets, leaderboards and results.

Each row is stored once (natural key: dataset listing, model name, paper
title and URL, and its occurrence among identical rows of one table) and
listed under every task whose table lists it; after the file, every result
is also listed under each category above those tasks (via_category=True),
the rule of services.record_result / services.list_result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Value, When
from django.utils import timezone

from leaderboard.importers.base import (
    BATCH,
    DeferredIndexes,
    NewIds,
    Slugs,
    copy_rows,
    create_papers,
    digest,
    insert_ignoring_duplicates,
    insert_returning_ids,
    paper_keys,
    unique_slugs,
)
from leaderboard.importers.registry import Datasets, Metrics, Tasks
from leaderboard.models import (
    Leaderboard,
    LeaderboardMetric,
    MetricValue,
    Model,
    Paper,
    Result,
    ResultTask,
)
from leaderboard.rules.columns import primary_metric
from leaderboard.rules.listing import listed_under
from leaderboard.rules.names import match_paper, model_key, paper_match_keys
from leaderboard.rules.papers import arxiv_id_from_url
from leaderboard.rules.values import parse_date, raw_metric_text, stored_value

_UPDATED_FIELDS = [
    "paper",
    "model",
    "model_name",
    "dataset",
    "dataset_name",
    "uses_additional_data",
    "evaluated_on",
    "listed_paper_title",
    "listed_paper_url",
    "code_links",
    "model_links",
    "source_hash",
]


@dataclass
class Row:
    task_id: int
    dataset_id: int
    listing: str
    extra: bool
    key: str
    model_name: str
    title: str | None
    url: str | None
    date: dt.date | None
    code_links: list
    model_links: list
    metrics: dict
    uses_additional_data: bool
    task_name: str
    paper: object = None


class TablesImporter:
    kind = "evaluation-tables"

    def __init__(self, stats, rejects, source: str):
        self.stats, self.rejects, self.source = stats, rejects, source
        self.tasks, self.datasets, self.metrics = Tasks(), Datasets(), Metrics()
        self.board_slugs = Slugs(Leaderboard)
        self.boards = {
            (t, d): pk
            for pk, t, d in Leaderboard.objects.values_list(
                "id", "task_id", "dataset_id"
            )
        }
        self.board_info = {
            pk: (desc, links, cites)
            for pk, desc, links, cites in Leaderboard.objects.values_list(
                "id", "description", "dataset_links", "dataset_citations"
            )
        }
        # Keyed by (task id, dataset id): a new board has no id until the next flush.
        self.columns: dict[tuple[int, int], list[str]] = {}
        for task_id, dataset_id, name in LeaderboardMetric.objects.order_by(
            "leaderboard_id", "position"
        ).values_list(
            "leaderboard__task_id", "leaderboard__dataset_id", "metric__name"
        ):
            self.columns.setdefault((task_id, dataset_id), []).append(name)
        self.pending_boards: list[Leaderboard] = []
        self.pending_columns: list[tuple[tuple[int, int], str, int]] = []
        self._load_papers()
        self.models = {}
        for pk, paper_id, name in Model.objects.values_list(
            "id", "paper_id", "name"
        ).order_by("id"):
            self.models.setdefault((paper_id, model_key(name)), pk)
        self.results = {
            key: (pk, h)
            for pk, key, h in Result.objects.filter(
                archive_key__isnull=False
            ).values_list("id", "archive_key", "source_hash")
        }
        self.listed = set(
            ResultTask.objects.filter(via_category=False).values_list(
                "result_id", "task_id"
            )
        )
        self.seen: dict[str, tuple[int, dict]] = {}
        self.buffer: list[Row] = []
        # A first import: build these tables' plain indexes, and check their foreign
        # keys, once at the end of the file (all are read only by unique keys till then).
        self.indexes = DeferredIndexes(
            [
                Result._meta.db_table,
                MetricValue._meta.db_table,
                ResultTask._meta.db_table,
                Model._meta.db_table,
            ],
            # A first import lists each paper under its results' tasks: a join at the
            # end checks those rows' keys, not a trigger per row.
            keys_of=(Paper.tasks.through._meta.db_table,),
        )
        self.indexes.drop()
        self.first_listings = ResultTask._meta.db_table in self.indexes.empty

    def _load_papers(self) -> None:
        self.by_arxiv, self.by_url, self.by_title = paper_keys(
            "arxiv_id", "url_abs", "title"
        )
        self.paper_index = {
            "arxiv_id": self.by_arxiv,
            "url_abs": self.by_url,
            "title": self.by_title,
        }
        self.paper_slugs: set[str] = set()  # slugs given to new papers in this file

    # --- the task tree -------------------------------------------------------------

    def add(self, record: object, index: int) -> None:
        self.task_entry(record, None, f"task #{index}")

    def task_entry(self, entry: object, parent_id: int | None, where: str) -> None:
        name = entry.get("task") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            self._reject_subtree(entry, where, "task entry without a task name")
            return
        task_id = self.tasks.id_for(name)
        where = f"{where} ({name})"
        description = entry.get("description")
        self.tasks.describe(
            task_id,
            description if isinstance(description, str) else "",
            entry.get("source_link"),
        )
        for area in _strings(entry.get("categories")):
            self.tasks.add_area(task_id, area)
        for synonym in _strings(entry.get("synonyms")):
            self.tasks.add_alias(task_id, synonym)
        if parent_id is not None:
            self.tasks.add_parent(task_id, parent_id)
        for i, dataset in enumerate(_list(entry.get("datasets"))):
            self.dataset_entry(task_id, name, dataset, None, f"{where} dataset #{i}")
        for i, subtask in enumerate(_list(entry.get("subtasks"))):
            self.task_entry(subtask, task_id, f"{where} subtask #{i}")

    def dataset_entry(
        self, task_id: int, task_name: str, entry: object, parent, where: str
    ) -> None:
        key = "subdataset" if parent else "dataset"
        name = (
            entry.get(key) or entry.get("dataset" if parent else "subdataset")
            if isinstance(entry, dict)
            else None
        )
        if not isinstance(name, str) or not name.strip():
            self._reject_subtree(entry, where, f"dataset entry without a {key!r} name")
            return
        if parent is None:
            dataset_id, extra = self.datasets.resolve(name)
            listing, canonical = name, self.datasets.name_of[dataset_id] == name
        else:
            dataset_id, extra = self.datasets.part(parent[0], name), False
            listing, canonical = self.datasets.name_of[dataset_id], True
        sota = entry.get("sota") if isinstance(entry.get("sota"), dict) else {}
        metric_names = [m for m in _strings(sota.get("metrics"))]
        rows = _list(sota.get("rows"))
        if metric_names or rows:
            board = self.board_for(task_id, dataset_id)
            if canonical:
                self.describe_board(board, entry)
            self.add_columns(board, metric_names)
            self.table_rows(
                task_id,
                task_name,
                dataset_id,
                listing,
                extra,
                board,
                rows,
                f"{where} ({name})",
            )
        for i, sub in enumerate(_list(entry.get("subdatasets"))):
            self.dataset_entry(
                task_id, task_name, sub, (dataset_id, name), f"{where} subdataset #{i}"
            )

    def _reject_subtree(self, entry: object, where: str, reason: str) -> None:
        rows = _count_rows(entry)
        self.stats.read += max(rows, 1)
        self.stats.rejected += max(rows, 1)
        self.rejects.add(
            self.source,
            where,
            f"{reason}; its {rows} result rows cannot be placed",
            entry,
        )

    # --- leaderboards ---------------------------------------------------------------

    def board_for(self, task_id: int, dataset_id: int):
        board = self.boards.get((task_id, dataset_id))
        if board is None:
            slug = self.board_slugs.make(
                f"{self.tasks.slug_of[task_id]}-on-{self.datasets.slug_of[dataset_id]}"
            )
            board = Leaderboard(task_id=task_id, dataset_id=dataset_id, slug=slug)
            self.pending_boards.append(board)
            self.boards[(task_id, dataset_id)] = board
        return (task_id, dataset_id)

    def describe_board(self, pair: tuple[int, int], entry: dict) -> None:
        board = self.boards[pair]
        info = (
            entry.get("description") or "",
            _list(entry.get("dataset_links")),
            _list(entry.get("dataset_citations")),
        )
        if isinstance(board, Leaderboard):
            board.description, board.dataset_links, board.dataset_citations = info
        elif self.board_info.get(board) != info:
            Leaderboard.objects.filter(pk=board).update(
                description=info[0], dataset_links=info[1], dataset_citations=info[2]
            )
            self.board_info[board] = info

    def add_columns(self, board, names) -> None:
        columns = self.columns.setdefault(board, [])
        for name in names:
            if name not in columns:
                self.pending_columns.append((board, name, len(columns)))
                columns.append(name)

    # --- rows --------------------------------------------------------------------------

    def table_rows(
        self, task_id, task_name, dataset_id, listing, extra, board, rows, where
    ) -> None:
        occurrences: Counter = Counter()
        for i, raw in enumerate(rows):
            self.stats.read += 1
            row = self.clean_row(raw, f"{where} row #{i}")
            if row is None:
                continue
            model_name, title, url = row["model_name"], row["title"], row["url"]
            identity = (listing, model_name, title or "", url or "")
            occurrences[identity] += 1
            key = _key(*identity, occurrences[identity])
            self.add_columns(board, row["metrics"].keys())
            self.buffer.append(
                Row(
                    task_id, dataset_id, listing, extra, key, task_name=task_name, **row
                )
            )
            if len(self.buffer) >= BATCH:
                self.flush()

    def clean_row(self, raw: object, where: str) -> dict | None:
        if not isinstance(raw, dict):
            return self._reject(raw, where, "a row must be a JSON object")
        model_name = raw.get("model_name")
        if model_name is None or isinstance(model_name, (dict, list, bool)):
            return self._reject(raw, where, "row without a model_name")
        metrics = raw.get("metrics", {})
        if not isinstance(metrics, dict):
            return self._reject(
                raw, where, "metrics must be an object of {metric name: value}"
            )
        bad = [
            name for name, value in metrics.items() if isinstance(value, (dict, list))
        ]
        if bad:
            return self._reject(
                raw,
                where,
                f"metric {bad[0]!r} has a {type(metrics[bad[0]]).__name__} value, not a number or string",
            )
        repairs = []
        if not isinstance(model_name, str):
            model_name, _ = (
                str(model_name),
                repairs.append("model_name is not a string"),
            )
        title, url = raw.get("paper_title"), raw.get("paper_url")
        if title is not None and not isinstance(title, str):
            title, _ = None, repairs.append("paper_title is not a string")
        if raw.get("paper_title", "") is None:
            repairs.append("paper_title is null; imported without a listed title")
        if url is not None and not isinstance(url, str):
            url, _ = None, repairs.append("paper_url is not a string")
        date = parse_date(raw.get("paper_date"))
        if date is None and raw.get("paper_date") not in (None, ""):
            repairs.append(
                f"paper_date {raw.get('paper_date')!r} is not YYYY-MM-DD; imported without a date"
            )
        code_links, model_links = raw.get("code_links", []), raw.get("model_links", [])
        if not isinstance(code_links, list) or not isinstance(model_links, list):
            repairs.append("code_links/model_links must be lists; imported as empty")
            code_links = code_links if isinstance(code_links, list) else []
            model_links = model_links if isinstance(model_links, list) else []
        if repairs:
            self.rejects.add(
                self.source, where, "; ".join(repairs), raw, action="imported"
            )
        return {
            "model_name": model_name[:500],
            "title": title,
            "url": url,
            "date": date,
            "code_links": code_links,
            "model_links": model_links,
            "metrics": {str(k): v for k, v in metrics.items()},
            "uses_additional_data": bool(raw.get("uses_additional_data", False)),
        }

    def _reject(self, raw, where, reason):
        self.stats.rejected += 1
        self.rejects.add(self.source, where, reason, raw)

    # --- batched writes ---------------------------------------------------------------

    def flush(self) -> None:
        self._save_boards()
        rows, self.buffer = self.buffer, []
        if not rows:
            return
        self._save_papers(rows)
        models = self._save_models(rows)
        self._save_results(rows, models)

    def _save_boards(self) -> None:
        created = set()
        if self.pending_boards:
            # A new board's first column is its primary metric from the start.
            for board in self.pending_boards:
                names = self.columns.get((board.task_id, board.dataset_id), [])
                board.primary_metric_id = primary_metric(None, [self.metrics.id_for(n) for n in names[:1]])
            Leaderboard.objects.bulk_create(self.pending_boards, batch_size=BATCH)
            for board in self.pending_boards:
                self.boards[(board.task_id, board.dataset_id)] = board.pk
                self.board_info[board.pk] = (
                    board.description,
                    board.dataset_links,
                    board.dataset_citations,
                )
                created.add(board.pk)
            self.pending_boards = []
        if self.pending_columns:
            columns, primaries = [], {}
            for pair, name, position in self.pending_columns:
                board_id = self.boards[pair]
                metric_id = self.metrics.id_for(name)
                columns.append(
                    LeaderboardMetric(
                        leaderboard_id=board_id, metric_id=metric_id, position=position
                    )
                )
                if position == 0 and board_id not in created:
                    # A board that had no column: the rule with no primary set (the UPDATE
                    # below leaves a board alone if one is).
                    primaries[board_id] = primary_metric(None, [metric_id])
            LeaderboardMetric.objects.bulk_create(columns, batch_size=BATCH)
            # A board that had no column yet: its first one is its primary metric, unless
            # one is set. One UPDATE per 500 such boards, not one per board.
            pending = list(primaries.items())
            for start in range(0, len(pending), 500):
                chunk = dict(pending[start : start + 500])
                Leaderboard.objects.filter(
                    pk__in=chunk, primary_metric__isnull=True
                ).update(
                    primary_metric_id=Case(
                        *(When(pk=b, then=Value(m)) for b, m in chunk.items())
                    )
                )
            self.pending_columns = []

    def _save_papers(self, rows: list[Row]) -> None:
        """The paper a row cites: by arXiv id, then abstract URL, then exact title; else a new one."""
        new: list[Paper] = []
        for row in rows:
            arxiv_id = arxiv_id_from_url(row.url)
            paper = match_paper(
                paper_match_keys(row.url, row.title, arxiv_id), self._paper_by
            )
            if not paper and (row.title or row.url):
                title = (row.title or row.url)[:1000]
                paper = Paper(
                    title=title,
                    arxiv_id=arxiv_id,
                    published=row.date,
                    url_abs=(row.url or "")[:1000],
                )
                new.append(paper)
                if arxiv_id:
                    self.by_arxiv[hash(arxiv_id)] = paper
                if row.url:
                    self.by_url[hash(row.url)] = paper
                self.by_title.setdefault(hash(title), paper)
            row.paper = paper or None
        # Slugs checked against the table one query a batch (not a set of every paper's slug).
        slugs = unique_slugs(Paper, [p.title for p in new], self.paper_slugs)
        for paper, slug in zip(new, slugs):
            paper.slug = slug
        create_papers(new)
        for paper in new:
            for index in (self.by_arxiv, self.by_url, self.by_title):
                for key in (paper.arxiv_id, paper.url_abs, paper.title):
                    if key and index.get(hash(key)) is paper:
                        index[hash(key)] = paper.pk
        for row in rows:
            row.paper = row.paper.pk if isinstance(row.paper, Paper) else row.paper

    def _paper_by(self, field: str, value: str):
        """For rules.names.match_paper: the first paper (lowest id) with that key, from the in-memory maps."""
        return self.paper_index[field].get(hash(value))

    def _save_models(self, rows: list[Row]) -> dict:
        """A paper's model of that name; a case variant ("Awing") resolves to the first spelling."""
        new = {}
        for row in rows:
            key = (row.paper, model_key(row.model_name))
            if key not in self.models and key not in new:
                new[key] = (row.model_name, row.paper)
        # Every model of the knowledge base is in self.models: the new ones cannot clash.
        ids = insert_returning_ids(
            Model._meta.db_table,
            ["name", "paper_id"],
            list(new.values()),
            copy=True,
            ids=self.indexes.ids,
        )
        self.models.update(zip(new, ids))
        return self.models

    def _save_results(self, rows: list[Row], models: dict) -> None:
        created: list[tuple[Row, NewResult]] = []
        updated: list[tuple[Row, Result]] = []
        merged, touched = [], []
        for row in rows:
            content = digest(
                row.model_name,
                row.title,
                row.url,
                row.date,
                row.code_links,
                row.model_links,
                row.metrics,
                row.uses_additional_data,
                row.dataset_id,
            )
            seen = self.seen.get(row.key)
            if seen is not None and not _compatible(seen[1], row.metrics):
                row.key = _key(row.key, row.task_name)
                seen = self.seen.get(row.key)
            if seen is not None:
                # The same row listed under another task: one result, one more listing.
                for name, value in row.metrics.items():
                    if name not in seen[1]:
                        seen[1][name] = value
                        merged.append((row.key, name, value))
                self.stats.unchanged += 1
                continue
            result = self._result(row, models, content)
            existing = self.results.get(row.key)
            if existing is None:
                created.append((row, result))
            else:
                result.pk = existing[0]
                if existing[1] == content:
                    self.stats.unchanged += 1
                else:
                    updated.append((row, result.as_model()))
            self.seen[row.key] = (result, dict(row.metrics))
            touched.append(row.key)
        _create_results([r for _, r in created], self.indexes.ids)
        if updated:
            Result.objects.bulk_update(
                [r for _, r in updated], _UPDATED_FIELDS, batch_size=BATCH
            )
            MetricValue.objects.filter(
                result_id__in=[r.pk for _, r in updated]
            ).delete()
        self.stats.created += len(created)
        self.stats.updated += len(updated)
        for key in touched:
            result, metrics = self.seen[key]
            self.seen[key] = (result.pk, metrics)
        values = []
        for row, result in created + updated:
            self.results[row.key] = (result.pk, result.source_hash)
            values += [
                self._value(result.pk, name, raw) for name, raw in row.metrics.items()
            ]
        merged_values = [
            self._value(self.seen[key][0], name, raw) for key, name, raw in merged
        ]
        listings, paper_tasks = [], []
        for row in rows:
            result_id = self.seen[row.key][0]
            if (result_id, row.task_id) not in self.listed:
                self.listed.add((result_id, row.task_id))
                listings.append((result_id, row.task_id, False))
                if row.paper:
                    paper_tasks.append((row.paper, row.task_id))
        columns = ["result_id", "metric_id", "value", "raw"]
        copy_rows(MetricValue._meta.db_table, columns, values)
        insert_ignoring_duplicates(MetricValue._meta.db_table, columns, merged_values)
        # Into a listing table that was empty, this file's listings are all there is and
        # `self.listed` knows them: COPY. Otherwise a row may already list a result there.
        (copy_rows if self.first_listings else insert_ignoring_duplicates)(
            ResultTask._meta.db_table,
            ["result_id", "task_id", "via_category"],
            listings,
        )
        insert_ignoring_duplicates(
            Paper.tasks.through._meta.db_table, ["paper_id", "task_id"], paper_tasks
        )

    def _result(self, row: Row, models: dict, content: str) -> NewResult:
        return NewResult(
            paper_id=row.paper,
            model_id=models[(row.paper, model_key(row.model_name))],
            model_name=row.model_name,
            dataset_id=row.dataset_id,
            dataset_name=row.listing[:300],
            uses_additional_data=row.uses_additional_data or row.extra,
            evaluated_on=row.date,
            provenance=Result.Provenance.ARCHIVE,
            listed_paper_title=(row.title or "")[:1000],
            listed_paper_url=(row.url or "")[:1000],
            code_links=row.code_links,
            model_links=row.model_links,
            archive_key=row.key,
            source_hash=content,
        )

    def _value(self, result_id: int, name: str, raw: object) -> tuple:
        return (result_id, self.metrics.id_for(name), *stored_value(raw))

    # --- end of file -----------------------------------------------------------------

    def finish(self) -> None:
        self.flush()
        self._save_boards()
        self.tasks.save()
        if self.first_listings:
            # Into a listing table this file filled, COPYed before its indexes are built.
            self.list_own_under_categories()
            self.indexes.rebuild()
            return
        self.indexes.restore_indexes()  # list_under_categories reads listings by task
        self.list_under_categories()
        self.indexes.restore_keys()  # after it: its rows are checked in the same join

    def list_own_under_categories(self) -> None:
        """list_under_categories for a listing table that held none before this file:
        every listing is in `self.listed`, so the category rows are worked out here."""
        ancestors = self.tasks.ancestors()
        columns = ["result_id", "task_id", "via_category"]
        rows, tasks_of = [], {}
        for result_id, task_id in sorted(self.listed):
            tasks_of.setdefault(result_id, []).append(task_id)
        for result_id, direct in tasks_of.items():
            listed = listed_under(direct, ancestors)
            rows += [(result_id, task, True) for task in sorted(listed) if listed[task]]
            if len(rows) >= 50 * BATCH:
                copy_rows(ResultTask._meta.db_table, columns, rows)
                rows = []
        copy_rows(ResultTask._meta.db_table, columns, rows)

    def list_under_categories(self) -> None:
        """List every result under each category above the tasks it is listed under.

        rules.listing in SQL: each (task, category above it) pair joined to the direct
        listings; ON CONFLICT keeps a direct listing direct, as listed_under() does (a test
        checks the two agree)."""
        pairs = [
            (task, above)
            for task, ancestors in self.tasks.ancestors().items()
            for above in sorted(ancestors)
        ]
        table = ResultTask._meta.db_table
        with connection.cursor() as cursor:
            for start in range(0, len(pairs), 500):
                chunk = pairs[start : start + 500]
                values = " UNION ALL ".join(
                    ["SELECT %s AS child, %s AS above"] * len(chunk)
                )
                params = [value for pair in chunk for value in pair]
                cursor.execute(
                    f"INSERT INTO {table} (result_id, task_id, via_category) "
                    f"SELECT listing.result_id, pairs.above, %s FROM {table} AS listing "
                    f"JOIN ({values}) AS pairs ON listing.task_id = pairs.child "
                    f"WHERE listing.via_category = %s ON CONFLICT DO NOTHING",
                    [True, *params, False],
                )


class NewResult:
    """A result row before it is written: the columns _create_results COPYs, no model instance.

    Building 300k Django model instances cost more than preparing their rows.
    """

    __slots__ = (
        "archive_key",
        "code_links",
        "dataset_id",
        "dataset_name",
        "evaluated_on",
        "listed_paper_title",
        "listed_paper_url",
        "model_id",
        "model_links",
        "model_name",
        "paper_id",
        "pk",
        "provenance",
        "source_hash",
        "uses_additional_data",
    )

    def __init__(
        self,
        *,
        paper_id,
        model_id,
        model_name,
        dataset_id,
        dataset_name,
        uses_additional_data,
        evaluated_on,
        provenance,
        listed_paper_title,
        listed_paper_url,
        code_links,
        model_links,
        archive_key,
        source_hash,
    ) -> None:
        # One assignment a field: a setattr loop over **values stood out in profiles.
        self.pk = None
        self.paper_id = paper_id
        self.model_id = model_id
        self.model_name = model_name
        self.dataset_id = dataset_id
        self.dataset_name = dataset_name
        self.uses_additional_data = uses_additional_data
        self.evaluated_on = evaluated_on
        self.provenance = provenance
        self.listed_paper_title = listed_paper_title
        self.listed_paper_url = listed_paper_url
        self.code_links = code_links
        self.model_links = model_links
        self.archive_key = archive_key
        self.source_hash = source_hash

    def as_model(self) -> Result:
        return Result(**{name: getattr(self, name) for name in self.__slots__})


_RESULT_COLUMNS = [
    "paper_id",
    "model_id",
    "model_name",
    "dataset_id",
    "dataset_name",
    "uses_additional_data",
    "evaluated_on",
    "provenance",
    "listed_paper_title",
    "listed_paper_url",
    "code_links",
    "model_links",
    "external_source_url",
    "archive_key",
    "source_hash",
    "created_at",
    "updated_at",
]


def _create_results(results: list[NewResult], new_ids: NewIds) -> None:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (
            r.paper_id,
            r.model_id,
            r.model_name,
            r.dataset_id,
            r.dataset_name,
            r.uses_additional_data,
            ops.adapt_datefield_value(r.evaluated_on),
            r.provenance,
            r.listed_paper_title,
            r.listed_paper_url,
            r.code_links,
            r.model_links,
            "",
            r.archive_key,
            r.source_hash,
            stamp,
            stamp,
        )
        for r in results
    ]
    ids = insert_returning_ids(
        Result._meta.db_table,
        _RESULT_COLUMNS,
        rows,
        json_columns=("code_links", "model_links"),
        copy=True,
        ids=new_ids,
    )
    for result, pk in zip(results, ids):
        result.pk = pk


def _key(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def _compatible(known: dict, metrics: dict) -> bool:
    return all(
        raw_metric_text(known[name]) == raw_metric_text(value)
        for name, value in metrics.items()
        if name in known
    )


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str) and item]


def _count_rows(entry: object) -> int:
    if isinstance(entry, list):
        return sum(_count_rows(item) for item in entry)
    if not isinstance(entry, dict):
        return 0
    sota = entry.get("sota") if isinstance(entry.get("sota"), dict) else {}
    total = len(_list(sota.get("rows")))
    for key in ("datasets", "subdatasets", "subtasks"):
        total += _count_rows(entry.get(key))
    return total

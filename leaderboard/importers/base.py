"""What every dump importer shares: counts, the rejects report, fast batched writes."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.db import connection
from django.utils import timezone

from leaderboard.values import unique_slug

BATCH = 2000


@dataclass
class ImportStats:
    path: str
    kind: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    error: str = ""

    def finish(self) -> ImportStats:
        self.seconds = time.monotonic() - self.started
        return self

    def summary(self) -> str:
        return (
            f"{self.path} ({self.kind}): {self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected in {self.seconds:.1f}s"
        )


class Rejects:
    """A JSON-lines report of the records not imported as given, and why; opened on first use."""

    def __init__(self, path: Path):
        self.path, self._file, self.count = path, None, 0

    def add(
        self,
        source: str,
        where: str,
        reason: str,
        record: object,
        action: str = "rejected",
    ) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open across records, closed by close()
        line = {
            "file": source,
            "where": where,
            "action": action,
            "reason": reason,
            "record": record,
        }
        self._file.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def digest(*parts: object) -> str:
    """A short stable digest of JSON-serialisable parts (keys sorted)."""
    try:
        text = orjson.dumps(
            parts,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
            default=str,
        )
    except TypeError:  # an integer beyond 64 bits, which only the json module writes
        text = json.dumps(
            parts,
            sort_keys=True,
            ensure_ascii=False,
            default=str,
            separators=(",", ":"),
        ).encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()


class Slugs:
    """Unique slugs for one model, checked against an in-memory set loaded once."""

    def __init__(self, model, max_length: int = 100):
        self.taken = set(
            model.objects.values_list("slug", flat=True).iterator(chunk_size=20000)
        )
        self.max_length = max_length

    def make(self, text: str) -> str:
        if text.isascii():
            slug = _unique_ascii_slug(text, self.taken, self.max_length)
        else:
            slug = unique_slug(text, self.taken.__contains__, self.max_length)
        self.taken.add(slug)
        return slug

    def claim(self, slug: str) -> bool:
        """Reserve `slug` as given; False when it is already taken."""
        if slug in self.taken:
            return False
        self.taken.add(slug)
        return True


_NOT_SLUG = re.compile(r"[^\w\s-]")
_DASHES = re.compile(r"[-\s]+")


def _unique_ascii_slug(text: str, taken: set, max_length: int) -> str:
    """values.unique_slug for ASCII text, without slugify's Unicode normalisation (hot at full scale)."""
    full = _DASHES.sub("-", _NOT_SLUG.sub("", text.lower())).strip("-_")
    base = full[:max_length].strip("-")
    if len(full) > max_length and "-" in base:
        base = base.rsplit("-", 1)[0]
    base = base or "item"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def insert_returning_ids(
    table: str,
    columns: list[str],
    rows: list[tuple],
    json_columns: tuple = (),
    copy: bool = False,
) -> list[int]:
    """INSERT rows and return their new ids in order.

    On PostgreSQL with ``copy``, take the ids from the table's sequence first and
    COPY the rows with them (COPY is several times faster than a multi-row INSERT
    for wide rows, and no index is probed to read the ids back).
    """
    if not rows:
        return []
    cols = ", ".join(columns)
    positions = [columns.index(c) for c in json_columns]
    if copy and is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                "FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        copy_rows(
            table,
            ["id", *columns],
            [(pk, *_json_fields(row, positions)) for pk, row in zip(ids, rows)],
        )
        return ids
    with connection.cursor() as cursor:
        if is_postgres():
            from psycopg2.extras import Json, execute_values

            if positions:
                rows = [
                    tuple(Json(v) if i in positions else v for i, v in enumerate(row))
                    for row in rows
                ]
            sql = f"INSERT INTO {table} ({cols}) VALUES %s RETURNING id"
            return [
                r[0]
                for r in execute_values(
                    cursor.cursor, sql, rows, page_size=len(rows), fetch=True
                )
            ]
        # Multi-row INSERT ... RETURNING (SQLite 3.35+), as many rows a statement as its parameter limit allows.
        marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = max(
            1, (connection.features.max_query_params or 999) // len(columns)
        )
        ids = []
        for start in range(0, len(rows), per_statement):
            chunk = [
                tuple(json.dumps(v) if i in positions else v for i, v in enumerate(row))
                for row in rows[start : start + per_statement]
            ]
            sql = f"INSERT INTO {table} ({cols}) VALUES {', '.join([marks] * len(chunk))} RETURNING id"
            cursor.execute(sql, [value for row in chunk for value in row])
            ids += [r[0] for r in cursor.fetchall()]
        return ids


def create_papers(papers: list) -> None:
    """Insert new Paper objects fast and set their ids (bulk_create's per-field work dominates at 576k)."""
    from leaderboard.models import Paper

    ops, now = connection.ops, timezone.now()
    stamp = ops.adapt_datetimefield_value(now)
    rows = [
        (
            p.slug,
            p.title,
            p.arxiv_id,
            p.abstract,
            ops.adapt_datefield_value(p.published),
            p.url_abs,
            p.url_pdf,
            p.proceeding_id,
            p.proceeding_text,
            p.conference_url_abs,
            p.conference_url_pdf,
            p.source_hash,
            stamp,
            stamp,
        )
        for p in papers
    ]
    columns = [
        "slug",
        "title",
        "arxiv_id",
        "abstract",
        "published",
        "url_abs",
        "url_pdf",
        "proceeding_id",
        "proceeding_text",
        "conference_url_abs",
        "conference_url_pdf",
        "source_hash",
        "created_at",
        "updated_at",
    ]
    for start in range(0, len(rows), BATCH):
        ids = insert_returning_ids(
            Paper._meta.db_table, columns, rows[start : start + BATCH], copy=True
        )
        for paper, pk in zip(papers[start : start + BATCH], ids):
            paper.pk = pk
            if hasattr(paper, "_state"):  # a model instance, not a papers.NewPaper
                paper._state.adding = False


def _json_fields(row: tuple, positions: list[int]) -> tuple:
    if not positions:
        return row
    return tuple(
        orjson.dumps(v).decode() if i in positions else v for i, v in enumerate(row)
    )


def select_in(table: str, columns: list[str], key: str, keys) -> list[tuple]:
    """SELECT columns FROM table WHERE key IN keys, as tuples, without the ORM's per-value lookup work.

    One `= ANY(array)` query on PostgreSQL; chunks within SQLite's parameter limit elsewhere.
    """
    keys = list(keys)
    if not keys:
        return []
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {key}"
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"{sql} = ANY(%s)", [keys])
            return cursor.fetchall()
        rows, step = [], 900
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            cursor.execute(f"{sql} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            rows += cursor.fetchall()
        return rows


def _base_slug(text: str, max_length: int) -> str:
    if text.isascii():
        return _unique_ascii_slug(text, set(), max_length)
    return unique_slug(text, lambda _: False, max_length)


def _suffixed(base: str, n: int) -> str:
    return base if n == 1 else f"{base}-{n}"


def unique_slugs(
    model, texts: list[str], max_length: int = 100, used: set | None = None
) -> list[str]:
    """A new unique slug for each text, checked against the table in one query a round.

    For tables too large to hold every slug in memory: the rare clash takes another
    round with the next -2, -3 … suffix.
    """
    bases = [_base_slug(t, max_length) for t in texts]
    slugs: list[str | None] = [None] * len(texts)
    suffix, pending = [1] * len(texts), list(range(len(texts)))
    used = set() if used is None else used  # slugs given out but not yet in the table
    while pending:
        candidates = {i: _suffixed(bases[i], suffix[i]) for i in pending}
        taken = {
            row[0]
            for row in select_in(
                model._meta.db_table, ["slug"], "slug", set(candidates.values())
            )
        }
        retry = []
        for i in pending:
            if candidates[i] in taken or candidates[i] in used:
                suffix[i] += 1
                retry.append(i)
            else:
                slugs[i] = candidates[i]
                used.add(candidates[i])
        pending = retry
    return slugs


def insert_named(table: str, names: list[str], max_length: int = 100) -> dict[str, int]:
    """Insert a (name, slug) row for each distinct name, each slug the first free one of
    base, base-2, base-3 …; returns name -> new id.

    One `INSERT … ON CONFLICT (slug) DO NOTHING RETURNING` a round: the table's unique
    index settles clashes, and only names whose slug was taken go round again. For
    tables too large to hold every slug in memory (authors).
    """
    bases = {name: _base_slug(name, max_length) for name in names}
    suffix = dict.fromkeys(names, 1)
    ids: dict[str, int] = {}
    pending = list(bases)
    while pending:
        rows, given = [], set()
        for name in pending:
            slug = _suffixed(bases[name], suffix[name])
            while slug in given:  # two names of this round with the same slug
                suffix[name] += 1
                slug = _suffixed(bases[name], suffix[name])
            given.add(slug)
            rows.append((name, slug))
        ids.update(_insert_ignoring_slug_clashes(table, rows))
        pending = [name for name in pending if name not in ids]
        for name in pending:
            suffix[name] += 1
    return ids


def _insert_ignoring_slug_clashes(
    table: str, rows: list[tuple[str, str]]
) -> dict[str, int]:
    sql = f"INSERT INTO {table} (name, slug) VALUES %s ON CONFLICT (slug) DO NOTHING RETURNING name, id"
    with connection.cursor() as cursor:
        if is_postgres():
            from psycopg2.extras import execute_values

            return dict(
                execute_values(
                    cursor.cursor, sql, rows, page_size=len(rows), fetch=True
                )
            )
        found, step = {}, max(1, (connection.features.max_query_params or 999) // 2)
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            cursor.execute(
                sql.replace("%s", ", ".join(["(%s, %s)"] * len(chunk))),
                [value for row in chunk for value in row],
            )
            found.update(cursor.fetchall())
        return found


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def insert_ignoring_duplicates(
    table: str, columns: list[str], rows: list[tuple]
) -> None:
    """INSERT rows, skipping those that break a unique constraint (one statement per batch)."""
    if not rows:
        return
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        if is_postgres():
            from psycopg2.extras import execute_values

            sql = f"INSERT INTO {table} ({cols}) VALUES %s ON CONFLICT DO NOTHING"
            execute_values(cursor.cursor, sql, rows, page_size=5000)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                rows,
            )


def copy_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Append rows that cannot conflict: COPY on PostgreSQL, a batched INSERT elsewhere."""
    if not rows:
        return
    if not is_postgres():
        insert_ignoring_duplicates(table, columns, rows)
        return
    buffer = io.StringIO()
    buffer.writelines(["\t".join(map(_copy_field, row)) + "\n" for row in rows])
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer
        )


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    text = value if kind is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class DeferredIndexes:
    """Tables a file starts empty, and on PostgreSQL their plain indexes and foreign keys set aside till the end.

    ``empty`` (every backend) names the tables that held no row when the file began:
    their rows are all the file's own, which an importer may keep in memory and COPY.
    Building an index once over a bulk-loaded table is several times cheaper than
    keeping it up to date row by row (the paper search GIN index above all), and a
    foreign key added back is checked in one join instead of one queued trigger
    event per row. Only for tables the importer never reads by those indexes;
    unique indexes and primary keys stay, since lookups and ON CONFLICT use them.
    DROP and ADD are transactional: a file that fails leaves the tables as they were,
    and a row that breaks a foreign key fails the file when the key comes back.
    """

    def __init__(self, tables: list[str]):
        self.tables, self.definitions, self.foreign_keys = tables, [], []
        self.empty: set[str] = set()

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
                if not cursor.fetchone()[0]:
                    self.empty.add(table)
            if not (self.empty and is_postgres()):
                return
            # Checks queued earlier in an enclosing transaction would block the ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in [t for t in self.tables if t in self.empty]:
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                    self.foreign_keys.append((table, name, definition))
                cursor.execute(
                    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
                    self.definitions.append(definition)

    def rebuild(self) -> None:
        if not (self.definitions or self.foreign_keys):
            return
        with connection.cursor() as cursor:
            # Run the queued foreign-key checks of other tables now: PostgreSQL alters
            # no table and builds no index while checks on it are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for table, name, definition in self.foreign_keys:
                cursor.execute(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                )
            for definition in self.definitions:
                cursor.execute(definition)
            cursor.execute(
                "SET CONSTRAINTS ALL DEFERRED"
            )  # Django's foreign keys are initially deferred
        self.definitions, self.foreign_keys = [], []

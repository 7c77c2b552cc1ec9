"""What every dump importer shares: counts, the rejects report, fast batched writes."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.db import connection
from django.utils import timezone

from leaderboard.rules.slugs import base_slug, suffixed, unique_slug
from leaderboard.rules.slugs import max_length as slug_length

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
    """Unique slugs for one model (rules.slugs.unique_slug), checked against an in-memory set loaded once."""

    def __init__(self, model):
        self.taken = set(
            model.objects.values_list("slug", flat=True).iterator(chunk_size=20000)
        )
        self.max_length = slug_length(model._meta.model_name)

    def make(self, text: str) -> str:
        slug = unique_slug(text, self.taken, self.max_length)
        self.taken.add(slug)
        return slug

    def claim(self, slug: str) -> bool:
        """Reserve `slug` as given; False when it is already taken."""
        return reserve(self.taken, slug)


def reserve(taken: set[str], slug: str) -> bool:
    """Add `slug` to the slugs `taken`; False (and nothing added) when it is there already."""
    if slug in taken:
        return False
    taken.add(slug)
    return True


def paper_keys(*columns: str) -> list[dict[int, int]]:
    """For each column, hash(value) -> id of the first paper (lowest id) with that value.

    One streaming query for the whole papers table, not a lookup a batch. Keyed by
    hash(text), not the text: at 576k papers the strings would be most of an
    importer's memory. A 64-bit hash clash among them is ~1e-8 likely.
    """
    from leaderboard.models import Paper

    maps: list[dict[int, int]] = [{} for _ in columns]
    rows = (
        Paper.objects.order_by("id")
        .values_list("id", *columns)
        .iterator(chunk_size=20000)
    )
    for pk, *values in rows:
        for keys, value in zip(maps, values):
            if value:
                keys.setdefault(hash(value), pk)
    return maps


def insert_returning_ids(
    table: str,
    columns: list[str],
    rows: list[tuple],
    json_columns: tuple = (),
    copy: bool = False,
    ids: NewIds | None = None,
) -> list[int]:
    """INSERT rows and return their new ids in order.

    On PostgreSQL with ``copy``, take the ids from the table's sequence first (from
    ``ids``, which may hold a block of them) and COPY the rows with them: COPY is
    several times faster than a multi-row INSERT for wide rows, and no index is
    probed to read the ids back.
    """
    if not rows:
        return []
    cols = ", ".join(columns)
    positions = [columns.index(c) for c in json_columns]
    if copy and is_postgres():
        ids = (ids or NewIds()).take(table, len(rows))
        copy_rows(
            table,
            ["id", *columns],
            [(pk, *_json_fields(row, positions)) for pk, row in zip(ids, rows)],
        )
        return ids
    with connection.cursor() as cursor:
        if is_postgres():
            from psycopg2.extras import Json, execute_values

            _settle()  # a raw cursor passes no execute wrapper

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


def create_papers(papers: list, ids: NewIds | None = None) -> None:
    """Insert new papers fast and set their ids (bulk_create's per-field work dominates at 576k)."""
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
        new = insert_returning_ids(
            Paper._meta.db_table, columns, rows[start : start + BATCH], copy=True, ids=ids
        )
        for paper, pk in zip(papers[start : start + BATCH], new):
            paper.pk = pk
            if hasattr(paper, "_state"):  # a model instance, not a papers.NewPaper
                paper._state.adding = False


def _json_fields(row: tuple, positions: list[int]) -> tuple | list:
    if not positions:
        return row
    row = list(row)
    for i in positions:
        row[i] = orjson.dumps(row[i]).decode()
    return row


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


def unique_slugs(model, texts: list[str], used: set | None = None) -> list[str]:
    """For each text, the slug rules.slugs.unique_slug gives it when the texts take theirs in
    turn; checked against the table in one query a round.

    For tables too large to hold every slug in memory: the rare clash takes another
    round with the next -2, -3 … suffix.
    """
    length = slug_length(model._meta.model_name)
    bases = [base_slug(t, length) for t in texts]
    slugs: list[str | None] = [None] * len(texts)
    suffix, pending = [1] * len(texts), list(range(len(texts)))
    used = set() if used is None else used  # slugs given out but not yet in the table
    while pending:
        candidates = {i: suffixed(bases[i], suffix[i]) for i in pending}
        ready = _in_turn(pending, bases, candidates)
        taken = {
            row[0]
            for row in select_in(
                model._meta.db_table, ["slug"], "slug", set(candidates.values())
            )
        }
        for i in pending:
            if candidates[i] in taken or candidates[i] in used:
                suffix[i] += 1
            elif i in ready:
                slugs[i] = candidates[i]
                used.add(candidates[i])
        pending = [i for i in pending if slugs[i] is None]
    return slugs


def _in_turn(pending: list, bases, candidates: dict) -> set:
    """The pending texts (in order) whose candidate slug no earlier pending text could still
    be given: its base is not the candidate, nor the candidate less a -N suffix. Given
    out in one round, they get what unique_slug gives each text in turn; the others wait
    for a round (a candidate already taken is skipped meanwhile: it stays taken)."""
    earlier, ready = set(), set()
    for key in pending:
        candidate = candidates[key]
        stem, _, number = candidate.rpartition("-")
        if candidate not in earlier and not (number.isdigit() and stem in earlier):
            ready.add(key)
        earlier.add(bases[key])
    return ready


def insert_named(model, names: list[str]) -> dict[str, int]:
    """Insert a (name, slug) row for each distinct name, each slug the one
    rules.slugs.unique_slug gives it when the names take theirs in turn; returns name -> new id.

    One `INSERT … ON CONFLICT (slug) DO NOTHING RETURNING` a round: the table's unique
    index settles clashes, and only names whose slug was taken go round again. For
    tables too large to hold every slug in memory (authors).
    """
    table, length = model._meta.db_table, slug_length(model._meta.model_name)
    bases = {name: base_slug(name, length) for name in names}
    suffix = dict.fromkeys(names, 1)
    ids: dict[str, int] = {}
    taken: set[str] = set()  # slugs found taken, or given out by this call
    pending = list(bases)
    while pending:
        candidates = {name: suffixed(bases[name], suffix[name]) for name in pending}
        ready = _in_turn(pending, bases, candidates)
        rows = [(name, candidates[name]) for name in pending if name in ready]
        ids.update(_insert_ignoring_slug_clashes(table, rows))
        taken.update(slug for _, slug in rows)
        pending = [name for name in pending if name not in ids]
        for name in pending:
            while suffixed(bases[name], suffix[name]) in taken:
                suffix[name] += 1
    return ids


def _insert_ignoring_slug_clashes(
    table: str, rows: list[tuple[str, str]]
) -> dict[str, int]:
    sql = f"INSERT INTO {table} (name, slug) VALUES %s ON CONFLICT (slug) DO NOTHING RETURNING name, id"
    with connection.cursor() as cursor:
        if is_postgres():
            from psycopg2.extras import execute_values

            _settle()

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
    """INSERT rows, skipping those that break a unique constraint (one statement per batch).

    Inside background_writes(), sent from the writer thread.
    """
    if not rows:
        return
    cols = ", ".join(columns)
    if is_postgres():
        from psycopg2.extras import execute_values

        sql = f"INSERT INTO {table} ({cols}) VALUES %s ON CONFLICT DO NOTHING"
        _write(lambda cursor: execute_values(cursor, sql, rows, page_size=5000))
        return
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            rows,
        )


def update_rows(model, objects: list, fields: tuple[str, ...]) -> None:
    """Write these fields of saved model instances.

    PostgreSQL: one `UPDATE … FROM (VALUES …)` a batch, linear in the rows, where
    bulk_update's CASE per column grows with their square. Elsewhere one UPDATE a row.
    Like every bulk write of the importers, it sends no model signals.
    """
    if not objects:
        return
    if not is_postgres():
        for obj in objects:
            obj.save(update_fields=fields)
        return
    from psycopg2.extras import execute_values

    columns = [model._meta.get_field(name) for name in fields]
    quoted = [connection.ops.quote_name(f.column) for f in columns]
    names = ", ".join(quoted)
    # VALUES holds untyped literals: each is cast to its column's type.
    sets = ", ".join(
        f"{name} = v.{name}::{f.db_type(connection)}" for name, f in zip(quoted, columns)
    )
    sql = (
        f"UPDATE {model._meta.db_table} AS t SET {sets} "
        f"FROM (VALUES %s) AS v(id, {names}) WHERE t.id = v.id"
    )
    rows = [
        (obj.pk, *(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns))
        for obj in objects
    ]
    _write(lambda cursor: execute_values(cursor, sql, rows, page_size=BATCH))


def copy_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Append rows that cannot conflict: COPY on PostgreSQL, a batched INSERT elsewhere."""
    if not rows:
        return
    if not is_postgres():
        insert_ignoring_duplicates(table, columns, rows)
        return
    data = _copy_text(rows).encode()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    _write(lambda cursor: cursor.copy_expert(sql, io.BytesIO(data), size=_COPY_CHUNK))


_COPY_CHUNK = 1 << 22  # bytes a read() hands psycopg2: few GIL round trips per COPY


def _copy_text(rows: list) -> str:
    """Rows in COPY's text format. Rows of integers only (link tables) take one
    %-format a row instead of a conversion a field."""
    if all(type(value) is int for row in rows for value in row):
        line = "\t".join(["%d"] * len(rows[0])) + "\n"
        return "".join([line % tuple(row) for row in rows])
    return "".join(["\t".join(map(_copy_field, row)) + "\n" for row in rows])


def _write(job: Callable) -> None:
    """Run job(raw psycopg2 cursor) now, or queue it for the writer thread inside background_writes()."""
    writer = getattr(_local, "writer", None)
    if writer is not None:
        writer.submit(job)
        return
    with connection.cursor() as cursor:
        job(cursor.cursor)


def _settle() -> None:
    """Wait for the writes queued so far (before a statement that bypasses the execute wrappers)."""
    writer = getattr(_local, "writer", None)
    if writer is not None:
        writer.wait()


_local = threading.local()


class BackgroundWriter:
    """Writes that return nothing, run in order by a second thread on the same connection.

    An import process and its PostgreSQL backend otherwise take turns on the CPU:
    Python prepares a batch while the server waits, then the server stores it while
    Python waits. With the writes queued here, the server stores batch N (COPY,
    INSERT … ON CONFLICT DO NOTHING) while Python reads and prepares batch N+1;
    psycopg2 releases the GIL while the server works. Same connection, same
    transaction: a failed write fails the file. Every other statement first waits
    for the queued writes (background_writes installs an execute wrapper), so it
    sees them.
    """

    def __init__(self, raw_connection, depth: int = 32):
        self._raw = raw_connection
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._discard = False
        self._thread = threading.Thread(
            target=self._run, name="import-writer", daemon=True
        )
        self._thread.start()

    def submit(self, job: Callable) -> None:
        self._raise()
        self._jobs.put(job)

    def wait(self) -> None:
        self._jobs.join()
        self._raise()

    def close(self, discard: bool = False) -> None:
        """Stop the thread after the queued writes, or skipping them when ``discard``."""
        self._discard = discard
        self._jobs.put(None)
        self._thread.join()

    def _raise(self) -> None:
        # Once a write has failed, the transaction is lost: every later call raises too.
        if self._error is not None:
            with connection.wrap_database_errors:
                raise self._error

    def _run(self) -> None:
        # Every job is marked done, whatever happens: the importer's thread waits on that.
        cursor = None
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None and not self._discard:
                    cursor = cursor or self._raw.cursor()
                    job(cursor)
            except BaseException as error:  # noqa: BLE001 - raised in the importer's thread
                self._error = error
            finally:
                self._jobs.task_done()


@contextmanager
def background_writes() -> Iterator[None]:
    """Within: on PostgreSQL, copy_rows and insert_ignoring_duplicates run on a writer thread."""
    if not is_postgres() or getattr(_local, "writer", None) is not None:
        yield
        return
    connection.ensure_connection()
    writer = BackgroundWriter(connection.connection)

    def settle(execute, sql, params, many, context):
        writer.wait()
        return execute(sql, params, many, context)

    _local.writer = writer
    # The writer needs the GIL for a moment between two of the server's steps; the
    # importer's thread hands it over after this long (the default is 5 ms).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    failed = True
    try:
        with connection.execute_wrapper(settle):
            yield
            writer.wait()
        failed = False
    finally:
        sys.setswitchinterval(switch)
        _local.writer = None
        writer.close(discard=failed)  # a failed file is rolled back: skip what is queued


@contextmanager
def paused_gc() -> Iterator[None]:
    """Within: no automatic cyclic garbage collection.

    An importer holds maps of millions of small tuples and strings (keys, ids,
    digests) for a whole file. Each full collection walks every one of them, and the
    containers a file's batches allocate set off one collection after another: a
    quarter of the evaluation tables' time at full scale. Reference counting still
    frees everything that is not in a cycle, and a file makes few cycles; the
    collector runs again after the file.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class NewIds:
    """Primary keys for rows about to be COPYed, from each table's sequence.

    For a table in ``locked`` (one this transaction holds locked against other
    writers: DeferredIndexes on a first import), ids are claimed a block at a time
    with one setval and what is left of the last block goes back at release().
    A statement waits for every write queued by background_writes(), so blocks are
    large: a full archive's papers take one. (A file that fails leaves its block
    unused: a gap in the ids, as a rolled-back nextval would.) Elsewhere, one
    nextval per id, safe beside concurrent inserts.
    """

    BLOCK = 1 << 20

    def __init__(self, locked: set[str] = frozenset()):
        self.locked = locked
        self.free: dict[str, list[int]] = {}  # table -> [next free id, end of block]

    def take(self, table: str, count: int) -> list[int]:
        if table not in self.locked:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                    "FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
        block = self.free.setdefault(table, [0, 0])
        if block[1] - block[0] < count:
            size = max(count, self.BLOCK)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') AS s",
                    [size, table],
                )
                last = cursor.fetchone()[0]
            if block[1] != last - size + 1:  # not right after the last block: start afresh
                block[0] = last - size + 1
            block[1] = last + 1
        start = block[0]
        block[0] += count
        return list(range(start, start + count))

    def release(self) -> None:
        """Hand the unused ids of each table's last block back to its sequence."""
        if not self.free:
            return
        with connection.cursor() as cursor:
            for table, (first_free, _) in self.free.items():
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)",
                    [table, first_free],
                )
        self.free = {}


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


def _drop_constraints(cursor, table: str, kind: str) -> list[tuple[str, str, str]]:
    """Drop the table's constraints of this kind ('f' foreign key, 'u' unique); (table, name, definition) of each."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = %s",
        [table, kind],
    )
    dropped = []
    for name, definition in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        dropped.append((table, name, definition))
    return dropped


def _has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    return cursor.fetchone()[0]


class DeferredIndexes:
    """Tables a file starts empty, and on PostgreSQL their plain indexes and foreign keys set aside till the end.

    ``empty`` (every backend) names the tables that held no row when the file began:
    their rows are all the file's own, which an importer may keep in memory and COPY.
    Building an index once over a bulk-loaded table is several times cheaper than
    keeping it up to date row by row (the paper search GIN index above all), and a
    foreign key added back is checked in one join instead of one queued trigger
    event per row. Only for tables the importer never reads by those indexes;
    unique indexes and primary keys stay, since lookups and ON CONFLICT use them,
    except the unique constraints of ``unique_of`` tables.
    DROP and ADD are transactional: a file that fails leaves the tables as they were,
    and a row that breaks a foreign key fails the file when the key comes back.
    """

    def __init__(
        self,
        tables: list[str],
        keys_of: tuple[str, ...] = (),
        unique_of: tuple[str, ...] = (),
    ):
        # keys_of: tables that hold rows already, whose foreign keys alone are set aside
        # too when the first of `tables` is empty (the file is a bulk load that also
        # adds many rows there). unique_of: tables among `tables` whose unique
        # constraints are set aside too when they start empty, because the importer
        # keeps those keys unique in memory; adding them back checks that it did.
        self.tables, self.keys_of, self.unique_of = tables, keys_of, unique_of
        self.definitions, self.uniques, self.foreign_keys = [], [], []
        self.empty: set[str] = set()
        self.locked: set[str] = set()  # PostgreSQL: the empty ones, locked against other writers
        self.ids = NewIds(self.locked)  # ids for COPY, in blocks for the locked tables

    def drop(self) -> None:
        with connection.cursor() as cursor:
            self.empty = {t for t in self.tables if not _has_rows(cursor, t)}
            if not (self.empty and is_postgres()):
                return
            # Checks queued earlier in an enclosing transaction would block the ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in [t for t in self.tables if t in self.empty]:
                # Held till the end of the transaction (DROP INDEX takes a stronger lock
                # still): nothing else writes here, so NewIds may claim blocks of ids.
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
                if _has_rows(cursor, table):  # written to before the lock was granted
                    self.empty.discard(table)
                    continue
                self.locked.add(table)
                self.foreign_keys += _drop_constraints(cursor, table, "f")
                if table in self.unique_of:
                    self.uniques += _drop_constraints(cursor, table, "u")
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
            if self.tables[0] in self.locked:
                for table in self.keys_of:
                    self.foreign_keys += _drop_constraints(cursor, table, "f")

    def rebuild(self) -> None:
        self.restore_indexes()
        self.restore_keys()

    def restore_indexes(self) -> None:
        """Build the indexes set aside, once over the loaded rows (and hand unused ids back)."""
        self.ids.release()
        if not (self.definitions or self.uniques):
            return
        with connection.cursor() as cursor:
            # Run the queued foreign-key checks of other tables now: PostgreSQL alters
            # no table and builds no index while checks on it are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in self.definitions:
                cursor.execute(definition)
            for table, name, definition in self.uniques:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # as Django declares its keys
        self.definitions, self.uniques = [], []

    def restore_keys(self) -> None:
        """Add the foreign keys back: one join checks every row written meanwhile."""
        if not self.foreign_keys:
            return
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, definition in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        self.foreign_keys = []

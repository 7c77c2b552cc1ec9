"""Import the Papers With Code archive dumps (and export them back).

    import_file(path)                 one dump file, its kind from its name
    import_records(records, kind)     already-parsed records (the demo data)
    export_archive(outdir)            the five files in the same schema

Each file is imported in one transaction: a file that is not valid JSON
leaves nothing behind; a record that cannot be imported goes to the rejects
report with its reason, and the rest of the file goes on. Each file is one
entry in the audit log (action "import": its name, kind and counts), not one
per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from leaderboard.audit import services as audit
from leaderboard.importers.base import (
    ImportStats,
    Rejects,
    background_writes,
    paused_gc,
)
from leaderboard.importers.reading import DumpError, records

KINDS = (
    "papers-with-abstracts",
    "links-between-papers-and-code",
    "evaluation-tables",
    "methods",
    "datasets",
)


def kind_of(path: Path) -> str | None:
    """The dump kind a file name announces, e.g. `evaluation-tables.json.gz`."""
    name = path.name.lower()
    for kind in sorted(KINDS, key=len, reverse=True):
        if kind in name:
            return kind
    if "links-between-paper" in name:
        return "links-between-papers-and-code"
    return None


def _importer(kind: str):
    from leaderboard.importers.catalog import DatasetsImporter, MethodsImporter
    from leaderboard.importers.papers import LinksImporter, PapersImporter
    from leaderboard.importers.tables import TablesImporter

    return {
        "evaluation-tables": TablesImporter,
        "papers-with-abstracts": PapersImporter,
        "links-between-papers-and-code": LinksImporter,
        "methods": MethodsImporter,
        "datasets": DatasetsImporter,
    }[kind]


def default_rejects_path() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(settings.VAR_DIR) / "import-rejects" / f"{stamp}.jsonl"


def import_records(
    items: Iterable[object],
    kind: str,
    *,
    source: str = "<records>",
    rejects: Rejects | None = None,
    progress=None,
) -> ImportStats:
    """Import parsed records of one kind in one transaction."""
    stats = ImportStats(path=source, kind=kind)
    rejects = rejects or Rejects(default_rejects_path())
    with paused_gc(), transaction.atomic(), background_writes():
        importer = _importer(kind)(stats, rejects, source)
        for index, item in enumerate(items):
            importer.add(item, index)
            if progress is not None:
                progress.update(1)
        importer.finish()
        audit.record_import(stats)
    if stats.created or stats.updated:
        refresh_statistics(kind)
        _invalidate_caches()
    return stats.finish()


def _tables_of(kind: str) -> list[str]:
    """The tables a file of this kind fills, the large ones the reads plan on."""
    from leaderboard import models as m

    tables = {
        "papers-with-abstracts": [m.Paper, m.Author, m.PaperAuthor, m.Paper.tasks.through, m.Paper.methods.through],
        "links-between-papers-and-code": [m.Repository, m.PaperRepository],
        "evaluation-tables": [m.Result, m.MetricValue, m.ResultTask, m.Model, m.Leaderboard, m.Paper.tasks.through],
        "methods": [m.Method],
        "datasets": [m.Dataset, m.DatasetAlias],
    }[kind]
    return [model._meta.db_table for model in tables]


def refresh_statistics(kind: str) -> None:
    """ANALYZE the tables a file filled, once it is committed.

    The planner chooses from these statistics: without them, right after a bulk load
    (and until autovacuum gets to it, if it runs at all), it walks a table's whole primary
    key for a paper's results (284k rows at full scale, 100+ ms instead of 9 ms).
    """
    with connection.cursor() as cursor:
        for table in _tables_of(kind):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _invalidate_caches() -> None:
    """Bulk writes send no model signals: tell the API's SotA/count cache that the data changed."""
    from leaderboard.cache import bump

    bump()


def import_file(
    path: Path | str,
    kind: str | None = None,
    *,
    rejects: Rejects | None = None,
    progress=None,
) -> ImportStats:
    """Import one dump file (`.json` or `.json.gz`); raises DumpError on a file that cannot be read."""
    path = Path(path)
    kind = kind or kind_of(path)
    if kind not in KINDS:
        raise DumpError(
            f"{path}: cannot tell which dump this is from its name; "
            f"name it after one of {', '.join(KINDS)} or pass --kind"
        )
    if not path.is_file():
        raise DumpError(f"{path}: no such file")
    return import_records(
        records(path), kind, source=str(path), rejects=rejects, progress=progress
    )


__all__ = [
    "KINDS",
    "DumpError",
    "ImportStats",
    "Rejects",
    "import_file",
    "import_records",
    "kind_of",
]

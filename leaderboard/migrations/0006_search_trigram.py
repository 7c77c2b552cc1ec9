"""Indexes of the ranked search (leaderboard.search).

* pg_trgm, and two indexes on UPPER(column) of every name the search ranks (tasks
  and their aliases, datasets with their full names and aliases, methods, models,
  leaderboard slugs): a btree (text_pattern_ops) for "equal" and "starts with", a
  GIN trigram index for "contains" and for trigram word similarity (%>), which is
  case-blind anyway. Django's iexact/istartswith/icontains compare UPPER(column) too.
* A GIN index on the papers' title vector, to_tsvector('english', title): the search
  takes its title matches first, and ranks title words above abstract words.

PostgreSQL only: a no-op on SQLite, which searches with icontains and difflib.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TITLE_INDEX = "leaderboard_paper_title_fts"
TITLE_EXPRESSION = "to_tsvector('english'::regconfig, title)"
NAME_COLUMNS = [
    ("leaderboard_dataset", "full_name"),
    ("leaderboard_dataset", "name"),
    ("leaderboard_datasetalias", "name"),
    ("leaderboard_leaderboard", "slug"),
    ("leaderboard_method", "full_name"),
    ("leaderboard_method", "name"),
    ("leaderboard_model", "name"),
    ("leaderboard_task", "name"),
    ("leaderboard_taskalias", "name"),
]


def trigram_index(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


def upper_index(table: str, column: str) -> str:
    return f"{table}_{column}_upper"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in NAME_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {trigram_index(table, column)} ON {table} "
            f"USING GIN (UPPER({column}::text) gin_trgm_ops)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {upper_index(table, column)} ON {table} "
            f"(UPPER({column}::text) text_pattern_ops)"
        )
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {TITLE_INDEX} ON leaderboard_paper USING GIN ({TITLE_EXPRESSION})")
    for table in sorted({table for table, _ in NAME_COLUMNS} | {"leaderboard_paper"}):
        schema_editor.execute(f"ANALYZE {table}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in NAME_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {trigram_index(table, column)}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {upper_index(table, column)}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {TITLE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("leaderboard", "0005_ownership_and_paper_claims"),
    ]

    operations = [TrigramExtension(), migrations.RunPython(create, drop)]

"""Indexes for paper search and a task's papers.

* A GIN index on exactly the expression the API's search matches
  (leaderboard.api.filters.search_papers: SearchVector("title", "abstract", config="english")),
  so `/search/?q=` and `/papers/?q=` are served by the index. PostgreSQL only: a no-op on SQLite.
* (task_id, paper_id) on the Paper.tasks through table: a task's papers by an index-only scan
  (the table's unique constraint is (paper_id, task_id), which serves the other direction).

Migration 0004 rebuilds the first on a stored search vector, under the same name.
"""

from django.db import migrations

SEARCH_INDEX = "leaderboard_paper_fts"
SEARCH_EXPRESSION = (
    "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(abstract, ''))"
)
TASK_PAPERS_INDEX = "leaderboard_paper_tasks_task_paper"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON leaderboard_paper USING GIN ({SEARCH_EXPRESSION})"
        )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TASK_PAPERS_INDEX} ON leaderboard_paper_tasks (task_id, paper_id)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {TASK_PAPERS_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("leaderboard", "0002_archive_import_keys"),
    ]

    operations = [migrations.RunPython(create, drop)]

"""The OpenAPI schema validates without warnings, matches the committed copy, and the docs work offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

COMMITTED = Path(__file__).resolve().parents[2] / "schema" / "openapi.yaml"


def generated_schema() -> str:
    """As `make schema` makes it: on SQLite, since integer ranges follow the database backend."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{settings.VAR_DIR / 'schema.sqlite3'}"}
    run = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_the_schema_validates_and_matches_the_committed_copy():
    assert generated_schema() == COMMITTED.read_text(), (
        "schema/openapi.yaml is out of date: run `make schema` and commit the result"
    )


@pytest.mark.django_db
def test_the_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/evaluations/{evaluation_id}/sota/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower()
    asset = next(part.split('"')[0] for part in page.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert client.get(asset).status_code == 200

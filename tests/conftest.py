import os

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Worker processes started by the verification tests share the test database,
    so SQLite's is a file (pytest-django's default, in memory, is private to one process)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        # One file per pytest process: several test runs may share a checkout.
        name = f"test_db-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(settings.VAR_DIR / name)


@pytest.fixture
def demo(db):
    """The demo knowledge base: the AWing paper and 120 face-alignment rows."""
    from leaderboard.demo import load_demo

    load_demo()

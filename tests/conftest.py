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


@pytest.fixture(scope="session", autouse=True)
def cache_owns_its_redis_database():
    """Tests call cache.clear(), which with Redis empties the whole CACHE_URL database:
    it must not be the broker's (CI gives the cache db 14, the broker db 15)."""
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION", "")
    if location.startswith(("redis://", "rediss://")):
        assert location.rstrip("/") != settings.CELERY_BROKER_URL.rstrip("/"), (
            f"CACHE_URL={location} is also the Celery broker; give the tests' cache a database of its own"
        )

"""The generation cache builds a missing entry once, however many requests miss it at the same time."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from leaderboard import cache as generation


@pytest.fixture(autouse=True)
def caching_on(settings):
    settings.API_CACHE_SECONDS = 30
    generation.bump()


def _race(build, keep=None, readers: int = 6) -> list:
    """`readers` threads that miss the same key at once."""
    start = threading.Barrier(readers)
    key = f"race:{id(build)}"

    def read(_):
        start.wait()
        if keep is None:
            return generation.cached_table(key, build)
        return generation.kept_or_built(key, build, keep)

    with ThreadPoolExecutor(readers) as pool:
        return list(pool.map(read, range(readers)))


def test_concurrent_misses_of_one_key_build_it_once():
    builds = []

    def build():
        builds.append(1)
        threading.Event().wait(0.3)  # long enough for every reader to miss
        return b"the table"

    assert _race(build) == [b"the table"] * 6
    assert len(builds) == 1


def test_readers_build_for_themselves_when_the_builder_keeps_nothing():
    builds = []

    def build():
        builds.append(1)
        threading.Event().wait(0.05)
        return "a page for one reader"

    assert _race(build, keep=lambda built: None) == ["a page for one reader"] * 6
    assert len(builds) == 6


def test_a_failed_build_frees_the_key():
    def failing():
        raise LookupError("no such board")

    with pytest.raises(LookupError):
        generation.cached_table("failing", failing)
    assert generation.cached_table("failing", lambda: b"built after") == b"built after"

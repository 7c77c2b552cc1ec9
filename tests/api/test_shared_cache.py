"""One cache generation for pages and the API, and what a shared (Redis) cache shares.

Django keeps one cache client per thread: a freshly made client for the same
CACHE_URL stands for another web process. With Redis it shares what the first
one wrote. The tests that need that are marked `shared_cache`: CI runs them on Redis
and its fast pass on the per-process default leaves them out (`make test-fast`).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.cache import caches
from django.db import transaction

from leaderboard import cache as generation_cache
from leaderboard import services
from leaderboard.api.throttling import AnonThrottle, UserThrottle
from leaderboard.models import Leaderboard

from .conftest import BOARD, make_user

PAGE = f"/sota/{BOARD}"
SOTA = f"/api/v1/evaluations/{BOARD}/sota/"
METRICS = {"NME (inter-ocular)": "1.00", "AUC@10 (inter-ocular)": "90.0"}

_SHARED = caches["default"].__class__.__name__ == "RedisCache"


def shared_only(test):
    """A test of what processes share through the cache: it needs CACHE_URL=redis://…"""
    test = pytest.mark.shared_cache(test)
    return pytest.mark.skipif(not _SHARED, reason="needs CACHE_URL=redis://…: a per-process cache shares nothing")(test)


@contextmanager
def another_process():
    """Serve what runs inside from a new cache client, as another web process would."""
    mine = caches["default"]
    caches["default"] = caches.create_connection("default")
    try:
        assert caches["default"] is not mine
        yield
    finally:
        caches["default"].close()
        caches["default"] = mine


def new_result(model_name: str) -> None:
    services.record_result(Leaderboard.objects.get(slug=BOARD), model_name=model_name, metrics=METRICS)


def test_a_write_moves_the_generation_at_once_and_again_on_commit(demo, django_capture_on_commit_callbacks):
    before = generation_cache.generation()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        new_result("Gen-Net")
        during = generation_cache.generation()
    assert before < during < generation_cache.generation()


def test_a_read_inside_the_writing_transaction_sees_the_write(demo, client, anon):
    assert "Own-Net" not in client.get(PAGE).content.decode()
    assert "Own-Net" not in anon.get(SOTA).content.decode()
    with transaction.atomic():
        new_result("Own-Net")
        assert "Own-Net" in client.get(PAGE).content.decode()
        assert "Own-Net" in anon.get(SOTA).content.decode()


def test_what_another_process_cached_before_the_commit_is_dropped_by_it(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        generation_cache.bump()  # the write
        # another process reads the data before the commit, under the new generation
        assert generation_cache.cached_table("board", lambda: b"before") == b"before"
    assert generation_cache.cached_table("board", lambda: b"after") == b"after"


def test_pages_and_api_share_the_one_generation(db):
    from leaderboard import selectors

    assert selectors.cached("page", lambda: "old page") == "old page"
    assert generation_cache.cached_table("table", lambda: b"old table") == b"old table"
    assert selectors.cached("page", lambda: "new page") == "old page"
    generation_cache.bump()
    assert selectors.cached("page", lambda: "new page") == "new page"
    assert generation_cache.cached_table("table", lambda: b"new table") == b"new table"


def test_the_home_pages_notable_boards_show_a_new_best_entry_at_once(demo, client):
    def wflw_summary():
        return {item.board.slug: item for item in client.get("/").context["notable"]}[BOARD]

    before = wflw_summary()  # now cached
    services.record_result(Leaderboard.objects.get(slug=BOARD), model_name="Best-Net",
                           metrics={"NME (inter-ocular)": "0.50"})
    after = wflw_summary()
    assert before.best_model != "Best-Net"
    assert (after.best_model, after.best_value, after.result_count) == ("Best-Net", "0.50", before.result_count + 1)


def test_throttles_count_in_the_configured_default_cache(demo, anon):
    from django.core.cache import cache as default_cache

    assert AnonThrottle.cache is default_cache and UserThrottle.cache is default_cache
    anon.get(SOTA)
    throttle = AnonThrottle()
    window = int(throttle.timer() // throttle.duration)
    assert caches["default"].get(f"{throttle.cache_format % {'scope': 'anon', 'ident': '127.0.0.1'}}:{window}")


@shared_only
def test_a_committed_write_is_seen_at_once_by_another_process(demo, client, anon, django_capture_on_commit_callbacks):
    with another_process():
        assert "Shared-Net" not in client.get(PAGE).content.decode()
        assert "Shared-Net" not in anon.get(SOTA).content.decode()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        new_result("Shared-Net")
    with another_process():
        assert "Shared-Net" in client.get(PAGE).content.decode()
        assert "Shared-Net" in anon.get(SOTA).content.decode()


@shared_only
def test_two_processes_share_one_rate_limit(demo, anon, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "4/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert [anon.get(SOTA).status_code for _ in range(2)] == [200, 200]
    with another_process():
        assert [anon.get(SOTA).status_code for _ in range(3)] == [200, 200, 429]


READER = """
import sys
import django

django.setup()
from django.test import Client

client = Client()
for _ in sys.stdin:
    page = client.get(sys.argv[1]).content.decode()
    api = client.get(sys.argv[2]).content.decode()
    print("Proc-Net" in page, "Proc-Net" in api, flush=True)
"""


@pytest.mark.slow
@shared_only
def test_another_web_process_serves_a_committed_write_at_once(transactional_db, demo, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.verification.conftest import database_url

    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(DATABASE_URL=database_url(), VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="leaderboard.settings")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, PAGE, SOTA], cwd=Path(__file__).resolve().parents[2], env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        def read() -> str:
            reader.stdin.write("read\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert read() == "False False"  # now cached in that process's view of the cache
        new_result("Proc-Net")  # committed at once: no transaction around the test
        assert read() == "True True"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)


@shared_only
def test_simultaneous_requests_from_many_processes_never_pass_a_limit(settings):
    """Callers that arrive together, each in its own process (here: a thread with its own cache
    client), are counted one by one: a limit of 5 lets exactly 5 through."""
    import threading

    from django.contrib.auth.models import AnonymousUser
    from rest_framework.test import APIRequestFactory

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    caches["default"].clear()
    callers, allowed, lock = 16, [], threading.Lock()
    barrier = threading.Barrier(callers)

    def call() -> None:
        request = APIRequestFactory().get(SOTA, REMOTE_ADDR="203.0.113.9")
        request.user = AnonymousUser()
        throttle = AnonThrottle()
        throttle.cache = caches.create_connection("default")  # another process's client
        barrier.wait()
        verdict = throttle.allow_request(request, None)
        with lock:
            allowed.append(verdict)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * (callers - 5) + [True] * 5


@shared_only
def test_every_call_of_one_cache_goes_through_one_redis_client():
    """Making a redis-py client costs more than a round trip to Redis: one serves every call."""
    backend = caches.create_connection("default")
    backend.set("one-client", 1)
    client = backend._cache.get_client()
    assert backend.get("one-client") == 1 and backend.incr("one-client") == 2
    assert backend._cache.get_client(write=True) is client and backend._cache.get_client() is client
    backend.close()


@shared_only
def test_a_session_ended_in_one_process_is_ended_in_every_process(db, client):
    """Sessions are read from the shared cache (cached_db): signing out through one process signs
    the session out of the others at once."""
    client.force_login(make_user("sessions"))
    cookie = client.cookies["sessionid"].value
    with another_process():
        assert client.get("/accounts/profile/").status_code == 200
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie  # the ended session's cookie, shown again
    with another_process():
        assert client.get("/accounts/profile/").status_code == 302

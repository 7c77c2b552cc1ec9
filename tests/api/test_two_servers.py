"""Two real gunicorn servers on one Redis cache: one rate limit, and a write on one seen at once by the other.

Each server is its own process (one sync worker each) on this run's test database, so nothing
is shared between them but PostgreSQL and the cache named by CACHE_URL. With the per-process
default (locmem://) each would count its own limit and keep its own pages: these tests need
CACHE_URL=redis://… (CI) and are left out of the fast pass.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid

import pytest

from benchmarks.serving import free_port, start_gunicorn, stop
from tests.api.conftest import BOARD, make_user
from tests.api.test_shared_cache import shared_only

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LIMIT = 5  # anonymous requests a minute, across both servers
PAGE = f"/sota/{BOARD}"
SOTA = f"/api/v1/evaluations/{BOARD}/sota/"


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Two servers, A and B, on the test database and the configured cache, as (host, port) pairs."""
    from tests.verification.conftest import database_url

    root = tmp_path_factory.mktemp("two-servers")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_THROTTLE_", "VERIFICATION_"))}
    env.update(DATABASE_URL=database_url(), VAR_DIR=str(root / "var"), MEDIA_ROOT=str(root / "media"),
               DJANGO_SETTINGS_MODULE="leaderboard.settings", API_THROTTLE_ANON=f"{LIMIT}/minute",
               VERIFICATION_CPU_QUEUE=f"cpu-{uuid.uuid4().hex[:8]}", VERIFICATION_GPU_QUEUE=f"gpu-{uuid.uuid4().hex[:8]}")
    started = []
    try:
        for _ in range(2):
            port = free_port()
            started.append((start_gunicorn(env, port, workers=1, timeout=120), port))
        yield [("127.0.0.1", port) for _, port in started]
    finally:
        for process, _ in started:
            stop(process)


def request(server, method: str, path: str, body: dict | None = None, token: str | None = None):
    connection = http.client.HTTPConnection(*server, timeout=60)
    headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


@shared_only
def test_the_anonymous_rate_limit_holds_across_two_server_processes(transactional_db, demo, servers):
    a, b = servers
    answers = [request(servers[i % 2], "GET", SOTA) for i in range(LIMIT + 1)]
    statuses = [status for status, _, _ in answers]
    assert statuses == [200] * LIMIT + [429], statuses
    # One count for both: each answer, from either server, has one request fewer left.
    assert [int(h["x-ratelimit-remaining"]) for _, h, _ in answers] == [*range(LIMIT - 1, -1, -1), 0]
    _, headers, body = answers[-1]
    assert headers["x-ratelimit-limit"] == str(LIMIT) and int(headers["x-ratelimit-retry"]) >= 1
    assert json.loads(body)["error"]
    assert request(a, "GET", SOTA)[0] == request(b, "GET", SOTA)[0] == 429


@shared_only
def test_a_write_through_one_server_is_read_at_once_from_the_other(transactional_db, demo, servers):
    a, b = servers
    token = make_user("carol").auth_token.key
    for path in (PAGE, SOTA):  # A builds and caches the board as it is
        status, _, body = request(a, "GET", path)
        assert status == 200 and "Cross-Net" not in body
        assert request(a, "GET", path)[2] == body  # served again from A's cache
    status, _, body = request(b, "POST", f"/api/v1/evaluations/{BOARD}/results/", {
        "metrics": {"NME (inter-ocular)": "1.00", "AUC@10 (inter-ocular)": "90.0"}, "methodology": "Cross-Net",
        "uses_additional_data": False, "paper": "", "evaluated_on": "2024-01-02", "external_source_url": None,
    }, token=token)
    assert status == 201, body
    for path in (PAGE, SOTA):
        status, _, body = request(a, "GET", path)
        assert status == 200 and "Cross-Net" in body, path

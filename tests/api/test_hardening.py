"""Hostile or unlucky input costs a clear 4xx in the contract's form, and answers tell no internals."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from leaderboard.api.errors import exception_handler
from tests.api.conftest import BOARD, client_for

HEADERS = ["X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Retry"]


@pytest.mark.parametrize("path", ["/api/v1/submissions/", "/api/v1/benchmarks/", "/api/v1/schema/", "/api/v1/tasks/",
                                  "/api/v1/tasks/no-such-task/"])
def test_every_api_answer_carries_the_rate_limit_headers(db, anon, path):
    response = anon.get(path)
    assert response.status_code in (200, 404)
    for header in HEADERS:
        assert header in response, (path, header)


def test_a_429_from_the_submissions_scope_reports_that_scope(db, alice, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "1000/hour", "user": "5000/hour",
                                                          "submissions": "2/hour"}}
    api = client_for(alice)
    answers = [api.post("/api/v1/submissions/", {}, format="multipart") for _ in range(3)]
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused["X-Ratelimit-Limit"] == "2"
    assert refused["X-Ratelimit-Remaining"] == "0"
    assert int(refused["X-Ratelimit-Retry"]) > 0
    assert answers[0]["X-Ratelimit-Limit"] == "2"  # the tighter limit, while allowed too


def test_an_integrity_error_answers_409_in_plain_words():
    raw = 'duplicate key value violates unique constraint "leaderboard_task_slug_key"\nDETAIL: Key (slug)=(x)'
    response = exception_handler(IntegrityError(raw), {})
    assert response.status_code == 409
    assert "leaderboard_task" not in response.data["error"]
    assert "constraint" not in response.data["error"]
    assert "already exists" in response.data["error"]


def test_a_csv_export_error_is_plain_text(demo, anon):
    response = anon.get(f"/api/v1/evaluations/{BOARD}/export.csv/?uses_additional_data=maybe")
    assert response.status_code == 400
    text = response.content.decode()
    assert "ErrorDetail" not in text
    assert "uses_additional_data" in text


def _nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


WRITES = ["/api/v1/tasks/", "/api/v1/datasets/", "/api/v1/evaluations/", f"/api/v1/evaluations/{BOARD}/metrics/",
          f"/api/v1/evaluations/{BOARD}/results/", "/api/v1/rpc/evaluation-synchronize/"]


@pytest.mark.parametrize("path", WRITES)
def test_a_deeply_nested_body_is_a_400(demo, alice, path):
    body = b'{"name": ' + _nested(5000) + b"}"
    response = client_for(alice).generic("POST", path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["error"]


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize("key", ["name", "metrics", "results", "model_name", "evaluations"])
def test_a_body_nested_just_within_the_parser_is_a_4xx(demo, alice, path, key):
    body = b'{"' + key.encode() + b'": ' + _nested(900) + b"}"
    response = client_for(alice).generic("POST", path, body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_an_over_size_body_is_a_json_413(db, alice, settings):
    body = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}).encode()
    response = client_for(alice).generic("POST", "/api/v1/tasks/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "larger" in response.json()["error"]


def test_a_nul_in_the_api_search_is_a_400(db):
    response = APIClient().get("/api/v1/search/", {"q": "face\x00"})
    assert response.status_code in (200, 400)


def test_refused_requests_count_and_carry_the_headers(db, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "3/hour", "user": "5000/hour",
                                                          "submissions": "60/hour"}}
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    answers = [guesser.get("/api/v1/tasks/") for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert all("X-Ratelimit-Limit" in a for a in answers)
    denied = APIClient().post("/api/v1/tasks/", {"name": "x"}, format="json")
    assert denied.status_code == 429


def test_a_limit_holds_across_the_edge_of_a_window(settings):
    """5 requests at the end of one minute leave no room at the start of the next: the previous
    window counts for the share of it the last minute still covers."""
    from django.contrib.auth.models import AnonymousUser
    from django.core.cache import cache
    from rest_framework.test import APIRequestFactory

    from leaderboard.api.throttling import AnonThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "5/minute"}}
    cache.clear()
    start = 60 * 29_000_000  # the start of a minute

    def ask(at: float) -> tuple[bool, dict]:
        request = APIRequestFactory().get("/api/v1/tasks/", REMOTE_ADDR="198.51.100.7")
        request.user = AnonymousUser()
        throttle = AnonThrottle()
        throttle.timer = lambda: at
        return throttle.allow_request(request, None), request.rate_limit

    assert [ask(start + 59)[0] for _ in range(5)] == [True] * 5
    refused, state = ask(start + 61)
    assert not refused and state["remaining"] == 0
    assert 1 < state["retry"] <= 60  # when enough of the previous minute has slid out of the last one
    assert ask(start + 61 + state["retry"])[0]
    assert not ask(start + 61 + state["retry"])[0]  # exactly one more fitted

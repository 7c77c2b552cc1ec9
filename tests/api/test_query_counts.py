"""The number of queries of every list and detail endpoint does not grow with the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import AWING, BOARD, grow

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/papers/",
    "/api/v1/papers/?q=face",
    f"/api/v1/papers/{AWING}/",
    f"/api/v1/papers/{AWING}/results/",
    f"/api/v1/papers/{AWING}/repositories/",
    f"/api/v1/papers/{AWING}/tasks/",
    f"/api/v1/papers/{AWING}/datasets/",
    f"/api/v1/papers/{AWING}/methods/",
    "/api/v1/search/?q=face",
    "/api/v1/repositories/",
    "/api/v1/repositories/ownerx",
    "/api/v1/repositories/protossw512/AdaptiveWingLoss/",
    "/api/v1/repositories/protossw512/AdaptiveWingLoss/papers/",
    "/api/v1/authors/",
    "/api/v1/authors/shared-author/",
    "/api/v1/authors/shared-author/papers/",
    "/api/v1/conferences/",
    "/api/v1/conferences/confx/",
    "/api/v1/conferences/confx/proceedings/",
    "/api/v1/conferences/confx/proceedings/confx-2000/",
    "/api/v1/conferences/confx/proceedings/confx-2000/papers/",
    "/api/v1/areas/",
    "/api/v1/areas/computer-vision/",
    "/api/v1/areas/computer-vision/tasks/",
    "/api/v1/tasks/",
    "/api/v1/tasks/face-alignment/",
    "/api/v1/tasks/face-alignment/parents/",
    "/api/v1/tasks/face-alignment/children/",
    "/api/v1/tasks/face-alignment/papers/",
    "/api/v1/tasks/face-alignment/evaluations/",
    "/api/v1/datasets/",
    "/api/v1/datasets/wflw/",
    "/api/v1/datasets/wflw/evaluations/",
    "/api/v1/methods/",
    "/api/v1/evaluations/",
    f"/api/v1/evaluations/{BOARD}/",
    f"/api/v1/evaluations/{BOARD}/metrics/",
    f"/api/v1/evaluations/{BOARD}/metrics/{{metric}}/",
    f"/api/v1/evaluations/{BOARD}/results/",
    f"/api/v1/evaluations/{BOARD}/sota/",
    f"/api/v1/evaluations/{BOARD}/export.csv/",
    f"/api/v1/evaluations/{BOARD}/export.json/",
]


def _count(client, url: str) -> int:
    from leaderboard.models import Leaderboard

    url = url.format(metric=Leaderboard.objects.get(slug=BOARD).primary_metric_id)
    separator = "&" if "?" in url else "?"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{url}{separator}items_per_page=200")
    assert response.status_code == 200, (url, response.content[:200])
    return len(queries)


def test_it_uses_a_fixed_number_of_queries_whatever_the_number_of_rows(demo, anon, settings):
    settings.API_CACHE_SECONDS = 0  # count the queries of building tables and counts, not of cache hits
    grow(2, "a")
    first = {url: _count(anon, url) for url in ENDPOINTS}
    grow(6, "b")
    second = {url: _count(anon, url) for url in ENDPOINTS}
    grown = {url: (first[url], second[url]) for url in ENDPOINTS if first[url] != second[url]}
    assert not grown, f"query counts grew with the rows: {grown}"
    assert max(second.values()) <= 8, second


def test_the_result_detail_uses_a_fixed_number_of_queries(demo, anon):
    from leaderboard.models import Result

    result = Result.objects.filter(dataset__slug="wflw").first()
    url = f"/api/v1/evaluations/{BOARD}/results/{result.pk}/"
    grow(2, "a")
    before = _count(anon, url)
    grow(6, "b")
    assert _count(anon, url) == before

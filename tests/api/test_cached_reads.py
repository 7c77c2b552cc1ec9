"""Anonymous API reads are kept in the generation cache: a repeat costs no query, a write shows at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import AWING, BOARD, client_for


@pytest.fixture(autouse=True)
def caching_on(settings):
    settings.API_CACHE_SECONDS = 30


LISTS = [
    "/api/v1/papers/?items_per_page=5",
    f"/api/v1/papers/{AWING}/",
    f"/api/v1/evaluations/{BOARD}/results/",
    "/api/v1/search/?q=adaptive+wing",
    "/api/v1/tasks/face-alignment/papers/",
    f"/api/v1/evaluations/{BOARD}/sota/",  # a body the view renders itself
]


@pytest.mark.parametrize("url", LISTS)
def test_a_repeated_anonymous_read_is_answered_from_the_cache_with_its_rate_limit_counted(
    anon, demo, url, django_assert_num_queries
):
    first = anon.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = anon.get(url)
    assert again.json() == first.json()
    assert int(again["X-Ratelimit-Remaining"]) == int(first["X-Ratelimit-Remaining"]) - 1


def test_a_write_shows_in_the_next_anonymous_read(anon, demo, staff):
    url = "/api/v1/datasets/?q=Cached"
    assert anon.get(url).json()["count"] == 0
    created = client_for(staff).post("/api/v1/datasets/", {"name": "Cached Faces"}, format="json")
    assert created.status_code == 201
    assert [d["name"] for d in anon.get(url).json()["results"]] == ["Cached Faces"]


def test_signed_in_reads_are_built_for_their_caller_not_taken_from_the_anonymous_cache(anon, demo, alice):
    url = "/api/v1/papers/?items_per_page=5"
    assert anon.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client_for(alice).get(url).status_code == 200
    assert any("leaderboard_paper" in query["sql"] for query in queries.captured_queries)


def test_errors_are_not_kept(anon, demo):
    assert anon.get("/api/v1/papers/no-such-paper/").status_code == 404
    assert anon.get("/api/v1/papers/no-such-paper/").status_code == 404


def test_each_host_gets_its_own_links(anon, demo, settings):
    settings.ALLOWED_HOSTS = ["testserver", "mirror.example"]
    url = "/api/v1/papers/?items_per_page=1"
    assert anon.get(url).json()["next"].startswith("http://testserver/")
    assert anon.get(url, HTTP_HOST="mirror.example").json()["next"].startswith("http://mirror.example/")

"""/api/v1/search/: the site's ranking, in the official client's envelope."""

from __future__ import annotations

import pytest

from leaderboard.models import Paper

from .conftest import AWING

pytestmark = pytest.mark.django_db

TITLE = "Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression"


def api_ids(anon, text: str) -> list[str]:
    body = anon.get("/api/v1/search/", {"q": text, "items_per_page": 500}).json()
    assert body["count"] == len(body["results"])
    assert all(set(hit) == {"paper", "repository", "is_official"} for hit in body["results"])
    return [hit["paper"]["id"] for hit in body["results"]]


def test_the_awing_title_ranks_the_awing_paper_first(demo, anon):
    assert api_ids(anon, TITLE)[0] == AWING
    assert api_ids(anon, "AWing")[0] == AWING


@pytest.mark.parametrize("text", ["face alignment", "heatmap", "wflw", "landmark detection", '"face alignment" -heatmap'])
def test_the_page_and_the_api_list_the_same_papers_in_the_same_order(demo, anon, client, text):
    page_ids = []
    page = 1
    while True:
        response = client.get("/search/", {"q": text, "page": page})
        page_ids += [paper.slug for paper in response.context["papers"]]
        if not response.context["papers"].has_next():
            break
        page += 1
    assert page_ids == api_ids(anon, text)
    assert page_ids


def test_pages_of_the_api_search_do_not_overlap(demo, anon):
    whole = api_ids(anon, "face")
    first = anon.get("/api/v1/search/", {"q": "face", "items_per_page": 5}).json()
    second = anon.get("/api/v1/search/", {"q": "face", "items_per_page": 5, "page": 2}).json()
    assert [h["paper"]["id"] for h in first["results"] + second["results"]] == whole[:10]
    assert first["count"] == len(whole)


def test_without_q_it_lists_every_paper_newest_first(demo, anon):
    body = anon.get("/api/v1/search/", {"items_per_page": 500}).json()
    assert body["count"] == Paper.objects.count()
    dates = [hit["paper"]["published"] for hit in body["results"] if hit["paper"]["published"]]
    assert dates == sorted(dates, reverse=True)


def test_odd_input_is_answered_not_failed(demo, anon):
    for text in ["face\x00", "%", "'", '"', "-", "or", "x" * 5000, "a & b | !c <-> d"]:
        assert anon.get("/api/v1/search/", {"q": text}).status_code in (200, 400)

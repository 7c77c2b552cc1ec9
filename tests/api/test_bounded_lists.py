"""Long lists stay cheap: counts are exact up to a bound and estimated above it, pages go only so deep,
and `count`/`next`/`previous` stay right whatever the estimate said."""

from __future__ import annotations

import pytest

from leaderboard import selectors, services
from leaderboard.api import pagination
from leaderboard.models import Leaderboard, Paper
from tests.api.conftest import BOARD

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_bounds(monkeypatch):
    """Bounds small enough for the demo's lists: exact counts up to 5 rows, pages up to 12 rows deep."""
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(pagination.BoundedPaginator, "max_rows", 12)


def test_a_short_list_is_counted_exactly(demo):
    count, estimated = pagination.bounded_count(Paper.objects.all())
    assert (count, estimated) == (Paper.objects.count(), False)


def test_a_long_list_is_estimated_and_still_paged_to_its_end(demo, anon, small_bounds, monkeypatch):
    monkeypatch.setattr(pagination.BoundedPaginator, "max_rows", 10_000)
    total = Paper.objects.count()
    assert total > 5
    count, estimated = pagination.bounded_count(Paper.objects.all())
    assert estimated and count > 5
    seen, url, last = [], "/api/v1/papers/?items_per_page=3", None
    while url:
        last = anon.get(url).json()
        seen += [paper["id"] for paper in last["results"]]
        url = last["next"]
    assert len(seen) == len(set(seen)) == total
    assert last["count"] == total  # the last page knows where the list ends


def test_the_next_link_follows_the_rows_not_the_estimate(demo, small_bounds, monkeypatch):
    # An estimate that falls far short of the list: the page read still finds the next page.
    monkeypatch.setattr(pagination, "planner_estimate", lambda items: 1)
    paginator = pagination.BoundedPaginator(Paper.objects.order_by("id"), 3)
    first = paginator.page(1)
    assert first.has_next() and paginator.count >= 4
    paginator = pagination.BoundedPaginator(Paper.objects.order_by("id"), 3)
    assert len(paginator.page(2)) == 3  # past what the estimate promised


def test_a_page_past_the_depth_limit_is_a_400_that_says_what_to_do(demo, anon, small_bounds):
    assert Paper.objects.count() > 12
    assert anon.get("/api/v1/papers/?items_per_page=3&page=4").status_code == 200
    deep = anon.get("/api/v1/papers/?items_per_page=3&page=5")
    assert deep.status_code == 400
    assert "Narrow the list" in deep.json()["error"]
    last = anon.get("/api/v1/papers/?items_per_page=3&page=4").json()
    assert last["next"] is None  # the deepest page served links no further


def test_a_page_past_the_end_of_a_short_list_is_still_a_404(demo, anon, small_bounds):
    assert anon.get("/api/v1/areas/?page=99").status_code == 404


def test_the_web_list_says_about_and_serves_its_deepest_page(demo, client, small_bounds):
    html = client.get("/papers/").content.decode()
    assert "About " in html
    deep = client.get("/papers/", {"page": "999"})
    assert deep.status_code == 200 and deep.context["page"].number == 12 // 25 + 1


def test_counts_follow_a_write_at_once(demo, anon, client, settings):
    settings.API_CACHE_SECONDS = 30
    before = anon.get("/api/v1/papers/").json()["count"]
    web_before = client.get("/papers/").context["page"].paginator.count
    services.save_paper(title="A paper written just now", authors=["Someone New"])
    assert anon.get("/api/v1/papers/").json()["count"] == before + 1
    assert client.get("/papers/").context["page"].paginator.count == web_before + 1


def test_evaluation_rows_are_ranked_and_paged_in_sql_like_the_table(demo, anon):
    board = Leaderboard.objects.select_related("primary_metric").get(slug=BOARD)
    table = [(str(row.result.pk), row.rank) for row in selectors.sota_table(board)]
    seen, url = [], f"/api/v1/evaluations/{BOARD}/results/?items_per_page=4"
    while url:
        body = anon.get(url).json()
        assert body["count"] == len(table)
        seen += [(row["id"], row["best_rank"]) for row in body["results"]]
        url = body["next"]
    assert seen == table
    result_id, rank = table[5]
    detail = anon.get(f"/api/v1/evaluations/{BOARD}/results/{result_id}/").json()
    assert detail["best_rank"] == rank


def test_a_papers_datasets_are_those_with_its_results_and_those_it_introduced(demo, anon):
    from leaderboard.models import Dataset, Result

    paper = Result.objects.filter(paper__isnull=False).first().paper
    introduced = Dataset.objects.create(name="Introduced here", slug="introduced-here", paper=paper)
    with_results = set(Result.objects.filter(paper=paper).values_list("dataset__slug", flat=True))
    body = anon.get(f"/api/v1/papers/{paper.slug}/datasets/").json()
    ids = [dataset["id"] for dataset in body["results"]]
    assert len(ids) == len(set(ids)) == body["count"]
    assert set(ids) == with_results | {introduced.slug}


@pytest.mark.parametrize("ordering", ["", "&ordering=title", "&ordering=-published"])
def test_deep_pages_read_their_keys_first_and_keep_the_order(demo, anon, monkeypatch, ordering):
    monkeypatch.setattr(pagination, "KEYS_FIRST_FROM", 3)
    whole = [p["id"] for p in anon.get(f"/api/v1/papers/?items_per_page=500{ordering}").json()["results"]]
    paged, url = [], f"/api/v1/papers/?items_per_page=3{ordering}"
    while url:
        body = anon.get(url).json()
        paged += [paper["id"] for paper in body["results"]]
        assert all(paper["authors"] is not None for paper in body["results"])
        url = body["next"]
    assert paged == whole and len(whole) > 6


def test_a_deep_web_page_shows_the_same_papers_as_the_list(demo, client, monkeypatch):
    monkeypatch.setattr(pagination, "KEYS_FIRST_FROM", 3)
    page = client.get("/papers/", {"page": 2}).context["page"]
    expected = list(selectors.paper_list()[25:50])
    assert [p.pk for p in page] == [p.pk for p in expected]


@pytest.mark.parametrize("per_page, counted", [(500, False), (2, True)])
def test_a_first_page_that_holds_the_whole_list_is_not_counted(demo, per_page, counted):
    """Read with one row more than it shows, a first page that is the whole list gives its count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    papers = Paper.objects.order_by("id")
    total = papers.count()
    assert 2 < total <= 500
    paginator = pagination.BoundedPaginator(papers, per_page)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.get_page(1)
        assert (paginator.count, paginator.estimated, paginator.num_pages) == (total, False, -(-total // per_page))
    assert [paper.pk for paper in page] == list(papers.values_list("pk", flat=True)[:per_page])
    assert page.has_next() == (total > per_page)
    assert any("COUNT(" in query["sql"] for query in queries.captured_queries) == counted

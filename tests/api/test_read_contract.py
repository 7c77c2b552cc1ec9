"""Read endpoints answer in the contract's shapes (PWC_API.md §4–6), with filters, ordering and 404s."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import AWING, BOARD

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
pytestmark = pytest.mark.django_db


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body


def test_it_serves_a_paper_with_the_contract_fields_and_types(demo, anon):
    paper = anon.get(f"/api/v1/papers/{AWING}/").json()
    assert paper["id"] == AWING and paper["arxiv_id"] == "1904.07399"
    for key in ("url_abs", "url_pdf", "title", "abstract"):
        assert isinstance(paper[key], str)
    assert paper["authors"][0] == "Xinyao Wang"
    assert DATE.match(paper["published"])
    assert paper["proceeding"] == "iccv-2019" and paper["conference"] == "iccv"


def test_it_never_sends_null_for_required_strings(demo, anon):
    for paper in page(anon, "/api/v1/papers/?items_per_page=200")["results"]:
        assert all(paper[key] is not None for key in ("url_abs", "url_pdf", "title", "abstract"))
    for task in page(anon, "/api/v1/tasks/")["results"]:
        assert task["description"] is not None
    repo = page(anon, f"/api/v1/papers/{AWING}/repositories/")["results"][0]
    assert repo["is_official"] is True and repo["framework"] == "pytorch" and repo["description"] == ""


def test_it_pages_with_page_and_items_per_page(demo, anon):
    first = page(anon, "/api/v1/papers/?items_per_page=5")
    second = page(anon, first["next"])
    assert len(first["results"]) == 5 and first["previous"] is None
    assert "page=2" in first["next"] and second["previous"]
    assert not {p["id"] for p in first["results"]} & {p["id"] for p in second["results"]}


def test_it_ranks_evaluation_results_and_reports_best_rank(demo, anon):
    rows = page(anon, f"/api/v1/evaluations/{BOARD}/results/?items_per_page=100")["results"]
    ranks = [row["best_rank"] for row in rows]
    ranked = [rank for rank in ranks if rank is not None]
    assert ranked == sorted(ranked) and ranked[0] == 1
    assert rows[0]["best_metric"] == "NME (inter-ocular)"
    assert all(isinstance(value, str) for value in rows[0]["metrics"].values())
    assert all(row["evaluated_on"] is None or DATE.match(row["evaluated_on"]) for row in rows)


def test_it_filters_papers_like_the_client_asks(demo, anon):
    assert page(anon, "/api/v1/papers/?arxiv_id=1904.07399")["count"] == 1
    assert page(anon, "/api/v1/papers/?title=adaptive wing")["results"][0]["id"] == AWING
    assert page(anon, "/api/v1/papers/?q=heatmap regression")["count"] >= 1
    assert page(anon, "/api/v1/papers/?q=zzzznothing")["count"] == 0


def test_it_searches_and_returns_papers_with_their_code(demo, anon):
    hits = page(anon, "/api/v1/search/?q=adaptive wing")["results"]
    awing = next(hit for hit in hits if hit["paper"]["id"] == AWING)
    assert awing["is_official"] is True
    assert awing["repository"]["url"] == "https://github.com/protossw512/AdaptiveWingLoss"


def test_it_orders_lists_and_breaks_ties_by_id(demo, anon):
    titles = [p["title"] for p in page(anon, "/api/v1/papers/?ordering=title&items_per_page=200")["results"]]
    assert titles == sorted(titles)
    rows = page(anon, "/api/v1/papers/?ordering=-published&items_per_page=200")["results"]
    dates = [p["published"] for p in rows if p["published"]]
    assert dates == sorted(dates, reverse=True)


def test_it_serves_repositories_by_owner_with_and_without_the_slash(demo, anon):
    for url in ("/api/v1/repositories/protossw512", "/api/v1/repositories/protossw512/"):
        assert page(anon, url)["results"][0]["name"] == "AdaptiveWingLoss"
    repo = anon.get("/api/v1/repositories/protossw512/AdaptiveWingLoss/").json()
    assert repo["owner"] == "protossw512"
    assert page(anon, "/api/v1/repositories/protossw512/AdaptiveWingLoss/papers/")["results"][0]["id"] == AWING


def test_it_walks_the_task_graph(demo, anon):
    parents = page(anon, "/api/v1/tasks/face-alignment/parents/")["results"]
    assert "facial-recognition-and-modelling" in {t["id"] for t in parents}
    children = page(anon, "/api/v1/tasks/facial-recognition-and-modelling/children/")["results"]
    assert "face-alignment" in {t["id"] for t in children}
    evaluations = page(anon, "/api/v1/tasks/face-alignment/evaluations/")["results"]
    assert BOARD in {e["id"] for e in evaluations}
    assert page(anon, "/api/v1/areas/computer-vision/tasks/")["count"] >= 1


def test_it_answers_404_with_a_message_for_unknown_ids(demo, anon):
    for url in (
        "/api/v1/papers/no-such-paper/",
        "/api/v1/evaluations/nope/results/",
        f"/api/v1/evaluations/{BOARD}/results/999999/",
        f"/api/v1/evaluations/{BOARD}/results/abc/",
        f"/api/v1/evaluations/{BOARD}/metrics/not-a-number/",
        "/api/v1/repositories/nobody/nothing/",
        "/api/v1/conferences/iccv/proceedings/nope/",
    ):
        response = anon.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]


def test_it_answers_400_with_an_error_on_bad_query_parameters(demo, anon):
    response = anon.get("/api/v1/papers/?published_after=yesterday")
    assert response.status_code == 400
    assert "published_after" in response.json()["error"]
    response = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?metric=Speed")
    assert response.status_code == 400 and "not a column" in response.json()["error"]


def test_sota_endpoint_matches_the_selector_and_flags_provenance(demo, anon):
    from leaderboard import selectors
    from leaderboard.models import Leaderboard

    board = Leaderboard.objects.get(slug=BOARD)
    expected = [(row.rank, str(row.result.pk)) for row in selectors.sota_table(board)]
    body = anon.get(f"/api/v1/evaluations/{BOARD}/sota/").json()
    assert [(row["rank"], row["result"]) for row in body["rows"]] == expected
    assert body["ranking_metric"] == {"name": "NME (inter-ocular)", "is_loss": True}
    assert {"verified", "provenance", "uses_additional_data"} <= set(body["rows"][0])
    best = [point["best"] for point in body["sota_over_time"]]
    assert best == sorted(best, reverse=True)


def test_sota_endpoint_filters_extra_data_and_ranks_by_another_metric(demo, anon):
    body = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?uses_additional_data=false&metric=AUC@10 (inter-ocular)").json()
    assert all(row["uses_additional_data"] is False for row in body["rows"])
    values = [row["values"]["AUC@10 (inter-ocular)"] for row in body["rows"] if row["rank"] is not None]
    assert values == sorted(values, reverse=True)


def test_it_exports_a_leaderboard_as_csv_and_json(demo, anon):
    response = anon.get(f"/api/v1/evaluations/{BOARD}/export.csv/")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("rank,model,paper,paper_title,NME (inter-ocular)")
    assert lines[1].startswith("1,")
    rows = anon.get(f"/api/v1/evaluations/{BOARD}/export.json/").json()
    assert rows[0]["rank"] == 1 and "NME (inter-ocular)" in rows[0]["metrics"]
    assert len(rows) == len(lines) - 1


def test_it_sends_the_four_rate_limit_headers(demo, anon):
    response = anon.get("/api/v1/tasks/")
    for header in ("X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Retry"):
        assert response.has_header(header), header


def test_it_throttles_with_429_and_headers(demo, anon, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "5/minute"}}
    assert anon.get("/api/v1/tasks/").status_code == 200
    assert anon.get("/api/v1/tasks/")["X-Ratelimit-Remaining"] == "0"
    response = anon.get("/api/v1/tasks/")
    assert response.status_code == 429
    assert response["X-Ratelimit-Limit"] == "2" and int(response["X-Ratelimit-Retry"]) > 0
    assert response.json()["error"]


def test_sota_endpoint_pages_through_the_ranked_rows(demo, anon):
    whole = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?items_per_page=500").json()
    first = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?items_per_page=10").json()
    second = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?items_per_page=10&page=2").json()
    assert first["count"] == whole["count"] == len(whole["rows"]) and first["pages"] == -(-whole["count"] // 10)
    assert [r["result"] for r in first["rows"] + second["rows"]] == [r["result"] for r in whole["rows"][:20]]
    assert second["rows"][0]["rank"] == 11
    assert first["sota_over_time"] == whole["sota_over_time"]
    assert anon.get(f"/api/v1/evaluations/{BOARD}/sota/?items_per_page=0").status_code == 400


def test_search_follows_an_edited_abstract_through_the_index(demo, anon):
    """On PostgreSQL the stored search vector is regenerated on write, and the GIN index serves it."""
    from django.db import connection

    from leaderboard.api.filters import search_papers
    from leaderboard.models import Paper

    assert not search_papers(Paper.objects.all(), "quokka").exists()
    paper = Paper.objects.get(slug=AWING)
    paper.abstract += " Tested on quokkas."
    paper.save()
    assert [hit["id"] for hit in page(anon, "/api/v1/papers/?q=quokka")["results"]] == [AWING]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = search_papers(Paper.objects.all(), "quokka").explain()
        assert "leaderboard_paper_fts" in plan

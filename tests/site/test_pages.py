"""Home, browse, task, dataset, method, author, list and search pages."""

import pytest

from leaderboard import services
from leaderboard.models import Author, Dataset, Method, Paper, Result, Task

from .conftest import AWING, WFLW


def test_it_shows_notable_and_active_benchmarks_on_the_home_page(client, demo):
    response = client.get("/")
    assert response.status_code == 200
    notable = [item.board.slug for item in response.context["notable"]]
    assert notable[0] == "face-alignment-on-300w"  # 49 rows, the most
    assert set(notable) >= {"face-alignment-on-wflw", "face-alignment-on-cofw"}
    best = {item.board.slug: item for item in response.context["notable"]}["face-alignment-on-wflw"]
    assert (best.best_model, best.best_value, best.result_count) == ("SH-FAN", "3.72", 37)
    html = response.content.decode()
    assert 'href="/sota/face-alignment-on-wflw"' in html
    assert 'action="/search/"' in html


def test_it_lists_recent_papers_and_verified_results_on_the_home_page(client, wflw):
    services.record_result(
        wflw, model_name="CheckedNet", metrics={"NME (inter-ocular)": "3.9"}, provenance=Result.Provenance.VERIFIED
    )
    services.record_result(wflw, model_name="ClaimedNet", metrics={"NME (inter-ocular)": "3.1"})
    response = client.get("/")
    assert [r.model_name for r in response.context["verified"]] == ["CheckedNet"]
    assert response.context["active"][0].board.slug == "face-alignment-on-wflw"
    assert len(response.context["papers"]) == 8
    assert "CheckedNet" in response.content.decode()


@pytest.mark.parametrize(
    ("label", "href"),
    [
        ("Tasks", "/tasks/"),
        ("Datasets", "/datasets/"),
        ("Papers", "/papers/"),
        ("Methods", "/methods/"),
        ("Benchmarks", "/benchmarks/"),
        ("Submit", "/submit/"),
        ("About", "/about/"),
    ],
)
def test_it_has_the_top_navigation_of_the_original_site(client, db, label, href):
    assert f'<a href="{href}"' in client.get("/about/").content.decode()
    assert f">{label}</a>" in client.get("/about/").content.decode()


def test_it_browses_areas_with_their_tasks(client, demo):
    for url in ("/tasks/", "/sota/"):
        html = client.get(url).content.decode()
        assert "<h2>Computer Vision</h2>" in html
        assert 'href="/task/face-alignment"' in html


def test_it_shows_a_task_with_its_leaderboards_papers_datasets_and_categories(client, demo):
    response = client.get("/task/face-alignment")
    assert response.status_code == 200
    boards = {item.board.dataset.name: item for item in response.context["boards"]}
    assert set(boards) == {"300W", "COFW", "COFW-68", "WFLW"}
    assert boards["WFLW"].best_model == "SH-FAN" and boards["WFLW"].best_value == "3.72"
    html = response.content.decode()
    assert 'href="/sota/face-alignment-on-wflw"' in html
    assert 'href="/dataset/wflw"' in html
    newest = Task.objects.get(slug="face-alignment").papers.order_by("-published").first()
    assert f'href="/paper/{newest.slug}"' in html
    parents = {t.name for t in response.context["task"].parents.all()}
    assert "Facial Recognition and Modelling" in parents
    for name in parents:
        assert f">{name}</a>" in html


def test_it_shows_subtasks_on_a_category_page(client, demo):
    html = client.get("/task/facial-recognition-and-modelling").content.decode()
    assert "<h2>Subtasks</h2>" in html and 'href="/task/face-alignment"' in html


def test_it_paginates_the_papers_of_a_task(client, demo):
    task = Task.objects.get(slug="face-alignment")
    total = task.papers.count()
    assert total > 25
    first = client.get("/task/face-alignment").context["papers"]
    pages = -(-total // 25)
    assert len(first) == 25 and first.paginator.num_pages == pages
    last = client.get("/task/face-alignment", {"page": "99"}).context["papers"]
    assert last.number == pages and len(last) == total - 25 * (pages - 1)
    assert client.get("/task/face-alignment", {"page": "zzz"}).status_code == 200


def test_it_shows_a_dataset_with_aliases_leaderboards_and_papers(client, demo):
    response = client.get("/dataset/wflw")
    html = response.content.decode()
    assert "<h1>WFLW" in html
    assert "WFW (Extra Data)" in html
    assert 'href="/sota/face-alignment-on-wflw"' in html
    assert 'href="/paper/subpixel-heatmap-regression-for-facial-landmark-localization"' in html
    older = client.get("/dataset/wflw", {"page": 2}).content.decode()
    assert 'href="/paper/adaptive-wing-loss-for-robust-face-alignment"' in older


def test_it_lists_papers_datasets_and_methods(client, demo):
    papers = client.get("/papers/")
    assert papers.context["page"].paginator.count == Paper.objects.count()
    dates = [p.published for p in papers.context["page"] if p.published]
    assert dates == sorted(dates, reverse=True)
    assert 'rel="next"' in papers.content.decode()
    assert 'href="/dataset/wflw"' in client.get("/datasets/").content.decode()
    assert 'href="/method/adaptive-wing-loss"' in client.get("/methods/").content.decode()


def test_it_shows_a_method_and_the_papers_using_it(client, demo):
    paper = Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment")
    method = Method.objects.create(
        name="AWing", slug="awing", description="A loss for heatmap regression.", paper=paper
    )
    paper.methods.add(method)
    html = client.get("/method/awing").content.decode()
    assert "A loss for heatmap regression." in html
    assert html.count('href="/paper/adaptive-wing-loss-for-robust-face-alignment"') == 2


def test_it_shows_an_author_with_their_papers(client, demo):
    author = Author.objects.get(name="Xinyao Wang")
    html = client.get(f"/author/{author.slug}").content.decode()
    assert "<h1>Xinyao Wang</h1>" in html
    assert 'href="/paper/adaptive-wing-loss-for-robust-face-alignment"' in html


def test_it_searches_papers_tasks_datasets_and_methods(client, demo):
    Method.objects.create(name="Wing Loss", slug="wing-loss")
    response = client.get("/search/", {"q": "adaptive wing"})
    assert [p.slug for p in response.context["papers"]] == ["adaptive-wing-loss-for-robust-face-alignment"]
    found = client.get("/search/", {"q": "face alignment"}).context["found"]
    assert "face-alignment" in [t.slug for t in found.tasks]
    assert [d.slug for d in client.get("/search/", {"q": "WFW (Extra Data)"}).context["found"].datasets] == ["wflw"]
    found = client.get("/search/", {"q": "wing"}).context["found"].methods
    assert {m.slug for m in found} == {"wing-loss", "adaptive-wing-loss"}  # the demo's method and this one


def test_it_answers_an_empty_or_odd_search_without_error(client, demo):
    assert client.get("/search/").status_code == 200
    assert client.get("/search/", {"q": "   "}).status_code == 200
    assert client.get("/search/", {"q": "%_'\"<script>" * 50}).status_code == 200


@pytest.mark.parametrize("url", ["/task/nope", "/dataset/nope", "/method/nope", "/author/nope", "/no/such/page"])
def test_it_answers_a_friendly_404(client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html and 'action="/search/"' in html
    assert "Resolver404" not in html


def test_it_has_a_friendly_500_page(client, db):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html


PAGES = [
    "/",
    "/tasks/",
    "/task/face-alignment",
    "/dataset/wflw",
    "/papers/",
    "/datasets/",
    "/search/?q=face",
    AWING,
    WFLW,
]


@pytest.mark.parametrize("url", PAGES)
def test_its_query_count_does_not_grow_with_the_rows(client, wflw, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(15) as before:
        assert client.get(url).status_code == 200
    awing = Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment")
    task = Task.objects.get(slug="face-alignment")
    for i in range(20):
        paper = services.save_paper(title=f"Face paper {i}", slug=f"face-paper-{i}", authors=[f"Author {i}"], tasks=[])
        paper.tasks.add(task)
        services.record_result(
            wflw,
            model_name=f"Net-{i}",
            metrics={"NME (inter-ocular)": f"5.{i}"},
            paper=paper,
            provenance=Result.Provenance.VERIFIED,
        )
        board = services.leaderboard_for(task, Dataset.objects.create(name=f"Set {i}", slug=f"set-{i}"), ["NME"])
        services.record_result(board, model_name=f"Net-{i}", metrics={"NME": "1.0"}, paper=awing)
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(url).status_code == 200

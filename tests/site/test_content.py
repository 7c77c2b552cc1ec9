"""What the pages say besides the results: methods, descriptions, paper lists, columns."""

from leaderboard.models import Dataset, Method, Paper, Task

AWING = "/paper/adaptive-wing-loss-for-robust-face-alignment"
DEMO_METHODS = ["Adaptive Wing Loss", "Boundary Prediction", "CoordConv", "Hourglass", "Weighted Loss Map"]


def test_the_demo_carries_the_awing_methods_with_descriptions(client, demo):
    paper = Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment")
    assert sorted(paper.methods.values_list("name", flat=True)) == DEMO_METHODS
    assert all(len(method.description) > 80 for method in paper.methods.all())
    introduced = set(Method.objects.filter(paper=paper).values_list("name", flat=True))
    assert introduced == {"Adaptive Wing Loss", "Weighted Loss Map"}

    listing = client.get("/methods/")
    assert listing.context["page"].paginator.count == 5
    html = listing.content.decode()
    assert "5 methods." in html and 'href="/method/coordconv"' in html
    assert "A loss for heatmap regression whose shape depends on the target pixel value" in html

    method = client.get("/method/adaptive-wing-loss").content.decode()
    assert f'href="{AWING}"' in method  # introduced in, and used by, the AWing paper
    assert 'href="/method/hourglass"' in client.get(AWING).content.decode()


def test_loading_the_demo_again_adds_nothing_twice(demo):
    from leaderboard.demo import load_demo

    Task.objects.filter(name="Face Alignment").update(description="Edited by a person.")
    assert load_demo() is False
    assert Method.objects.count() == 5
    assert Task.objects.get(name="Face Alignment").description == "Edited by a person."


def test_tasks_and_datasets_have_descriptions(client, demo):
    task = client.get("/task/face-alignment").content.decode()
    assert "Locating a fixed set of facial landmarks" in task
    wflw = client.get("/dataset/wflw").content.decode()
    assert "Wider Facial Landmarks in-the-Wild" in wflw and "98 landmarks" in wflw
    assert Dataset.objects.exclude(description="").filter(name__in=["WFLW", "300W", "COFW", "COFW-68"]).count() == 4


def test_the_dataset_list_leaves_out_columns_nobody_fills(client, demo):
    from leaderboard.cache import bump

    html = client.get("/datasets/").content.decode()
    assert ">Full name</th>" in html and ">Introduced</th>" not in html
    Dataset.objects.update(full_name="")
    bump()  # update() sends no signals: bulk writes move the cache generation themselves
    html = client.get("/datasets/").content.decode()
    assert ">Full name</th>" not in html
    Dataset.objects.filter(name="WFLW").update(introduced_date="2018-05-01")
    bump()
    assert ">Introduced</th>" in client.get("/datasets/").content.decode()


def test_paper_lists_show_authors_date_and_code_in_a_fixed_number_of_queries(
    client, demo, django_assert_max_num_queries
):
    from leaderboard import services

    html = client.get("/method/adaptive-wing-loss").content.decode()
    assert "Xinyao Wang, Liefeng Bo, Li Fuxin" in html and '<time datetime="2019-04-16">' in html
    assert 'class="badge code" href="https://github.com/protossw512/AdaptiveWingLoss"' in html

    from django.core.cache import cache
    from django.db import connection

    connection.queries_log.clear()  # the demo's load filled the log; counts below start from empty
    task = "/task/face-alignment"
    cache.clear()  # count the queries of a page built afresh
    with django_assert_max_num_queries(30) as before:
        response = client.get(task)
    html = response.content.decode()
    queries = len(before.captured_queries)
    assert queries > 0
    badges = html.count('class="badge code"')
    shown = response.context["papers"]
    for paper in shown:
        services.link_repository(paper, f"https://github.com/example/{paper.slug}")
    cache.clear()
    with django_assert_max_num_queries(queries):
        html = client.get(task).content.decode()
    assert html.count('class="badge code"') == len(shown) > badges


def test_the_home_page_lists_the_latest_papers_newest_first(client, demo):
    papers = client.get("/").context["papers"]
    dates = [paper.published for paper in papers]
    assert len(dates) == 8 and dates == sorted(dates, reverse=True)
    assert dates[0] == Paper.objects.order_by("-published").first().published


def test_a_best_model_links_to_its_row_on_the_leaderboard(client, demo):
    from leaderboard.models import Result

    html = client.get("/task/face-alignment").content.decode()
    best = Result.objects.get(dataset__name="WFLW", model_name="SH-FAN")
    assert f'href="/sota/face-alignment-on-wflw#result-{best.pk}"' in html
    assert f'id="result-{best.pk}"' in client.get("/sota/face-alignment-on-wflw").content.decode()

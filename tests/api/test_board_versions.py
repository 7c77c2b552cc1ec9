"""A board's tables stay cached through writes to other boards' results, and never show stale data.

Each write below is made while every board's page and SotA table are cached; afterwards each
board's answers must equal the answers built with the cache off.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leaderboard import services
from leaderboard.models import Dataset, Leaderboard, Metric, Paper, Result

from .conftest import client_for

BOARDS = ["face-alignment-on-wflw", "face-alignment-on-300w", "face-alignment-on-cofw"]
NME = "NME (inter-ocular)"


@pytest.fixture(autouse=True)
def caching_on(settings):
    settings.API_CACHE_SECONDS = 30


AWING = "adaptive-wing-loss-for-robust-face-alignment"
# Pages that show boards' summaries (best model, value, count), each kept per board, and pages
# whose parts that read no result are kept through writes to results (structure=True).
SUMMARY_PAGES = ["/", "/task/face-alignment", "/dataset/wflw", "/dataset/300w", "/dataset/cofw", f"/paper/{AWING}",
                 "/papers/", "/methods/", "/datasets/"]


def answers(client, settings) -> dict:
    """Each board's web page and SotA table, and the pages of summaries: cached, and built afresh with the cache off."""
    def read():
        return {
            **{
                slug: (client.get(f"/sota/{slug}").content, client.get(f"/api/v1/evaluations/{slug}/sota/").content)
                for slug in BOARDS
            },
            **{url: client.get(url).content for url in SUMMARY_PAGES},
        }

    cached = read()
    settings.API_CACHE_SECONDS = 0
    fresh = read()
    settings.API_CACHE_SECONDS = 30
    return cached, fresh


def a_result(slug: str) -> Result:
    board = Leaderboard.objects.get(slug=slug)
    return Result.objects.filter(dataset=board.dataset, listings__task=board.task).order_by("pk").first()


def patch_a_value(staff):
    result = a_result(BOARDS[0])
    answer = client_for(staff).patch(f"/api/v1/evaluations/{BOARDS[0]}/results/{result.pk}/",
                                     {"metrics": {NME: "0.123"}}, format="json")
    assert answer.status_code == 200, answer.content


def rename_a_paper(staff):
    paper = Paper.objects.filter(results__dataset__slug="300w").first()
    paper.title = "A Renamed Paper Everywhere"
    paper.save()


def move_a_result(staff):
    result = a_result(BOARDS[0])
    result.dataset = Dataset.objects.get(slug="cofw")
    result.save()


def move_a_value(staff):
    value = a_result(BOARDS[0]).values.get(metric__name=NME)
    value.result = a_result(BOARDS[1])
    value.result.values.filter(metric__name=NME).delete()
    value.save()


def relink_a_result(staff):
    """A result of the AWing paper's board handed to another paper: an edit of the result alone."""
    result = Result.objects.filter(paper__slug=AWING, dataset__slug="wflw").first()
    result.paper = Paper.objects.exclude(slug=AWING).filter(results__isnull=False).first()
    result.save()


def record_a_result(staff):
    services.record_result(Leaderboard.objects.get(slug=BOARDS[1]), model_name="Fresh-Net", metrics={NME: "0.01"})


def record_a_result_of_a_paper(staff):
    """A new result of the AWing paper, under a model name it has not used: a new model of the paper."""
    services.record_result(Leaderboard.objects.get(slug=BOARDS[2]), model_name="Fresh-AWing", metrics={NME: "0.02"},
                           paper=Paper.objects.get(slug=AWING))


def add_a_result_through_the_api(staff):
    post_a_result(staff, "Parity-Net")


def delete_a_result(staff):
    a_result(BOARDS[2]).delete()


def rename_a_metric(staff):
    Metric.objects.filter(name=NME).update(name="NME (renamed)")
    from leaderboard import cache

    cache.bump()  # update() sends no signal: the writer moves the generation, as the code's bulk writes do


@pytest.mark.parametrize("write", [patch_a_value, rename_a_paper, move_a_result, move_a_value, relink_a_result,
                                   record_a_result, record_a_result_of_a_paper, add_a_result_through_the_api,
                                   delete_a_result, rename_a_metric])
def test_every_board_shows_every_write_at_once(client, demo, staff, settings, write):
    before, fresh = answers(client, settings)
    assert before == fresh
    write(staff)
    after, fresh = answers(client, settings)
    assert after == fresh
    assert after != before


def test_a_value_written_on_one_board_leaves_the_other_boards_tables_cached(client, demo, staff):
    other, page, written = f"/api/v1/evaluations/{BOARDS[1]}/sota/", f"/sota/{BOARDS[1]}", f"/api/v1/evaluations/{BOARDS[0]}/sota/"
    assert all(client.get(url).status_code == 200 for url in (other, page, written))
    patch_a_value(staff)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(other).status_code == 200
    assert not [q for q in queries.captured_queries if "metricvalue" in q["sql"]]  # the table was not built again
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    assert not queries.captured_queries  # the page is drawn from its kept board, columns and table
    with CaptureQueriesContext(connection) as queries:
        assert client.get(written).status_code == 200
    assert [q for q in queries.captured_queries if "metricvalue" in q["sql"]]  # the written board's was
    assert not [q for q in queries.captured_queries if 'FROM "leaderboard_leaderboard' in q["sql"]]  # from its kept board


def post_a_result(staff, model: str) -> None:
    """A new result on the first board, better than every other, through the API."""
    answer = client_for(staff).post(f"/api/v1/evaluations/{BOARDS[0]}/results/", {
        "metrics": {NME: "0.001"}, "methodology": model, "uses_additional_data": False, "paper": None,
        "evaluated_on": "2024-01-03", "external_source_url": None}, format="json")
    assert answer.status_code == 201, answer.content


@pytest.mark.parametrize("url", ["/task/face-alignment", "/dataset/wflw"])
def test_a_new_result_rebuilds_a_page_from_its_kept_structure(client, demo, staff, url):
    """A task or dataset page reads no result where it keeps its boards: a new result on one of
    them reads that board's best entry again, not the task, the dataset or their boards."""
    assert client.get(url).status_code == 200
    post_a_result(staff, "Structure-Net")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert b"Structure-Net" in page.content  # the board's new best entry
    tables = {table for q in queries.captured_queries for table in re.findall(r'FROM "(\w+)"', q["sql"])}
    assert not tables & {"leaderboard_task", "leaderboard_dataset", "leaderboard_dataset_tasks"}, tables


def test_a_new_result_on_one_board_leaves_the_other_boards_tables_cached(client, demo, staff):
    """A new result (with a new model, listed under the task's categories too) changes its own board's
    table; every other board's table is served as it was kept, and the new row is shown at once."""
    other, page = f"/api/v1/evaluations/{BOARDS[1]}/sota/", f"/sota/{BOARDS[1]}"
    written = f"/api/v1/evaluations/{BOARDS[0]}/sota/"
    assert all(client.get(url).status_code == 200 for url in (other, page, written))
    post_a_result(staff, "Brand-New-Net")
    for url in (other, page):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert not [q for q in queries.captured_queries if "metricvalue" in q["sql"]], url  # the table was kept
    assert b"Brand-New-Net" in client.get(written).content


def test_a_write_to_one_board_reads_only_that_boards_summary_again(demo):
    from leaderboard import selectors

    boards = list(Leaderboard.objects.filter(slug__in=BOARDS).select_related("task", "dataset", "primary_metric"))
    written = next(board for board in boards if board.slug == BOARDS[0])
    assert selectors.best_of_boards(boards)
    services.record_result(written, model_name="Summary-Net", metrics={NME: "0.01"})  # a new result: its board
    with CaptureQueriesContext(connection) as queries:
        selectors.best_of_boards(boards)
    assert _boards_read(queries) == {written.pk}
    value = written.dataset.results.get(model_name="Summary-Net").values.get()
    value.raw, value.value = "0.02", 0.02
    value.save()  # an edited value: that board only
    with CaptureQueriesContext(connection) as queries:
        summaries = {item.board.slug: item for item in selectors.best_of_boards(boards)}
    assert _boards_read(queries) == {written.pk}
    assert (summaries[BOARDS[0]].best_model, summaries[BOARDS[0]].best_value) == ("Summary-Net", "0.02")


def _boards_read(queries) -> set[int]:
    """The boards whose summaries the captured queries read."""
    found = set()
    for query in queries.captured_queries:
        for ids in re.findall(r'"leaderboard_leaderboard"\."id" IN \(([^)]*)\)', query["sql"]):
            found |= {int(pk) for pk in ids.split(",")}
    return found


@pytest.mark.parametrize("url", ["/task/face-alignment", "/dataset/wflw", f"/paper/{AWING}"])
def test_a_value_written_rebuilds_a_page_from_its_kept_structure(client, demo, staff, url):
    """After a write to one board's results, the task, dataset and paper pages read again what
    shows results (the board's best entry, the paper's results), not the task, dataset or paper."""
    assert client.get(url).status_code == 200
    patch_a_value(staff)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    tables = {table for q in queries.captured_queries for table in re.findall(r'FROM "(\w+)"', q["sql"])}
    assert tables  # the page was built again: the write is shown
    assert not tables & {"leaderboard_task", "leaderboard_dataset", "leaderboard_paper", "leaderboard_paper_tasks",
                         "leaderboard_paperauthor", "leaderboard_dataset_tasks"}, tables

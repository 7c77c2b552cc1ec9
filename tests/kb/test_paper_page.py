"""The AWing paper page, as the source page shows it."""

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leaderboard import services
from leaderboard.models import MetricValue, Paper, Result

PAPER_URL = "/paper/adaptive-wing-loss-for-robust-face-alignment"
SOURCE_ROWS = json.loads((Path(__file__).parent / "source_page_rows.json").read_text())


class TableRows(HTMLParser):
    """Collects the text of each body row of the table with id `table_id`."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def result_rows(html: str) -> list[list[str]]:
    parser = TableRows("paper-results")
    parser.feed(html)
    return [row for row in parser.rows if row]


def test_it_shows_exactly_the_60_rows_of_the_source_page(client, demo):
    response = client.get(PAPER_URL)
    assert response.status_code == 200
    rows = result_rows(response.content.decode())
    assert len(rows) == 60
    assert Counter(map(tuple, rows)) == Counter(map(tuple, SOURCE_ROWS))


def test_it_shows_title_authors_date_venue_tasks_and_links(client, demo):
    html = client.get(PAPER_URL).content.decode()
    assert "<h1>Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression</h1>" in html
    assert html.index("Xinyao Wang") < html.index("Liefeng Bo") < html.index("Li Fuxin")
    assert "2019-04-16" in html and "ICCV 2019" in html
    assert ">Face Alignment</a>" in html and ">regression</a>" in html
    assert 'href="https://github.com/protossw512/AdaptiveWingLoss"' in html
    assert "Code (official)" in html
    assert "propose a novel loss function, named Adaptive Wing loss" in html


def test_it_leads_with_the_rank_on_each_leaderboard_by_the_ranking_rule(client, demo):
    from leaderboard.models import Leaderboard
    from leaderboard.selectors import sota_table

    response = client.get(PAPER_URL)
    boards = {item.board.slug: item for item in response.context["boards"]}
    assert set(boards) == {"face-alignment-on-wflw", "face-alignment-on-300w"}
    for slug, item in boards.items():
        rows = sota_table(Leaderboard.objects.get(slug=slug))
        ranks = [row.rank for row in rows if row.result.paper_id == item.entries[0].result.paper_id]
        assert item.rank == min(r for r in ranks if r) and item.ranked == sum(1 for row in rows if row.rank)
        assert [entry.rank for entry in item.entries] == sorted(ranks)
    html = response.content.decode()
    wflw = boards["face-alignment-on-wflw"]
    standing = f'Ranked #{wflw.rank}</span> of {wflw.ranked} on <a href="/sota/face-alignment-on-wflw">Face Alignment on WFLW</a>'
    assert standing in html
    assert html.index(standing) < html.index("<h2>Abstract</h2>")
    # The archive's listing name is provenance, not a dataset of its own.
    assert "listed as WFW (Extra Data)" in html
    extra = next(entry for entry in wflw.entries if entry.result.dataset_name == "WFW (Extra Data)")
    assert extra.url == f"/sota/face-alignment-on-wflw#result-{extra.result.pk}"
    assert f'href="{extra.url}"' in html
    # The per-category listing stays, folded away.
    assert html.index('<details class="listing">') < html.index('id="paper-results"')


def test_a_model_link_opens_the_leaderboard_page_that_holds_its_row(demo):
    from leaderboard import selectors

    _, boards, _, _ = selectors.paper_page("adaptive-wing-loss-for-robust-face-alignment", page_size=10)
    for item in boards:
        for entry in item.entries:
            page = -(-entry.rank // 10)
            assert entry.url.endswith(("" if page == 1 else f"?page={page}") + f"#result-{entry.result.pk}")
            assert entry.url.startswith(item.board.get_absolute_url())


def test_it_stores_each_value_once(demo):
    paper = Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment")
    assert Result.objects.filter(paper=paper).count() == 3
    values = MetricValue.objects.filter(result__paper=paper)
    assert values.count() == 12
    assert len({(v.result_id, v.metric_id) for v in values}) == 12


def test_it_lists_related_papers_newest_first(client, demo):
    response = client.get(PAPER_URL)
    related = list(response.context["related"])
    assert related, "papers sharing Face Alignment are related"
    dates = [p.published for p in related]
    assert dates == sorted(dates, reverse=True)
    assert all(p.slug != "adaptive-wing-loss-for-robust-face-alignment" for p in related)


def test_it_answers_404_for_an_unknown_paper(client, db):
    assert client.get("/paper/no-such-paper").status_code == 404


def test_its_query_count_does_not_grow_with_the_results(client, demo, django_assert_max_num_queries):
    with django_assert_max_num_queries(15) as before:
        client.get(PAPER_URL)
    paper = Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment")
    board = Result.objects.filter(paper=paper).first().dataset.leaderboards.first()
    for i in range(20):
        services.record_result(board, model_name=f"AWing-{i}", metrics={"NME (inter-ocular)": f"4.{i}"}, paper=paper)
        services.link_repository(paper, f"https://github.com/example/fork-{i}")
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(PAPER_URL)
    assert len(result_rows(response.content.decode())) == 60 + 20 * 5


@pytest.mark.parametrize("path", ["/healthz"])
def test_it_reports_health(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}

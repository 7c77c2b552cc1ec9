"""The SotA page: ranking, sorting, the extra-data filter, badges, chart data and exports."""

import csv
import io
import itertools
import json
from decimal import Decimal
from html.parser import HTMLParser

from leaderboard import selectors, services
from leaderboard.models import Result

from .conftest import WFLW

AUC = "AUC@10 (inter-ocular)"
NME = "NME (inter-ocular)"


class SotaTable(HTMLParser):
    """Header names and, per body row, the text of every cell of #sota-table; the badges
    under a model's name (its span.notes) go to the row's "Notes", not to its "Model"."""

    def __init__(self):
        super().__init__()
        self.inside = self.in_body = False
        self.headers, self.rows, self.notes, self.cell = [], [], [], None
        self.notes_depth = 0  # open <span>s inside span.notes; 0: not in the notes

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == "sota-table":
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.inside and tag == "tr" and self.in_body:
            self.rows.append([])
            self.notes.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""
        elif self.inside and tag == "span" and (self.notes_depth or "notes" in (dict(attrs).get("class") or "").split()):
            self.notes_depth += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "span" and self.notes_depth:
            self.notes_depth -= 1
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            text = " ".join(self.cell.split()).replace(" ▼", "").replace(" ▲", "")
            (self.rows[-1] if self.in_body else self.headers).append(text)
            self.cell = None

    def handle_data(self, data):
        if self.notes_depth and data.strip():
            self.notes[-1].append(data.strip())
        elif self.cell is not None:
            self.cell += data


def table(response) -> list[dict]:
    parser = SotaTable()
    parser.feed(response.content.decode())
    return [
        {**dict(zip(parser.headers, row, strict=True)), "Notes": notes}
        for row, notes in zip(parser.rows, parser.notes, strict=True)
    ]


def numbers(rows, metric):
    return [Decimal(row[metric].rstrip("%")) for row in rows if row[metric]]


def test_it_ranks_by_the_primary_metric_lower_first_with_missing_values_last(client, wflw):
    rows = table(client.get(WFLW))
    assert len(rows) == 37
    assert rows[0]["Model"].startswith("SH-FAN") and rows[0]["Rank"] == "1"
    nme = numbers(rows, NME)
    assert nme == sorted(nme)


def test_it_breaks_ties_in_favour_of_the_earlier_result(client, wflw):
    rows = table(client.get(WFLW))
    tied = [row for row in rows if row[NME] == "4.05"]
    assert [row["Model"] for row in tied] == [
        "PropNet",
        "DTLD+",
    ]  # 2020-06-25 before 2022-08-23
    assert [row["Rank"] for row in tied] == ["4", "5"]


def test_it_sorts_by_another_metric_in_its_best_direction(client, wflw):
    rows = table(client.get(WFLW, {"metric": AUC}))
    auc = numbers(rows, AUC)
    assert auc == sorted(auc, reverse=True)
    assert rows[0][AUC] == "63.81"
    missing = [row for row in rows if not row[AUC]]
    assert missing and all(row["Rank"] == "–" for row in missing)
    assert rows[-len(missing) :] == missing


def test_it_offers_header_links_that_sort_and_then_flip(client, wflw):
    html = client.get(WFLW).content.decode()
    assert 'href="?metric=AUC%4010+%28inter-ocular%29"' in html
    assert 'aria-sort="ascending"' in html  # NME, lower is better, best first
    html = client.get(WFLW, {"metric": AUC}).content.decode()
    assert 'aria-sort="descending"' in html
    assert "metric=AUC%4010+%28inter-ocular%29&amp;order=worst" in html
    rows = table(client.get(WFLW, {"metric": AUC, "order": "worst"}))
    auc = numbers(rows, AUC)
    assert auc == sorted(auc)


def test_it_filters_by_extra_training_data(client, wflw):
    with_extra = table(client.get(WFLW, {"extra": "with"}))
    assert [row["Model"] for row in with_extra] == ["Awing"]
    assert "extra data" in with_extra[0]["Notes"]
    without = table(client.get(WFLW, {"extra": "without"}))
    assert len(without) == 36 and all("extra data" not in row["Notes"] for row in without)


def test_it_keeps_the_filter_in_the_sort_links(client, wflw):
    html = client.get(WFLW, {"extra": "without"}).content.decode()
    assert "extra=without&amp;metric=AUC%4010+%28inter-ocular%29" in html


def test_it_shows_provenance_badges_and_links_to_paper_and_code(client, wflw):
    result = Result.objects.filter(dataset=wflw.dataset, model_name="SLPT").get()
    result.provenance = Result.Provenance.VERIFIED
    result.save()
    services.record_result(
        wflw,
        model_name="MyNet",
        metrics={NME: "3.50"},
        provenance=Result.Provenance.SELF_REPORTED,
    )
    response = client.get(WFLW)
    rows = {row["Model"]: row for row in table(response)}
    # Archive rows, most of the table, carry no badge; the others say what they are.
    assert "verified" in rows["SLPT"]["Notes"]
    assert "self-reported" in rows["MyNet"]["Notes"] and rows["MyNet"]["Rank"] == "1"
    assert not {"verified", "self-reported"} & set(rows["AWing"]["Notes"])
    html = response.content.decode()
    assert 'href="/paper/adaptive-wing-loss-for-robust-face-alignment"' in html
    assert 'href="https://github.com/jiahao-uts/slpt-master"' in html


def test_it_embeds_one_chart_point_per_dated_result_with_the_running_best(client, wflw):
    services.record_result(wflw, model_name="Undated", metrics={NME: "3.0"})
    response = client.get(WFLW)
    series = response.context["series"]
    dated = Result.objects.filter(dataset=wflw.dataset, evaluated_on__isnull=False).count()
    assert len(series) == dated == 37
    dates = [point["date"] for point in series]
    assert dates == sorted(dates)
    bests = [point["best"] for point in series]
    assert all(later <= earlier for earlier, later in itertools.pairwise(bests))
    assert bests[-1] == 3.72
    html = response.content.decode()
    assert '<script id="sota-series" type="application/json">' in html
    assert "/static/vendor/chart.js/dist/chart.umd.js" in html


def test_each_chart_point_knows_its_rank_kind_and_paper_as_the_table_shows_them(client, wflw):
    services.record_result(wflw, model_name="Undated", metrics={NME: "3.0"})  # ranked first, not charted
    result = Result.objects.get(dataset=wflw.dataset, model_name="SLPT")
    result.provenance = Result.Provenance.VERIFIED
    result.save()
    response = client.get(WFLW)
    series = response.context["series"]
    # The chart's points are the API's SotA-over-time points, with more to show.
    core = [{k: point[k] for k in ("date", "model_name", "value", "best", "result_id")} for point in series]
    assert core == selectors.sota_series(wflw, wflw.primary_metric)
    ranks = {row["Model"]: row["Rank"] for row in table(response)}
    assert all(ranks[point["model_name"]] == str(point["rank"]) for point in series)
    assert ranks["Undated"] == "1"
    by_model = {point["model_name"]: point for point in series}
    assert by_model["SLPT"]["provenance"] == "verified" and by_model["SDM"]["provenance"] == "archive"
    assert by_model["CFSS"]["paper"] == "Face alignment by coarse-to-fine shape searching"
    # The step to 9.07 is set by CFSS (2015), not by ESR (2013), the result before it.
    assert (by_model["CFSS"]["date"], by_model["CFSS"]["best"]) == ("2015-06-07", 9.07)
    assert by_model["ESR"]["date"] < "2014" and by_model["ESR"]["best"] == 10.29
    html = response.content.decode()
    assert f'id="result-{result.pk}"' in html  # the row a point links to
    assert [kind["key"] for kind in response.context["series_kinds"]] == ["archive", "verified"]


def test_it_exports_csv_and_json_in_the_shown_order(client, wflw):
    response = client.get("/sota/face-alignment-on-wflw.csv", {"metric": AUC})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 37 and rows[0][AUC] == "63.81" and rows[0]["rank"] == "1"
    assert rows[0]["paper"] and rows[0]["paper_title"]
    body = client.get(WFLW, {"format": "json", "extra": "with"}).json()
    assert body["ranked_by"] == NME and body["dataset"] == "WFLW"
    assert [row["model"] for row in body["rows"]] == ["Awing"]
    assert body["rows"][0]["metrics"][NME] == "4.36"
    assert client.get("/sota/face-alignment-on-wflw.json").json()["rows"][0]["model"] == "SH-FAN"


def test_it_refuses_an_unknown_format_with_a_clear_message(client, wflw):
    response = client.get(WFLW, {"format": "xml"})
    assert response.status_code == 400
    assert "?format=csv" in response.content.decode()


def test_it_falls_back_to_the_primary_metric_and_says_so(client, wflw):
    response = client.get(WFLW, {"metric": "BLEU", "extra": "nonsense", "order": "sideways"})
    assert response.status_code == 200
    assert "no metric “BLEU”" in response.content.decode()
    assert len(table(response)) == 37


def test_it_answers_404_for_an_unknown_leaderboard(client, db):
    response = client.get("/sota/no-such-board")
    assert response.status_code == 404
    assert "/sota/" in response.content.decode()


def test_its_query_count_does_not_grow_with_the_rows(
    client, wflw, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_assert_max_num_queries(12) as before:
        client.get(WFLW)
    with django_capture_on_commit_callbacks(execute=True):  # the commit starts a new cache generation
        for i in range(30):
            services.record_result(wflw, model_name=f"Net-{i}", metrics={NME: f"5.{i}", AUC: f"50.{i}"})
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(WFLW)
    assert len(table(response)) == 50  # one page of 67 rows
    assert "Rows 1–50 of 67" in response.content.decode()
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get("/sota/face-alignment-on-wflw.csv")


def test_it_serves_the_vendored_chart_library_from_node_modules(client, db):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/chart.js/dist/chart.umd.js"), "run `npm install` (make install) first"
    with open(finders.find("vendor/chart.js/package.json")) as manifest:
        assert json.load(manifest)["version"] == "4.6.1"


def test_its_sql_ranking_matches_the_documented_rule_on_every_metric_and_order(wflw):
    from leaderboard import selectors

    services.record_result(wflw, model_name="Undated", metrics={NME: "4.05"})
    for metric in selectors.leaderboard_columns(wflw):
        for extra in (None, True, False):
            expected = selectors.sota_table(wflw, metric=metric, uses_additional_data=extra)
            best = selectors.sota_page(wflw, metric, extra).rows
            assert [(r.rank, r.result.pk) for r in best] == [(r.rank, r.result.pk) for r in expected]
            expected = selectors.sota_table(wflw, metric=metric, uses_additional_data=extra, worst_first=True)
            worst = selectors.sota_page(wflw, metric, extra, worst_first=True).rows
            assert [(r.rank, r.result.pk) for r in worst] == [(r.rank, r.result.pk) for r in expected]


def test_it_pages_a_large_leaderboard_and_ranks_across_pages(client, wflw):
    for i in range(80):
        services.record_result(wflw, model_name=f"Net-{i:02d}", metrics={NME: f"6.{i:02d}"})
    first = client.get(WFLW)
    assert len(first.context["series"]) == 37  # the chart covers every dated result
    assert len(table(first)) == 50
    assert 'data-complete="false"' in first.content.decode()
    assert "Rows 1–50 of 117" in first.content.decode()
    second = table(client.get(WFLW, {"page": "2"}))
    assert len(second) == 50
    assert second[0]["Rank"] == "51"
    last = table(client.get(WFLW, {"page": "3"}))
    assert len(last) == 17
    assert last[-1]["Rank"] == "117"  # ranks run on across pages
    assert client.get(WFLW, {"page": "abc"}).status_code == 200


def test_it_serves_a_repeat_visit_from_the_page_cache(client, wflw, django_assert_max_num_queries):
    first = client.get(WFLW)
    with django_assert_max_num_queries(2):  # at most the session and messages, never the table
        again = client.get(WFLW)
    assert table(again) == table(first)


def test_it_shows_a_committed_result_at_once_despite_the_cache(
    client, wflw, django_capture_on_commit_callbacks
):
    before = table(client.get(WFLW))
    with django_capture_on_commit_callbacks(execute=True):
        services.record_result(wflw, model_name="Cached-Net", metrics={NME: "1.00", AUC: "90.0"})
    after = table(client.get(WFLW))
    assert len(after) == len(before) + 1
    assert after[0]["Model"] == "Cached-Net"


def test_worst_first_keeps_the_rows_without_the_metric_last(client, wflw):
    rows = table(client.get(WFLW, {"metric": AUC, "order": "worst"}))
    missing = [row for row in rows if not row[AUC]]
    assert missing and rows[-len(missing) :] == missing
    ranked = rows[: -len(missing)]
    assert ranked[0]["Rank"] == str(len(ranked)) and ranked[-1]["Rank"] == "1"
    assert numbers(ranked, AUC) == sorted(numbers(ranked, AUC))
    response = client.get(f"{WFLW}.csv", {"metric": AUC, "order": "worst"})
    exported = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row[AUC] for row in exported] == [row[AUC] for row in rows]
    assert [row["rank"] or "–" for row in exported] == [row["Rank"] for row in rows]


def test_the_page_and_the_api_export_the_same_file(client, wflw):
    page = client.get(f"{WFLW}.csv", {"metric": AUC, "extra": "without"})
    api = client.get(f"/api/v1/evaluations/{wflw.slug}/export.csv/", {"metric": AUC, "uses_additional_data": "false"})
    assert page.status_code == api.status_code == 200
    lines = page.content.decode().splitlines()
    assert lines == api.content.decode().splitlines()
    assert lines[0].split(",")[:4] == ["rank", "model", "paper", "paper_title"]
    assert lines[0].endswith("uses_additional_data,evaluated_on,provenance,verified,external_source_url")
    assert len(lines) == 1 + 36
    page_rows = client.get(WFLW, {"format": "json", "metric": AUC})
    api_rows = client.get(f"/api/v1/evaluations/{wflw.slug}/export.json/", {"metric": AUC})
    assert page_rows.json()["rows"] == api_rows.json()

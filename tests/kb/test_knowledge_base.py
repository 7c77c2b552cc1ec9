"""Aliases, metric direction, value parsing, authors and the SotA ranking rule."""

import datetime as dt
from decimal import Decimal

import pytest

from leaderboard import selectors, services
from leaderboard.models import Leaderboard, Metric, Model, Paper, Result
from leaderboard.rules.papers import arxiv_id_from_url
from leaderboard.rules.values import (
    default_higher_is_better,
    parse_date,
    parse_metric_value,
)


def test_it_resolves_a_dataset_alias_to_its_canonical_record(demo):
    dataset, extra = services.dataset_named("WFW (Extra Data)")
    assert dataset.name == "WFLW"
    assert extra is True
    listed = Result.objects.get(dataset_name="WFW (Extra Data)")
    assert listed.dataset == dataset and listed.uses_additional_data
    assert Leaderboard.objects.filter(dataset__name="WFW (Extra Data)").count() == 0


def test_it_links_model_name_case_variants_to_one_model(demo):
    paper = Paper.objects.get(arxiv_id="1904.07399")
    names = set(Result.objects.filter(paper=paper).values_list("model_name", flat=True))
    assert names == {"AWing", "Awing"}
    assert Model.objects.filter(paper=paper).count() == 1


def test_it_keeps_the_same_model_name_of_different_papers_apart(demo):
    hrnet = Model.objects.filter(name="HRNet")
    assert hrnet.count() == 2
    assert len({m.paper_id for m in hrnet}) == 2


@pytest.mark.parametrize(
    "name, higher",
    [
        ("NME (inter-ocular)", False),
        ("NME_inter-pupil (%, Full)", False),
        ("FR@10 (inter-ocular)", False),
        ("AUC@10 (inter-ocular)", True),
        ("AUC@7 (box)", True),
        ("Top-1 Accuracy", True),
        ("Error rate", False),
        ("Perplexity", False),
        ("MAE", False),
        ("F1", True),
        ("Recall at 80% precision (Landmarks Visibility)", True),
    ],
)
def test_it_guesses_metric_direction_from_the_name(name, higher):
    assert default_higher_is_better(name) is higher


def test_demo_metrics_carry_their_direction(demo):
    assert Metric.objects.get(name="NME (inter-ocular)").higher_is_better is False
    assert Metric.objects.get(name="AUC@10 (inter-ocular)").higher_is_better is True


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("3.02%", Decimal("3.02")),
        ("3.32", Decimal("3.32")),
        ("0.8428 ± 0.0014", Decimal("0.8428")),
        ("57.19", Decimal("57.19")),
        (57, Decimal(57)),
        (0.1, Decimal("0.1")),
        ("1.5M", Decimal(1500000)),
        ("-", None),
        ("", None),
        (None, None),
    ],
)
def test_it_parses_metric_strings_exactly(raw, expected):
    assert parse_metric_value(raw) == expected


def test_it_keeps_the_raw_string_beside_the_number(demo):
    value = Result.objects.filter(dataset__name="COFW").first().values.first()
    assert value.raw
    assert value.value == parse_metric_value(value.raw)


def test_it_reads_arxiv_ids_from_urls():
    assert arxiv_id_from_url("https://arxiv.org/abs/1904.07399v3") == "1904.07399"
    assert arxiv_id_from_url("http://arxiv.org/pdf/1711.06753v5.pdf") == "1711.06753"
    assert arxiv_id_from_url("https://openaccess.thecvf.com/x.html") is None


def test_it_keeps_authors_in_order(demo):
    paper = Paper.objects.get(arxiv_id="1904.07399")
    names = [a.author.name for a in paper.authorships.order_by("position")]
    assert names == ["Xinyao Wang", "Liefeng Bo", "Li Fuxin"]


def test_it_lists_a_result_under_its_task_and_every_category_above(demo):
    result = Result.objects.get(dataset_name="WFLW", model_name="AWing")
    listed = {
        (item.task.name, item.via_category)
        for item in result.listings.select_related("task")
    }
    assert ("Face Alignment", False) in listed
    assert {name for name, via in listed if via} == {
        "Facial Recognition and Modelling",
        "3D Face Modelling",
        "3D Face Reconstruction",
        "Face Reconstruction",
        "3D",
    }


def _board(db):
    task = services.task_named("Toy Task")
    dataset, _ = services.dataset_named("Toy Set")
    return services.leaderboard_for(task, dataset, ["Error", "Accuracy"])


def test_it_ranks_by_the_primary_metric_direction_with_nulls_last_and_earliest_first(
    db,
):
    board = _board(db)
    day = dt.date(2020, 1, 1)
    services.record_result(
        board,
        model_name="late-tie",
        metrics={"Error": "2.0"},
        evaluated_on=day.replace(year=2021),
    )
    services.record_result(
        board, model_name="best", metrics={"Error": "1.5"}, evaluated_on=day
    )
    services.record_result(
        board, model_name="no-error", metrics={"Accuracy": "99"}, evaluated_on=day
    )
    services.record_result(
        board, model_name="early-tie", metrics={"Error": "2.00"}, evaluated_on=day
    )
    rows = selectors.sota_table(board)
    assert [r.result.model_name for r in rows] == [
        "best",
        "early-tie",
        "late-tie",
        "no-error",
    ]
    assert [r.rank for r in rows] == [1, 2, 3, None]


def test_it_ranks_higher_is_better_metrics_descending(db):
    board = _board(db)
    services.record_result(board, model_name="a", metrics={"Accuracy": "90"})
    services.record_result(board, model_name="b", metrics={"Accuracy": "95.5"})
    accuracy = Metric.objects.get(name="Accuracy")
    rows = selectors.sota_table(board, metric=accuracy)
    assert [r.result.model_name for r in rows[:2]] == ["b", "a"]


def test_it_builds_the_sota_over_time_series(demo):
    board = Leaderboard.objects.get(slug="face-alignment-on-wflw")
    rows = selectors.sota_table(board)
    series = selectors.sota_over_time(rows, board.primary_metric.higher_is_better)
    dated = [r for r in rows if r.primary is not None and r.result.evaluated_on]
    assert len(series) == len(dated)
    bests = [point["best"] for point in series]
    assert bests == sorted(bests, reverse=True)  # NME: the running best only falls
    assert bests[-1] == min(float(r.primary) for r in dated)


def test_it_keeps_a_number_too_large_to_store_as_text_only(db):
    board = _board(db)
    result = services.record_result(
        board, model_name="huge", metrics={"Error": "1e40", "Accuracy": 0.5}
    )
    values = {v.metric.name: v for v in result.values.select_related("metric")}
    assert values["Error"].raw == "1e40" and values["Error"].value is None
    assert values["Accuracy"].raw == "0.5" and values["Accuracy"].value == Decimal(
        "0.5"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2019-04-16", dt.date(2019, 4, 16)),
        ("2019-04-16T10:00:00", dt.date(2019, 4, 16)),
        ("", None),
        ("2019", None),
        (None, None),
    ],
)
def test_it_reads_archive_dates(text, expected):
    assert parse_date(text) == expected

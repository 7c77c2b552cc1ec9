"""The value, ranking, primary-metric and listing rules, and the code that must follow them."""

import datetime as dt
from decimal import Decimal

import pytest

from leaderboard import selectors, services
from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.models import Leaderboard, MetricValue
from leaderboard.rules import ranking
from leaderboard.rules.columns import primary_metric, shown_columns
from leaderboard.rules.listing import categories_above, listed_under
from leaderboard.rules.values import stored_value

D = dt.date


# --- values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3.02%", (Decimal("3.02"), "3.02%")),
        (0.1, (Decimal("0.1"), "0.1")),
        (57, (Decimal(57), "57")),
        ("-", (None, "-")),
        ("9.99e26", (Decimal("9.99e26"), "9.99e26")),
        ("1e27", (None, "1e27")),
        ("-2.5e30", (None, "-2.5e30")),
        ("x" * 250, (None, "x" * 200)),
    ],
)
def test_stored_value_is_the_number_under_the_cap_and_the_published_text(raw, expected):
    assert stored_value(raw) == expected


def test_an_audit_revert_stores_values_as_recording_does(demo):
    board = Leaderboard.objects.get(slug="face-alignment-on-wflw")
    nme, auc = "NME (inter-ocular)", "AUC@10 (inter-ocular)"
    result = services.record_result(board, model_name="Huge", metrics={nme: "1e30", auc: "55.5"})
    recorded = {v.metric.name: (v.value, v.raw) for v in result.values.select_related("metric")}
    assert recorded[nme] == (None, "1e30")
    before = audit.snapshot(result)
    MetricValue.objects.filter(result=result, metric__name=nme).update(value=Decimal(3), raw="3")
    entry = audit.record(None, AuditEntry.Action.UPDATE, result, before=before)
    audit.revert(entry)
    restored = {v.metric.name: (v.value, v.raw) for v in result.values.select_related("metric")}
    assert restored == recorded


# --- ranking, pure ---------------------------------------------------------------------

# Ties on value and date, a value without a date, dates without a value.
ENTRIES = [
    ranking.Entry(None, D(2019, 1, 1), 1),
    ranking.Entry(Decimal(5), None, 2),
    ranking.Entry(Decimal(5), D(2021, 1, 1), 3),
    ranking.Entry(Decimal(7), D(2022, 1, 1), 4),
    ranking.Entry(Decimal(5), D(2021, 1, 1), 5),
    ranking.Entry(None, None, 6),
]


def test_best_first_puts_missing_values_last_and_breaks_ties_by_date_then_recording():
    entries = ENTRIES
    higher = [e.recorded for e in ranking.ranked(entries, higher_is_better=True)]
    assert higher == [4, 3, 5, 2, 1, 6]
    lower = [e.recorded for e in ranking.ranked(entries, higher_is_better=False)]
    assert lower == [3, 5, 2, 4, 1, 6]


def test_worst_first_reverses_the_ranked_rows_and_keeps_the_missing_ones_last():
    entries = ENTRIES
    for higher in (True, False):
        best = ranking.ranked(entries, higher)
        worst = ranking.ranked(entries, higher, worst_first=True)
        with_value = [e for e in best if e.value is not None]
        assert worst[: len(with_value)] == with_value[::-1]
        assert all(e.value is None for e in worst[len(with_value) :])


def test_rank_numbers_count_only_rows_with_the_metric():
    assert ranking.rank_numbers([True, True, False], 2) == [1, 2, None]
    assert ranking.rank_numbers([True, True, False], 2, worst_first=True) == [2, 1, None]
    assert ranking.rank_numbers([True, False], 5, worst_first=True, offset=4) == [1, None]
    assert ranking.rank_numbers([True, True], 30, offset=10) == [11, 12]


def test_running_best_keeps_the_first_to_reach_a_value():
    values = [Decimal(3), Decimal(2), Decimal(4), Decimal(4), Decimal(1)]
    assert ranking.running_best(values, higher_is_better=True) == [3, 3, 4, 4, 4]
    assert ranking.running_best(values, higher_is_better=False) == [3, 2, 2, 2, 1]
    assert ranking.better(Decimal(4), Decimal(4), True) is False


def test_best_of_a_board_is_the_first_ranked_row_with_a_value():
    entries = [ranking.Entry(None, D(2010, 1, 1), 1), ranking.Entry(Decimal(2), D(2020, 1, 1), 2),
               ranking.Entry(Decimal(2), D(2019, 1, 1), 3)]
    assert ranking.best_of(entries, higher_is_better=True).recorded == 3
    assert ranking.best_of(entries[:1], higher_is_better=True) is None


# --- ranking in SQL and in Python ----------------------------------------------------------


@pytest.fixture
def tricky(db) -> Leaderboard:
    """A board whose rows tie on value and date, lack a value or a date, in both directions."""
    task, (dataset, _) = services.task_named("Parity"), services.dataset_named("Parity Set")
    board = services.leaderboard_for(task, dataset, ["Score", "Error"])
    rows = [
        ("a", {"Score": "5", "Error": "1"}, D(2021, 1, 1)),
        ("b", {"Score": "5", "Error": "1"}, D(2021, 1, 1)),
        ("c", {"Score": "5", "Error": "2"}, None),
        ("d", {"Score": "5"}, D(2020, 6, 1)),
        ("e", {"Error": "1"}, D(2019, 1, 1)),
        ("f", {"Score": "-", "Error": "0.5"}, None),
        ("g", {"Score": "7", "Error": "1e30"}, D(2022, 1, 1)),
        ("h", {}, None),
        ("i", {"Score": "7"}, D(2022, 1, 1)),
        ("j", {"Score": "1", "Error": "3"}, D(2018, 1, 1)),
        ("k", {}, D(2017, 1, 1)),
    ]
    for name, metrics, date in rows:
        services.record_result(board, model_name=name, metrics=metrics, evaluated_on=date)
    return Leaderboard.objects.select_related("task", "dataset", "primary_metric").get(pk=board.pk)


def _spec_order(board, metric, worst_first):
    """The rows as rules.ranking orders them, from plain values read here."""
    results = selectors.leaderboard_results(board)
    entries = []
    for result in results:
        value = next((v.value for v in result.values.all() if v.metric_id == metric.pk), None)
        entries.append(ranking.Entry(value, result.evaluated_on, result.pk))
    table = ranking.ranked(entries, metric.higher_is_better, worst_first)
    present = [e.value is not None for e in table]
    return list(zip(ranking.rank_numbers(present, sum(present), worst_first), [e.recorded for e in table]))


@pytest.mark.parametrize("worst_first", [False, True])
@pytest.mark.parametrize("page_size", [100, 3])
def test_the_sql_page_order_is_the_ranking_rule(tricky, worst_first, page_size):
    columns = selectors.leaderboard_columns(tricky)
    assert [m.higher_is_better for m in columns] == [True, False]
    for metric in columns:
        expected = _spec_order(tricky, metric, worst_first)
        pages = -(-len(expected) // page_size)
        sql = [
            (row.rank, row.result.pk)
            for page in range(1, pages + 1)
            for row in selectors.sota_page(tricky, metric, worst_first=worst_first, page=page, page_size=page_size).rows
        ]
        python = [
            (row.rank, row.result.pk) for row in selectors.sota_table(tricky, metric, worst_first=worst_first)
        ]
        assert sql == expected == python, metric.name


def test_the_tricky_board_ranks_as_documented(tricky):
    names = [row.result.model_name for row in selectors.sota_table(tricky)]
    assert names == ["g", "i", "d", "a", "b", "c", "j", "k", "e", "f", "h"]
    worst = [(row.rank, row.result.model_name) for row in selectors.sota_page(tricky, worst_first=True).rows]
    assert worst[:7] == [(7, "j"), (6, "c"), (5, "b"), (4, "a"), (3, "d"), (2, "i"), (1, "g")]
    assert [name for _, name in worst[7:]] == ["h", "f", "e", "k"]


def test_the_best_of_a_board_and_its_series_follow_the_rule(tricky):
    summary = selectors.best_of_boards([tricky])[0]
    assert (summary.best_model, summary.best_value, summary.result_count) == ("g", "7", 11)
    series = selectors.sota_series(tricky, tricky.primary_metric)
    assert [(p["model_name"], p["best"]) for p in series] == [
        ("j", 1.0), ("d", 5.0), ("a", 5.0), ("b", 5.0), ("g", 7.0), ("i", 7.0)
    ]
    assert series == selectors.sota_over_time(selectors.sota_table(tricky), True)
    error = selectors.leaderboard_columns(tricky)[1]
    assert selectors.best_of_boards([_ranked_by(tricky, error)])[0].best_model == "f"


def _ranked_by(board, metric):
    board.primary_metric = metric
    board.save(update_fields=["primary_metric"])
    return Leaderboard.objects.select_related("task", "dataset", "primary_metric").get(pk=board.pk)


# --- the primary metric -------------------------------------------------------------------


def test_the_primary_metric_rule():
    assert primary_metric(None, [3, 4]) == 3
    assert primary_metric(None, []) is None
    assert primary_metric(9, [3, 4]) == 9, "a chosen one that is no column stays"
    assert primary_metric(3, [4], removed=3) == 4
    assert primary_metric(3, [], removed=3) is None
    assert primary_metric(3, [3, 4], chosen=4) == 4
    assert shown_columns(9, [3, 4]) == [9, 3, 4] and shown_columns(4, [3, 4]) == [3, 4]


def test_every_write_path_keeps_the_first_column_primary_unless_one_was_chosen(demo):
    from tests.api.conftest import client_for, make_user

    api = client_for(make_user("alice"))
    api.post("/api/v1/datasets/", {"name": "Tiny Faces", "full_name": None, "url": None}, format="json")
    slug = api.post("/api/v1/evaluations/", {"task": "face-alignment", "dataset": "tiny-faces", "description": "",
                                             "mirror_url": None}, format="json").json()["id"]
    for name in ("Tiny NME", "Tiny AUC"):
        api.post(f"/api/v1/evaluations/{slug}/metrics/", {"name": name, "description": "", "is_loss": True},
                 format="json")
    board = Leaderboard.objects.get(slug=slug)
    assert board.primary_metric.name == "Tiny NME"
    services.record_result(board, model_name="M", metrics={"Tiny FR": "1"})
    board.refresh_from_db()
    assert board.primary_metric.name == "Tiny NME"
    assert [m.name for m in selectors.leaderboard_columns(board)] == ["Tiny NME", "Tiny AUC", "Tiny FR"]
    removed = api.delete(f"/api/v1/evaluations/{slug}/metrics/{board.primary_metric_id}/")
    assert removed.status_code == 204
    board.refresh_from_db()
    assert board.primary_metric.name == "Tiny AUC"
    sync = {"task": "face-alignment", "dataset": "tiny-faces", "description": None,
            "metrics": [{"name": "Tiny FR", "is_loss": True, "description": None}], "results": []}
    assert api.post("/api/v1/rpc/evaluation-synchronize/", sync, format="json").status_code == 200
    board.refresh_from_db()
    assert board.primary_metric.name == "Tiny FR", "a synchronize payload chooses its first metric"


def test_a_new_board_of_the_importer_ranks_by_its_first_column(demo):
    board = Leaderboard.objects.get(slug="face-alignment-on-wflw")
    first = board.columns.order_by("position").first().metric
    assert board.primary_metric == first


# --- listing a result under its categories --------------------------------------------------


def test_categories_above_follow_every_path_and_tolerate_cycles():
    edges = [("leaf", "mid"), ("mid", "top"), ("leaf", "other"), ("top", "leaf"), ("solo", "solo-parent")]
    above = categories_above(edges)
    assert above["leaf"] == {"mid", "top", "other"}
    assert above["mid"] == {"top", "leaf", "other"}
    assert above["solo"] == {"solo-parent"} and "solo-parent" not in above


def test_a_result_is_listed_directly_under_its_tasks_and_via_category_above_them():
    above = categories_above([("a", "cat"), ("b", "a"), ("cat", "root")])
    assert listed_under(["b"], above) == {"b": False, "a": True, "cat": True, "root": True}
    assert listed_under(["b", "a"], above) == {"b": False, "a": False, "cat": True, "root": True}
    assert listed_under(["x"], above) == {"x": False}


def test_recording_lists_a_result_by_the_rule_even_in_a_cyclic_graph(db):
    leaf, mid, top = (services.task_named(n) for n in ("Leaf", "Mid", "Top"))
    services.add_task_parents(leaf, [mid])
    services.add_task_parents(mid, [top])
    services.add_task_parents(top, [leaf])
    board = services.leaderboard_for(leaf, services.dataset_named("Cyclic")[0], ["Acc"])
    result = services.record_result(board, model_name="M", metrics={"Acc": "1"})
    listed = {(item.task.name, item.via_category) for item in result.listings.select_related("task")}
    assert listed == {("Leaf", False), ("Mid", True), ("Top", True)}
    assert {t.name for t in services.ancestors(leaf)} == {"Mid", "Top"}

"""The real sample dumps: counts, parsed values, task listings, rejects, broken files."""

import json
from decimal import Decimal

import pytest

from leaderboard.importers import DumpError, import_file
from leaderboard.models import (
    Dataset,
    Leaderboard,
    Method,
    MetricValue,
    Paper,
    PaperRepository,
    Result,
    ResultTask,
    Task,
)
from leaderboard.rules.values import stored_value
from tests.importers.conftest import DATA, DEMO_TABLES, read_rejects

TABLE_FILES = sorted(
    p
    for p in DATA.glob("*.json")
    if "sample" not in p.name and p.name != "example_json_format.json"
)


def count_rows(entry) -> int:
    if isinstance(entry, list):
        return sum(count_rows(item) for item in entry)
    total = len((entry.get("sota") or {}).get("rows", []))
    return total + sum(
        count_rows(entry.get(key, []))
        for key in ("datasets", "subdatasets", "subtasks")
    )


@pytest.mark.parametrize("path", TABLE_FILES, ids=lambda p: p.name)
def test_it_imports_every_real_sample_table_and_accounts_for_every_row(
    db, rejects, path
):
    stats = import_file(path, "evaluation-tables", rejects=rejects)
    expected = count_rows(json.loads(path.read_text()))
    assert stats.read == expected
    assert stats.created + stats.updated + stats.unchanged + stats.rejected == expected
    assert stats.rejected == len(
        [r for r in read_rejects(rejects) if r["action"] == "rejected"]
    )
    listed = (
        ResultTask.objects.filter(via_category=False)
        .values("result")
        .distinct()
        .count()
    )
    assert Result.objects.count() == listed > 0
    for value, raw in MetricValue.objects.values_list("value", "raw"):
        assert (value is None) == (stored_value(raw)[0] is None), raw


def test_it_parses_plus_minus_values_and_keeps_the_raw_string(db, rejects):
    import_file(DATA / "ogb.json", "evaluation-tables", rejects=rejects)
    value = MetricValue.objects.filter(raw__contains="±").first()
    assert value is not None
    assert value.value == Decimal(value.raw.split("±")[0].strip())
    params = (
        MetricValue.objects.filter(metric__name="Number of params")
        .exclude(value=None)
        .first()
    )
    assert params.value > 0


def test_it_lists_subtask_results_under_the_subtask_and_every_category_above(
    db, rejects
):
    import_file(DATA / "nlpprogress.json", "evaluation-tables", rejects=rejects)
    child = Task.objects.get(name="Hypernym Discovery")
    assert child.parents.filter(name="Taxonomy Learning").exists()
    result = Result.objects.filter(
        listings__task=child, listings__via_category=False
    ).first()
    listed = {
        (item.task.name, item.via_category)
        for item in result.listings.select_related("task")
    }
    assert listed == {("Hypernym Discovery", False), ("Taxonomy Learning", True)}


def test_it_imports_subdatasets_as_partitions_of_their_dataset(db, rejects):
    import_file(DATA / "nlpprogress.json", "evaluation-tables", rejects=rejects)
    semeval = Dataset.objects.get(name="SemEval 2018")
    parts = {d.variant for d in semeval.subdatasets.all()}
    assert {"General", "Medical domain", "Music domain"} <= parts
    medical = semeval.subdatasets.get(variant="Medical domain")
    assert Leaderboard.objects.filter(
        dataset=medical, task__name="Hypernym Discovery"
    ).exists()
    assert medical.results.count() == 8


def test_it_imports_null_paper_title_rows_and_reports_them(db, rejects):
    stats = import_file(DATA / "eff.json", "evaluation-tables", rejects=rejects)
    assert stats.rejected == 0
    untitled = Result.objects.filter(listed_paper_title="")
    assert untitled.count() == 44
    assert untitled.filter(
        listed_paper_url="https://www.gwern.net/docs/2016-graves.pdf"
    ).exists()
    notes = [r for r in read_rejects(rejects) if "paper_title is null" in r["reason"]]
    assert len(notes) == 44 and all(
        n["action"] == "imported" and n["record"]["paper_title"] is None for n in notes
    )
    numeric = MetricValue.objects.filter(
        result__model_name="DNC", metric__name="Percentage correct"
    ).first()
    assert numeric.raw == "96.2" and numeric.value == Decimal("96.2")


def test_it_names_file_line_and_column_of_invalid_json_and_keeps_nothing(db, rejects):
    path = DATA / "example_json_format.json"
    with pytest.raises(DumpError) as error:
        import_file(path, "evaluation-tables", rejects=rejects)
    assert str(path) in str(error.value) and "line 27 column 13" in str(error.value)
    assert Task.objects.count() == 0


def test_it_commits_nothing_from_a_file_broken_after_many_records(
    db, rejects, tmp_path
):
    text = (DATA / "ogb.json").read_text()
    broken = tmp_path / "evaluation-tables.json"
    broken.write_text(text[: len(text) - 200] + ",,\n]")
    with pytest.raises(DumpError) as error:
        import_file(broken, rejects=rejects)
    assert "line " in str(error.value) and "column " in str(error.value)
    assert (
        Result.objects.count() == 0
        and Task.objects.count() == 0
        and Leaderboard.objects.count() == 0
    )


def test_it_imports_papers_with_authors_in_order_tasks_and_methods(db, rejects):
    stats = import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    assert (stats.created, stats.rejected) == (1, 0)
    paper = Paper.objects.get(slug="dynamic-network-model-from-partial")
    assert paper.arxiv_id == "1805.10616" and paper.proceeding.name == "NeurIPS 2018"
    assert [a.author.name for a in paper.authorships.order_by("position")] == [
        "Elahe Ghalebi",
        "Baharan Mirzasoleiman",
        "Radu Grosu",
        "Jure Leskovec",
    ]
    assert set(paper.tasks.values_list("name", flat=True)) == {
        "model",
        "Open-Ended Question Answering",
    }
    assert Method.objects.get(name="ooJpiued").papers.get() == paper


def test_it_links_papers_and_code_creating_papers_it_does_not_know(db, rejects):
    stats = import_file(
        DATA / "links-between-papers-and-code.sample.json", rejects=rejects
    )
    assert stats.created == 2
    link = PaperRepository.objects.get(
        repository__url="https://github.com/deepneuralmachine/seq2act-tensorflow"
    )
    assert (
        link.paper.slug == "mapping-natural-language-instructions-to"
        and link.paper.arxiv_id == "2005.03776"
    )
    assert link.repository.framework == "tf" and link.is_official is False


def test_the_face_alignment_tables_agree_with_the_demo(db, rejects):
    def snapshot():
        values = MetricValue.objects.filter(
            result__listings__task__name="Face Alignment",
            result__listings__via_category=False,
        )
        return sorted(
            values.values_list(
                "result__dataset__name",
                "result__dataset_name",
                "result__model_name",
                "metric__name",
                "raw",
                "value",
            )
        )

    import_file(DEMO_TABLES, rejects=rejects)
    imported = snapshot()
    boards = sorted(Leaderboard.objects.values_list("slug", "primary_metric__name"))
    for model in (MetricValue, ResultTask, Result, Leaderboard, Paper, Dataset, Task):
        model.objects.all().delete()
    from leaderboard.demo import load_demo

    load_demo()
    demo = [item for item in snapshot() if item[1] != "WFW (Extra Data)"]
    assert demo == imported and len(imported) > 300
    assert (
        sorted(Leaderboard.objects.values_list("slug", "primary_metric__name"))
        == boards
    )
    again = import_file(DEMO_TABLES, rejects=rejects)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 120)

"""The command, gzip, --kind, idempotency, updates in place, aliases, directions, round trip."""

import gzip
import shutil

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from leaderboard.importers import DumpError, import_file, import_records
from leaderboard.importers.export import export_archive
from leaderboard.importers.papers import PAPER_URL
from leaderboard.models import (
    Dataset,
    DatasetAlias,
    Leaderboard,
    Metric,
    MetricValue,
    Model,
    Paper,
    Result,
    ResultTask,
    Task,
)
from leaderboard.rules.listing import categories_above, listed_under
from tests.importers.conftest import DATA, DEMO_TABLES, row, table


def counts() -> tuple:
    return tuple(
        m.objects.count()
        for m in (Result, MetricValue, ResultTask, Leaderboard, Dataset, Model)
    )


def test_it_imports_a_gzipped_file_recognised_by_its_name(db, rejects, tmp_path):
    path = tmp_path / "evaluation-tables.json.gz"
    path.write_bytes(gzip.compress(DEMO_TABLES.read_bytes()))
    stats = import_file(path, rejects=rejects)
    assert (stats.kind, stats.created) == ("evaluation-tables", 120)


def test_it_needs_kind_when_the_name_does_not_say(db, rejects):
    with pytest.raises(DumpError, match="pass --kind"):
        import_file(DATA / "ogb.json", rejects=rejects)
    assert (
        import_file(DATA / "ogb.json", "evaluation-tables", rejects=rejects).created
        == 244
    )


def test_the_command_imports_the_good_files_reports_and_fails_at_the_end(
    db, tmp_path, capsys
):
    report = tmp_path / "rejects.jsonl"
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        call_command(
            "import_pwc",
            str(DATA / "example_json_format.json"),
            str(DATA / "eff.json"),
            "--kind",
            "evaluation-tables",
            "--rejects",
            str(report),
        )
    captured = capsys.readouterr()
    assert "example_json_format.json: line 27 column 13" in captured.err
    assert (
        "eff.json (evaluation-tables): 1714 read, 1714 created, 0 updated, 0 unchanged, 0 rejected"
        in captured.out
    )
    assert f"rejects report: {report}" in captured.out and report.exists()
    assert Result.objects.count() == 1714


def test_a_second_import_changes_nothing(db, rejects):
    for path in (DEMO_TABLES, DATA / "nlpprogress.json", DATA / "squad.json"):
        import_file(path, "evaluation-tables", rejects=rejects)
    before = counts()
    for path in (DEMO_TABLES, DATA / "nlpprogress.json", DATA / "squad.json"):
        stats = import_file(path, "evaluation-tables", rejects=rejects)
        assert (stats.created, stats.updated) == (0, 0)
    assert counts() == before
    papers = import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    again = import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    assert (papers.created, again.created, again.updated, again.unchanged) == (
        1,
        0,
        0,
        1,
    )


def test_a_newer_dump_updates_a_result_in_place(db, rejects):
    import_records(
        [
            table(
                "Toy", "ToySet", [row("M1", Accuracy="90.1"), row("M2", Accuracy="80")]
            )
        ],
        "evaluation-tables",
        rejects=rejects,
    )
    first = Result.objects.get(model_name="M1")
    stats = import_records(
        [
            table(
                "Toy", "ToySet", [row("M1", Accuracy="91.5%"), row("M2", Accuracy="80")]
            )
        ],
        "evaluation-tables",
        rejects=rejects,
    )
    assert (stats.created, stats.updated, stats.unchanged) == (0, 1, 1)
    value = Result.objects.get(pk=first.pk).values.get()
    assert (value.raw, str(value.value).rstrip("0")) == ("91.5%", "91.5")
    assert Result.objects.count() == 2


def test_it_links_name_variants_as_aliases_without_merging_different_things(
    db, rejects
):
    records = [
        table("Toy", "CIFAR-10", [row("AWing", Accuracy="1")]),
        table("Toy", "cifar 10", [row("Awing", Accuracy="2")]),
        table("Toy", "CIFAR-10 (Extra Data)", [row("awing", Accuracy="3")]),
        table(
            "Toy",
            "CIFAR-100",
            [
                row(
                    "AWing",
                    title="Another paper",
                    url="https://arxiv.org/abs/2002.00002",
                    Accuracy="4",
                )
            ],
        ),
    ]
    import_records(records, "evaluation-tables", rejects=rejects)
    cifar = Dataset.objects.get(name="CIFAR-10")
    assert set(
        DatasetAlias.objects.values_list(
            "name", "dataset__name", "uses_additional_data"
        )
    ) == {
        ("cifar 10", "CIFAR-10", False),
        ("CIFAR-10 (Extra Data)", "CIFAR-10", True),
    }
    assert Leaderboard.objects.filter(dataset=cifar).count() == 1
    assert Dataset.objects.filter(name="CIFAR-100").exists()
    extra = Result.objects.get(dataset_name="CIFAR-10 (Extra Data)")
    assert extra.dataset == cifar and extra.uses_additional_data
    first_paper = Result.objects.get(dataset_name="CIFAR-10").paper
    assert Model.objects.filter(paper=first_paper).count() == 1  # AWing, Awing, awing
    assert (
        Model.objects.filter(name="AWing").count() == 2
    )  # the same name in two papers stays apart


def test_it_guesses_directions_but_never_overrides_an_admin(db, rejects):
    Metric.objects.create(
        name="Error",
        higher_is_better=True,
        direction_source=Metric.DirectionSource.ADMIN,
    )
    import_records(
        [table("Toy", "ToySet", [row("M", Error="3.1", NME="4.0", AUC="0.9")])],
        "evaluation-tables",
        rejects=rejects,
    )
    directions = dict(Metric.objects.values_list("name", "higher_is_better"))
    assert directions == {"Error": True, "NME": False, "AUC": True}


def test_it_lists_one_row_from_two_tables_once_under_both_tasks(db, rejects):
    shared = row("Shared", Accuracy="70")
    records = [
        table("Task A", "ToySet", [shared]),
        table("Task B", "ToySet", [dict(shared)]),
    ]
    import_records(records, "evaluation-tables", rejects=rejects)
    result = Result.objects.get()
    assert set(result.listings.values_list("task__name", "via_category")) == {
        ("Task A", False),
        ("Task B", False),
    }


def test_it_rejects_rows_it_cannot_place_with_the_reason(db, rejects):
    from tests.importers.conftest import read_rejects

    bad = [
        {"paper_title": "no model"},
        {"model_name": "M", "metrics": ["not", "a", "dict"]},
        "not an object",
    ]
    stats = import_records(
        [table("Toy", "ToySet", [row("Good"), *bad], metrics=["Accuracy"])],
        "evaluation-tables",
        rejects=rejects,
    )
    assert (stats.read, stats.created, stats.rejected) == (4, 1, 3)
    reasons = [r["reason"] for r in read_rejects(rejects)]
    assert reasons == [
        "row without a model_name",
        "metrics must be an object of {metric name: value}",
        "a row must be a JSON object",
    ]


def test_it_writes_rows_in_batches_not_one_query_a_row(db, rejects):
    """Only the multi-row INSERTs split with the row count (SQLite caps a statement at 999 parameters)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def rows(n, start):
        return [
            row(
                f"M{i}",
                title=f"Paper {i}",
                url=f"https://arxiv.org/abs/2003.{i:05d}",
                Accuracy=str(i),
            )
            for i in range(start, start + n)
        ]

    import_records(
        [table("Warm", "WarmSet", rows(1, 0))], "evaluation-tables", rejects=rejects
    )
    with CaptureQueriesContext(connection) as small:
        import_records(
            [table("Small", "Set A", rows(20, 100))],
            "evaluation-tables",
            rejects=rejects,
        )
    with CaptureQueriesContext(connection) as large:
        import_records(
            [table("Large", "Set B", rows(400, 5000))],
            "evaluation-tables",
            rejects=rejects,
        )
    assert len(large.captured_queries) - len(small.captured_queries) <= 380 // 30


def test_export_then_import_then_export_gives_identical_files(db, rejects, tmp_path):
    for path in (
        DEMO_TABLES,
        DATA / "nlpprogress.json",
        DATA / "ogb.json",
        DATA / "eff.json",
    ):
        import_file(path, "evaluation-tables", rejects=rejects)
    import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    import_file(DATA / "links-between-papers-and-code.sample.json", rejects=rejects)
    first, second = tmp_path / "first", tmp_path / "second"
    export_archive(first)
    for model in reversed(list(apps.get_app_config("leaderboard").get_models())):
        model.objects.all().delete()
    assert Result.objects.count() == Paper.objects.count() == Task.objects.count() == 0
    call_command(
        "import_pwc",
        *map(str, sorted(first.glob("*.json"))),
        "--rejects",
        str(tmp_path / "r.jsonl"),
    )
    export_archive(second)
    for path in sorted(first.glob("*.json")):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
    rows = Result.objects.filter(dataset__name="WFLW").exclude(code_links=[]).first()
    assert (
        rows.listed_paper_title
        and rows.listed_paper_url
        and rows.code_links[0]["url"].startswith("https://github.com/")
    )


def test_it_exports_gzipped_files(db, rejects, tmp_path):
    import_file(DEMO_TABLES, rejects=rejects)
    call_command("export_pwc", str(tmp_path), "--gzip")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "datasets.json.gz",
        "evaluation-tables.json.gz",
        "links-between-papers-and-code.json.gz",
        "methods.json.gz",
        "papers-with-abstracts.json.gz",
    ]
    again = import_file(tmp_path / "evaluation-tables.json.gz", rejects=rejects)
    assert (again.created, again.updated) == (0, 0)


@pytest.mark.slow
def test_the_synthetic_archive_is_deterministic_and_imports_cleanly(
    db, rejects, tmp_path
):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from make_archive import make_archive

    one, two = tmp_path / "one", tmp_path / "two"
    counts_one = make_archive(one, scale=0.0005)
    make_archive(two, scale=0.0005)
    for path in one.iterdir():
        assert path.read_bytes() == (two / path.name).read_bytes()
    total = sum(
        import_file(path, rejects=rejects).rejected for path in sorted(one.iterdir())
    )
    assert total == 0 and counts_one["papers-with-abstracts"] == 288
    shutil.rmtree(two)


def test_the_synthetic_archive_writes_scales_whose_rows_run_out_before_boards(
    tmp_path,
):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from make_archive import make_archive

    # At this scale and seed the last boards are left with no rows to share out.
    counts = make_archive(tmp_path, scale=0.002)

    def boards(entries):
        for entry in entries:
            yield from entry.get("datasets", [])
            yield from boards(entry.get("subtasks", []))

    tables = json.loads((tmp_path / "evaluation-tables.json").read_text())
    sizes = [len(d["sota"]["rows"]) for d in boards(tables)]
    assert sizes and min(sizes) >= 1
    assert counts["evaluation-tables"] == len(tables)


def test_authors_whose_slugs_clash_get_the_next_free_suffix(db, rejects):
    from leaderboard.models import Author

    Author.objects.create(name="WEI  LI", slug="wei-li")
    papers = [
        {
            "paper_url": "https://paperswithcode.com/paper/one",
            "title": "One",
            "authors": ["Wei Li", "Wei-Li", "WEI  LI", "Ann Lee"],
        },
        {
            "paper_url": "https://paperswithcode.com/paper/two",
            "title": "Two",
            "authors": ["Wei-Li", "Ann Lee", "Wei Li 2"],
        },
    ]
    import_records(papers, "papers-with-abstracts", rejects=rejects)
    slugs = dict(Author.objects.values_list("name", "slug"))
    # New names take their turn in name order; each gets the first slug still free
    # (rules.slugs.unique_slug, as a first import and the services give them).
    assert slugs == {
        "WEI  LI": "wei-li",
        "Ann Lee": "ann-lee",
        "Wei Li": "wei-li-2",
        "Wei Li 2": "wei-li-2-2",
        "Wei-Li": "wei-li-3",
    }
    for slug, names in {
        "one": ["Wei Li", "Wei-Li", "WEI  LI", "Ann Lee"],
        "two": ["Wei-Li", "Ann Lee", "Wei Li 2"],
    }.items():
        paper = Paper.objects.get(slug=slug)
        assert [a.author.name for a in paper.authorships.order_by("position")] == names


def test_a_first_import_puts_back_every_index_and_foreign_key_it_set_aside(db, rejects):
    """Into empty tables the importer builds indexes and checks foreign keys once, at the end."""
    from django.db import connection

    from leaderboard.models import Author, PaperAuthor, PaperRepository, Repository

    tables = [
        model._meta.db_table
        for model in (
            Paper,
            PaperAuthor,
            Paper.tasks.through,
            Paper.methods.through,
            Author,
            Result,
            MetricValue,
            ResultTask,
            Model,
            PaperRepository,
            Repository,
        )
    ]

    def schema():
        with connection.cursor() as cursor:
            return {
                table: connection.introspection.get_constraints(cursor, table)
                for table in tables
            }

    before = schema()
    papers = import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    results = import_file(
        DATA / "nlpprogress.json", "evaluation-tables", rejects=rejects
    )
    links = import_file(
        DATA / "links-between-papers-and-code.sample.json", rejects=rejects
    )
    assert papers.created == 1 and results.created > 10 and links.created > 1
    assert PaperRepository.objects.count() == links.created
    assert schema() == before
    assert (
        sum(bool(c["foreign_key"]) for c in before[MetricValue._meta.db_table].values())
        == 2
    )
    # The deferred category listings were written after the indexes came back.
    assert ResultTask.objects.filter(via_category=True).exists()


def test_task_descriptions_and_source_links_are_filled_and_never_erased(db, rejects):
    link = {"title": "Survey", "url": "https://example.org/survey"}
    first = table("Face Alignment", "WFLW", [row("A")], description="Locate landmarks.")
    first["source_link"] = link
    import_records([first], "evaluation-tables", rejects=rejects)
    task = Task.objects.get(name="Face Alignment")
    assert (task.description, task.source_link) == ("Locate landmarks.", link)
    # A later dump without a description keeps it; a new description replaces it.
    import_records(
        [table("Face Alignment", "WFLW", [row("A")], description="")],
        "evaluation-tables",
        rejects=rejects,
    )
    task.refresh_from_db()
    assert task.description == "Locate landmarks." and task.source_link == link
    import_records(
        [table("Face Alignment", "WFLW", [row("A")], description="Find points.")],
        "evaluation-tables",
        rejects=rejects,
    )
    task.refresh_from_db()
    assert task.description == "Find points."


def test_methods_find_their_paper_by_url_then_title_and_update_in_place(db, rejects):
    from leaderboard.models import Method

    import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    paper = Paper.objects.get(slug="dynamic-network-model-from-partial")
    method_url = "https://paperswithcode.com/method/"
    records = [
        {
            "name": "ooJpiued",
            "url": method_url + "oojpiued",
            "full_name": "Known from the paper",
            "paper": {"title": "Another title", "url": PAPER_URL + paper.slug},
            "introduced_year": 2017,
            "collections": [{"collection": "Graph Models", "area": "Graphs"}],
        },
        {
            "name": "By Title",
            "url": method_url + "by-title",
            "paper": {"title": paper.title, "url": None},
        },
        {"name": "Unknown Paper", "paper": {"title": "Nowhere", "url": None}},
        {"name": "By Title", "url": method_url + "by-title", "full_name": "Again"},
    ]
    stats = import_records(records, "methods", rejects=rejects)
    assert (stats.created, stats.updated) == (2, 2)
    known = Method.objects.get(name="ooJpiued")
    assert (known.full_name, known.paper) == ("Known from the paper", paper)
    assert known.introduced_year == 2017
    assert known.collections == [{"collection": "Graph Models", "area": "Graphs"}]
    assert Method.objects.get(name="Unknown Paper").paper is None
    # The later record of one method wins, as when they come in two dumps.
    twice = Method.objects.get(slug="by-title")
    assert (twice.full_name, twice.paper) == ("Again", None)
    again = import_records(records[:3], "methods", rejects=rejects)
    assert Method.objects.get(slug="by-title").paper == paper
    assert again.created == 0 and Method.objects.count() == 3


def test_a_first_import_gives_clashing_author_slugs_the_next_free_suffix(db, rejects):
    from leaderboard.models import Author

    assert not Author.objects.exists()  # the in-memory path of a first import
    papers = [
        {
            "paper_url": f"https://paperswithcode.com/paper/p{i}",
            "title": f"P{i}",
            "authors": names,
        }
        for i, names in enumerate(
            [["Wei Li", "Wei-Li", "Ann Lee"], ["Wei Li 2", "Wei-Li", "WEI LI"]]
        )
    ]
    import_records(papers, "papers-with-abstracts", rejects=rejects)
    assert dict(Author.objects.values_list("name", "slug")) == {
        "Ann Lee": "ann-lee",
        "WEI LI": "wei-li",
        "Wei Li": "wei-li-2",
        "Wei Li 2": "wei-li-2-2",
        "Wei-Li": "wei-li-3",
    }
    authorships = Paper.objects.get(slug="p1").authorships.order_by("position")
    assert [a.author.name for a in authorships] == ["Wei Li 2", "Wei-Li", "WEI LI"]


def test_a_first_import_finds_a_paper_again_in_a_later_batch(db, rejects, monkeypatch):
    """Into an empty table, batches are matched against the keys the file has written so far."""
    monkeypatch.setattr("leaderboard.importers.papers.BATCH", 2)
    assert not Paper.objects.exists()

    def paper(slug, title, arxiv_id=None):
        return {"paper_url": PAPER_URL + slug, "title": title, "arxiv_id": arxiv_id}

    records = [
        paper("first", "First", "2001.00001"),
        paper("second", "Second"),
        paper("third", "Third"),
        paper("first", "First, revised", "2001.00001"),  # a later batch, same slug
        paper("renamed", "Second by arXiv id", "2001.00001"),  # same arXiv id
        paper("second", "Second"),  # unchanged
    ]
    stats = import_records(records, "papers-with-abstracts", rejects=rejects)
    assert (stats.created, stats.updated, stats.unchanged) == (3, 2, 1)
    assert sorted(Paper.objects.values_list("slug", "title")) == [
        ("renamed", "Second by arXiv id"),
        ("second", "Second"),
        ("third", "Third"),
    ]


def test_a_first_import_leaves_the_next_ids_to_whoever_writes_next(db, rejects):
    """Ids claimed in blocks for COPY go back unused: the next row follows the last one."""
    from leaderboard.models import Author

    import_file(DATA / "papers-with-abstracts.sample.json", rejects=rejects)
    import_file(DATA / "nlpprogress.json", "evaluation-tables", rejects=rejects)
    for model, make in (
        (Paper, lambda: Paper.objects.create(slug="next", title="Next")),
        (Author, lambda: Author.objects.create(slug="next", name="Next")),
        (Model, lambda: Model.objects.create(name="Next")),
    ):
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        assert make().pk == last + 1, model.__name__


def test_reads_see_the_writes_queued_before_them_and_a_failed_write_fails_it_all(db):
    from django.db import IntegrityError, transaction

    from leaderboard.importers.base import background_writes, copy_rows
    from leaderboard.models import Author

    table = Author._meta.db_table
    with transaction.atomic(), background_writes():
        for i in range(5):
            copy_rows(
                table, ["name", "slug"], [(f"A{i}{j}", f"a{i}-{j}") for j in range(300)]
            )
        assert Author.objects.count() == 1500
        transaction.set_rollback(True)
    with pytest.raises(IntegrityError), transaction.atomic(), background_writes():
        copy_rows(table, ["name", "slug"], [("Kept?", "kept")])
        copy_rows(table, ["name", "slug"], [(None, "no-name")])
        copy_rows(table, ["name", "slug"], [("After", "after")])
        Author.objects.count()  # waits for the writes, and raises their error
    assert not Author.objects.exists()


def _dataset(name: str, slug: str, variants=(), tasks=(), **fields) -> dict:
    return {
        "url": f"https://paperswithcode.com/dataset/{slug}",
        "name": name,
        "full_name": fields.pop("full_name", name),
        "variants": list(variants),
        "tasks": [{"task": t} for t in tasks],
        **fields,
    }


def test_the_datasets_file_links_variants_as_aliases_in_record_order(db, rejects):
    from tests.importers.conftest import read_rejects

    import_records([_dataset("MNIST", "mnist")], "datasets", rejects=rejects)
    records = [
        # A variant that is already another dataset's name stays that dataset.
        _dataset(
            "ImageNet",
            "imagenet",
            variants=["ImageNet-1k", "MNIST"],
            homepage="https://image-net.org",
        ),
        # A record named like an earlier record's variant is that dataset.
        _dataset(
            "ImageNet-1k",
            "imagenet-1k",
            full_name="ImageNet",
            homepage="https://image-net.org",
        ),
        # A variant an earlier record claimed stays with that record's dataset.
        _dataset(
            "WFLW",
            "wflw",
            variants=["ImageNet-1k", "WFLW (Extra Data)"],
            tasks=["Face Alignment"],
        ),
    ]
    stats = import_records(records, "datasets", rejects=rejects)
    assert (stats.created, stats.updated, stats.unchanged) == (2, 0, 1)
    assert set(Dataset.objects.values_list("name", flat=True)) == {
        "MNIST",
        "ImageNet",
        "WFLW",
    }
    imagenet = Dataset.objects.get(name="ImageNet")
    assert imagenet.homepage == "https://image-net.org"
    assert set(DatasetAlias.objects.values_list("name", "dataset__name")) == {
        ("ImageNet-1k", "ImageNet"),
        ("WFLW (Extra Data)", "WFLW"),
    }
    assert list(
        Dataset.objects.get(name="WFLW").tasks.values_list("name", flat=True)
    ) == ["Face Alignment"]
    reasons = [r["reason"] for r in read_rejects(rejects)]
    assert any("'MNIST' is a dataset of its own" in r for r in reasons)
    assert any("'ImageNet-1k' is already an alias of dataset" in r for r in reasons)
    again = import_records(records, "datasets", rejects=rejects)
    assert (again.created, again.updated) == (0, 0)
    assert DatasetAlias.objects.count() == 2


def test_the_collector_pauses_for_a_file_and_resumes_after_it_even_when_it_fails(
    db, rejects
):
    import gc

    seen = []

    def records(fail: bool):
        seen.append(gc.isenabled())
        yield table("Toy", "ToySet", [row("M")])
        if fail:
            raise DumpError("broken")

    assert gc.isenabled()
    import_records(records(False), "evaluation-tables", rejects=rejects)
    assert gc.isenabled()
    with pytest.raises(DumpError):
        import_records(records(True), "evaluation-tables", rejects=rejects)
    assert gc.isenabled() and seen == [False, False]


def test_a_board_gets_its_first_column_as_primary_metric_unless_it_has_one(db, rejects):
    toy = Task.objects.create(name="Toy", slug="toy")
    Leaderboard.objects.create(
        task=toy,
        dataset=Dataset.objects.create(name="Kept", slug="kept"),
        slug="toy-on-kept",
        primary_metric=Metric.objects.create(name="AUC", higher_is_better=True),
    )
    Leaderboard.objects.create(
        task=toy,
        dataset=Dataset.objects.create(name="Empty", slug="empty"),
        slug="toy-on-empty",
    )
    import_records(
        [
            table("Toy", name, [row("M", NME="4.0", FR="2.1")], metrics=["NME", "FR"])
            for name in ("Kept", "Empty", "New")
        ],
        "evaluation-tables",
        rejects=rejects,
    )
    primaries = dict(
        Leaderboard.objects.values_list("dataset__name", "primary_metric__name")
    )
    assert primaries == {"Kept": "AUC", "Empty": "NME", "New": "NME"}


def test_the_links_file_finds_the_papers_and_repositories_of_earlier_batches(
    db, rejects, monkeypatch
):
    from leaderboard.models import PaperRepository, Repository

    monkeypatch.setattr("leaderboard.importers.papers.BATCH", 2)
    Paper.objects.create(slug="known", title="Known", arxiv_id="2001.00009")

    def link(repo, framework="", slug=None, arxiv_id=None, **flags):
        return {
            "paper_url": PAPER_URL + slug if slug else None,
            "paper_arxiv_id": arxiv_id,
            "paper_title": f"Paper {slug or arxiv_id}",
            "repo_url": f"https://github.com/lab/{repo}",
            "framework": framework,
            **flags,
        }

    records = [
        link("one", "pytorch", slug="unknown"),
        link("two", arxiv_id="2002.00002"),
        link(
            "one", "pytorch", slug="unknown"
        ),  # a later batch: the paper and repo again
        link("three", arxiv_id="2002.00002"),  # found by its arXiv id
        link("two", "jax", slug="known"),  # the repository now says its framework
        link(
            "four", arxiv_id="2001.00009", is_official=True
        ),  # a known paper's arXiv id
    ]
    stats = import_records(records, "links-between-papers-and-code", rejects=rejects)
    assert (stats.created, stats.unchanged) == (5, 1)
    assert sorted(Paper.objects.values_list("slug", "arxiv_id")) == [
        ("known", "2001.00009"),
        ("paper-200200002", "2002.00002"),
        ("unknown", None),
    ]
    assert dict(Repository.objects.values_list("name", "framework")) == {
        "one": "pytorch",
        "two": "jax",
        "three": "",
        "four": "",
    }
    pairs = set(
        PaperRepository.objects.values_list(
            "paper__slug", "repository__name", "is_official"
        )
    )
    assert pairs == {
        ("unknown", "one", False),
        ("paper-200200002", "two", False),
        ("paper-200200002", "three", False),
        ("known", "two", False),
        ("known", "four", True),
    }
    again = import_records(records, "links-between-papers-and-code", rejects=rejects)
    assert (again.created, again.updated) == (0, 0)


def test_results_are_listed_under_every_category_above_on_a_first_import_and_after(
    db, rejects
):
    """The first file into an empty listing table works the category rows out in memory;
    a later file reads the table. Either way: each category above each listed task, once."""

    def expected() -> set:
        parents = {}
        for child, parent in Task.parents.through.objects.values_list(
            "from_task_id", "to_task_id"
        ):
            parents.setdefault(child, set()).add(parent)

        def above(task, seen):
            for parent in parents.get(task, ()):
                if parent not in seen:
                    seen.add(parent)
                    above(parent, seen)
            return seen

        direct = set(
            ResultTask.objects.filter(via_category=False).values_list(
                "result_id", "task_id"
            )
        )
        return {
            (result, category)
            for result, task in direct
            for category in above(task, set()) - {task}
            if (result, category) not in direct
        }

    def via() -> list:
        return sorted(
            ResultTask.objects.filter(via_category=True).values_list(
                "result_id", "task_id"
            )
        )

    def by_the_rule() -> set:
        """rules.listing over the stored graph: what services.list_result would write."""
        above = categories_above(
            Task.parents.through.objects.values_list("from_task_id", "to_task_id")
        )
        direct = {}
        for result, task in ResultTask.objects.filter(via_category=False).values_list(
            "result_id", "task_id"
        ):
            direct.setdefault(result, []).append(task)
        return {
            (result, task)
            for result, tasks in direct.items()
            for task, via in listed_under(tasks, above).items()
            if via
        }

    import_file(DATA / "nlpprogress.json", "evaluation-tables", rejects=rejects)
    first = via()
    assert first and len(first) == len(set(first)) and set(first) == expected()
    assert set(first) == by_the_rule()
    child = Task.objects.get(name="Hypernym Discovery")
    import_records(
        [
            {
                "task": "Taxonomy Learning",
                "subtasks": [table(child.name, "New set", [row("Later")])],
            }
        ],
        "evaluation-tables",
        rejects=rejects,
    )
    later = via()
    assert len(later) > len(first) and len(later) == len(set(later))
    assert set(later) == expected() == by_the_rule()


def test_a_unique_key_set_aside_for_a_load_still_refuses_a_duplicate(db):
    from django.db import IntegrityError, connection, transaction

    from leaderboard.importers.base import DeferredIndexes
    from leaderboard.models import Author

    table = Author._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic():
        indexes = DeferredIndexes([table], unique_of=(table,))
        indexes.drop()
        assert bool(indexes.uniques) == (connection.vendor == "postgresql")
        Author.objects.create(name="Ann Lee", slug="ann-lee")
        Author.objects.create(
            name="Ann  Lee", slug="ann-lee"
        )  # PostgreSQL: accepted now
        indexes.rebuild()  # ... and refused here, failing the whole load
    assert not Author.objects.exists()


def test_a_slug_made_from_a_title_has_one_length_whichever_path_makes_it(db, rejects):
    from leaderboard import services
    from leaderboard.models import Method, Paper

    title = "A very long title about robust face alignment under heavy occlusion and extreme pose variation"
    method = "Adaptive wing loss with boundary weighted heatmaps and coordinate convolution for landmarks"
    import_records(
        [{"title": title, "arxiv_id": "2101.00001", "methods": [{"name": method, "full_name": method}]}],
        "papers-with-abstracts",
        rejects=rejects,
    )
    imported = Paper.objects.get(arxiv_id="2101.00001")
    imported_method = Method.objects.get(name=method)
    Paper.objects.all().delete()
    Method.objects.all().delete()
    # What the services would give the same names in an empty table.
    assert imported.slug == services.new_slug(Paper, title)
    assert imported_method.slug == services.new_slug(Method, method)
    assert len(imported.slug) <= 60 < len(title)


def _planner_statistics(table: str) -> int | None:
    """What the planner's statistics of `table` say: on PostgreSQL the number of its columns
    with statistics (pg_stats), on SQLite its row count (sqlite_stat1); None when there are none."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table])
            return cursor.fetchone()[0] or None
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        found = cursor.fetchone()
        return int(found[0].split()[0]) if found else None


def test_an_import_that_writes_rows_leaves_planner_statistics_of_its_tables(db, rejects):
    from django.db import connection

    rows = [row(f"Model {i}", title=f"Paper {i}", url=f"https://arxiv.org/abs/2001.0000{i}", Accuracy=f"9{i}.0")
            for i in range(7)]
    stats = import_records([table("Image Classification", "ImageNet", rows)], "evaluation-tables", rejects=rejects)
    assert stats.created
    assert Result.objects.count() == 7
    for model in (Result, MetricValue):
        found = _planner_statistics(model._meta.db_table)
        if connection.vendor == "postgresql":
            assert found and found >= 3, model  # e.g. paper_id, dataset_id, value: what plans are made from
        else:
            assert found == 7, model

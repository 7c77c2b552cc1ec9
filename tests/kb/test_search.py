"""The ranked search (leaderboard.search) on the demo data, on PostgreSQL and on SQLite's fallback."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from leaderboard import search
from leaderboard.models import Dataset, DatasetAlias, Method, Model, Paper, Task

AWING = "adaptive-wing-loss-for-robust-face-alignment"


def paper_slugs(text: str) -> list[str]:
    ids = search.search(text).papers.ids
    slugs = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "slug"))
    return [slugs[pk] for pk in ids]


def test_awing_finds_the_awing_paper_and_its_model_rows(demo):
    found = search.search("AWing")
    assert paper_slugs("AWing")[0] == AWING  # its abstract never says "AWing": the model names it
    assert (found.models[0].name, found.models[0].paper.slug) == ("AWing", AWING)
    assert "face-alignment-on-wflw" in [board.slug for board in found.models[0].boards]
    assert found.sections["models"].count >= 1


def test_wflw_finds_the_dataset_and_its_leaderboard(demo):
    found = search.search("wflw")
    assert found.datasets[0].slug == "wflw"
    assert "face-alignment-on-wflw" in [board.slug for board in found.leaderboards]
    assert found.leaderboards[0].slug == "face-alignment-on-wflw"


def test_a_typo_finds_the_task_and_is_offered_as_the_spelling(demo):
    found = search.search("face aligment")
    assert found.tasks[0].name == "Face Alignment"
    assert found.papers.ids == []
    assert found.suggestions[0] == "Face Alignment"


def test_a_dataset_is_found_by_its_alias(demo):
    assert [d.slug for d in search.search("WFW (Extra Data)").datasets] == ["wflw"]
    assert DatasetAlias.objects.filter(name="WFW (Extra Data)").exists()


def test_names_rank_exact_then_prefix_then_contains(db):
    for name in ["Adaptive Wing Estimation", "Wing Estimation", "Wing"]:
        Task.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    assert [t.name for t in search.search("wing").tasks] == ["Wing", "Wing Estimation", "Adaptive Wing Estimation"]
    assert [t.name for t in search.search("wing estimation").tasks] == ["Wing Estimation", "Adaptive Wing Estimation"]


def test_title_words_weigh_more_than_abstract_words(db):
    Paper.objects.create(slug="in-abstract", title="A study", abstract="We count quokkas.", published=dt.date(2024, 1, 1))
    Paper.objects.create(slug="in-title", title="Counting quokkas", abstract="A study.", published=dt.date(2020, 1, 1))
    assert paper_slugs("quokkas") == ["in-title", "in-abstract"]


def test_an_exact_title_ranks_first(db):
    Paper.objects.create(slug="longer", title="Heatmap regression for heatmap regression", published=dt.date(2024, 1, 1))
    Paper.objects.create(slug="exact", title="Heatmap regression", published=dt.date(2001, 1, 1))
    assert paper_slugs("heatmap regression")[0] == "exact"


def test_papers_use_websearch_syntax(demo):
    assert AWING in paper_slugs('"face alignment"')
    assert AWING not in paper_slugs('"face alignment" -heatmap')


def more_quokka_papers_than_are_ranked() -> None:
    """PAPER_CANDIDATES + 50 papers whose abstracts match "quokka", with fresh planner statistics."""
    Paper.objects.bulk_create(
        Paper(slug=f"p{i}", title=f"Paper {i}", abstract="A quokka census.", published=dt.date(2020, 1, 1))
        for i in range(search.PAPER_CANDIDATES + 50)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leaderboard_paper")


def test_a_broad_query_ranks_a_bounded_set_and_counts_the_rest(db):
    more_quokka_papers_than_are_ranked()
    hits = search.find_papers("quokka")
    assert len(hits.ids) == search.PAPER_CANDIDATES
    assert hits.total >= search.PAPER_CANDIDATES
    assert hits.estimated == (connection.vendor == "postgresql")
    assert hits.count_text.startswith("about ") == hits.estimated


def test_a_query_whose_estimate_is_planned_in_parallel_is_answered(demo):
    """PostgreSQL may plan the count estimates with parallel workers (seen on the full archive for
    "wflw"): the search still answers, with the estimate of the whole table."""
    more_quokka_papers_than_are_ranked()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
                            "min_parallel_index_scan_size"):
                cursor.execute(f"SET LOCAL {setting} = 0")  # until the test's transaction is rolled back
    hits = search.find_papers("quokka")
    assert len(hits.ids) == search.PAPER_CANDIDATES
    assert hits.total >= search.PAPER_CANDIDATES
    assert AWING in paper_slugs("face alignment")


def test_count_text_rounds_an_estimate(db):
    assert search.PaperHits([1], 381_234, estimated=True).count_text == "about 380,000"
    assert search.PaperHits([1, 2], 2).count_text == "2"


def test_a_section_counts_its_matches(db):
    Method.objects.bulk_create(Method(name=f"Quokka {i}", slug=f"quokka-{i}") for i in range(search.NAME_LIMIT + 3))
    section = search.search("quokka").sections["methods"]
    assert len(section.items) == search.NAME_LIMIT
    assert (section.count, section.count_text) == (search.NAME_LIMIT + 3, str(search.NAME_LIMIT + 3))


def test_a_new_paper_is_found_after_the_write(demo):
    assert search.search("numbat").papers.ids == []
    paper = Paper.objects.create(slug="numbats", title="Numbat tracking")
    assert search.search("numbat").papers.ids == [paper.pk]


@pytest.mark.parametrize("text", ["%", "_", "%%%%", "\\", "a_b%", "' OR 1=1 --", "x\x00y", "🦘" * 300, "or", "-", '"'])
def test_odd_queries_match_only_what_they_say(db, text):
    Task.objects.create(name="Face Alignment", slug="face-alignment")
    Dataset.objects.create(name="WFLW", slug="wflw")
    Model.objects.create(name="AWing")
    found = search.search(text)
    assert found.tasks == [] and found.datasets == [] and found.models == []
    assert len(found.query) <= search.MAX_QUERY_LENGTH and "\x00" not in found.query


def test_clean_drops_control_characters_and_caps_the_length():
    assert search.clean("  face\x00 alignment\x1f ") == "face alignment"
    assert len(search.clean("a" * 1000)) == search.MAX_QUERY_LENGTH


# The page /search/


def test_the_page_shows_every_section_with_its_count(client, demo):
    html = client.get("/search/", {"q": "wflw"}).content.decode()
    for section in ["Papers", "Tasks", "Datasets", "Leaderboards", "Methods", "Models"]:
        assert f">{section} <span class=\"muted\">(" in html
    assert 'href="/dataset/wflw"' in html and 'href="/sota/face-alignment-on-wflw"' in html


def test_a_search_never_says_no_papers_yet(client, demo):
    for text in ["WFLW", "WFW (Extra Data)", "face aligment"]:
        assert "No papers yet" not in client.get("/search/", {"q": text}).content.decode()
    html = client.get("/search/", {"q": "WFW (Extra Data)"}).content.decode()
    assert "No papers match “WFW (Extra Data)”." in html and 'href="/dataset/wflw"' in html


def test_the_page_says_when_nothing_matches_and_suggests_close_names(client, demo):
    html = client.get("/search/", {"q": "qzxvbnmw"}).content.decode()
    assert "Nothing matches “qzxvbnmw”" in html
    html = client.get("/search/", {"q": "face aligment"}).content.decode()
    assert 'Did you mean <a href="/search/?q=Face%20Alignment">Face Alignment</a>?' in html
    assert 'href="/task/face-alignment"' in html


def test_the_page_lists_the_awing_model_with_its_paper(client, demo):
    html = client.get("/search/", {"q": "AWing"}).content.decode()
    assert f'AWing <span class="muted">in</span> <a href="/paper/{AWING}">' in html
    assert '<a href="/sota/face-alignment-on-wflw">WFLW</a>' in html


def test_paper_results_are_paginated(client, db):
    Paper.objects.bulk_create(
        Paper(slug=f"p{i}", title=f"Quokka paper {i}", published=dt.date(2020, 1, 1) + dt.timedelta(days=i))
        for i in range(30)
    )
    first = client.get("/search/", {"q": "quokka"})
    second = client.get("/search/", {"q": "quokka", "page": 2})
    assert first.context["papers"].paginator.count == 30
    shown = [p.slug for p in first.context["papers"]] + [p.slug for p in second.context["papers"]]
    assert len(shown) == 30 and len(set(shown)) == 30
    assert "Page 1 of 2" in first.content.decode()
    assert client.get("/search/", {"q": "quokka", "page": "x"}).status_code == 200

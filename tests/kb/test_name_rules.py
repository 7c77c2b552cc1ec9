"""Name rules (leaderboard.rules.names, rules.slugs): the reproduced defects, then the pure functions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard import services
from leaderboard.importers.base import Slugs, insert_named, unique_slugs
from leaderboard.models import (
    Author,
    Dataset,
    DatasetAlias,
    Model,
    Paper,
    Result,
    Task,
    TaskAlias,
)
from leaderboard.rules import names
from leaderboard.rules.slugs import base_slug, suffixed, unique_slug
from tests.api.conftest import client_for, make_user

SYNC_EXTRA = {
    "task": "Face Alignment", "dataset": "WFLW (Extra Data)", "description": None, "mirror_url": None,
    "external_id": None,
    "metrics": [{"name": "NME (inter-ocular)", "description": "", "is_loss": True}],
    "results": [
        {"metrics": {"NME (inter-ocular)": "3.1"}, "methodology": "Extra Model", "paper": "",
         "uses_additional_data": False, "external_id": "extra-1", "evaluated_on": "2021-01-01",
         "external_source_url": None},
    ],
}


# --- the reproduced defects --------------------------------------------------------------


@pytest.mark.django_db
def test_sync_of_an_extra_data_listing_resolves_to_the_dataset_and_flags_the_row(demo):
    wflw = Dataset.objects.get(name="WFLW")
    datasets = Dataset.objects.count()
    response = client_for(make_user("ann")).post("/api/v1/rpc/evaluation-synchronize/", SYNC_EXTRA, format="json")
    assert response.status_code == 200, response.content
    assert Dataset.objects.count() == datasets and not Dataset.objects.filter(slug="wflw-extra-data").exists()
    alias = DatasetAlias.objects.get(name="WFLW (Extra Data)")
    assert (alias.dataset_id, alias.uses_additional_data) == (wflw.pk, True)
    result = Result.objects.get(external_id="extra-1")
    assert result.dataset_id == wflw.pk and result.uses_additional_data is True
    assert result.dataset_name == "WFLW (Extra Data)"
    again = client_for(User.objects.get(username="ann")).post(
        "/api/v1/rpc/evaluation-synchronize/", SYNC_EXTRA, format="json"
    )
    assert again.json()["results"][0]["id"] == response.json()["results"][0]["id"]
    assert Result.objects.filter(external_id="extra-1").count() == 1
    assert DatasetAlias.objects.filter(name="WFLW (Extra Data)").count() == 1


@pytest.mark.django_db
def test_creating_a_case_variant_of_a_dataset_is_a_conflict_naming_it(demo):
    response = client_for(make_user("ann")).post(
        "/api/v1/datasets/", {"name": "wflw", "full_name": None, "url": None}, format="json"
    )
    assert response.status_code == 409, response.content
    assert "WFLW" in response.json()["error"] and "wflw" in response.json()["error"]
    assert Dataset.objects.filter(name__iexact="wflw").count() == 1


@pytest.mark.django_db
def test_creating_or_renaming_a_task_to_a_variant_name_is_a_conflict(demo):
    api = client_for(make_user("ann"))
    created = api.post("/api/v1/tasks/", {"name": "face-alignment", "description": "", "area": None,
                                          "parent_task": None}, format="json")
    assert created.status_code == 409 and "Face Alignment" in created.json()["error"]
    other = api.post("/api/v1/tasks/", {"name": "Landmark Tracking", "description": "", "area": None,
                                        "parent_task": None}, format="json").json()
    renamed = api.patch(f"/api/v1/tasks/{other['id']}/", {"name": "FACE  ALIGNMENT", "description": None,
                                                           "area": None, "parent_task": None}, format="json")
    assert renamed.status_code == 409 and "face-alignment" in renamed.json()["error"]
    assert Task.objects.get(slug=other["id"]).name == "Landmark Tracking"


@pytest.mark.django_db
def test_services_resolve_variant_names_to_the_existing_rows(demo):
    wflw = Dataset.objects.get(name="WFLW")
    assert services.dataset_named("wflw") == (wflw, False)
    assert services.dataset_named("WFLW (with extra training data)") == (wflw, True)
    assert DatasetAlias.objects.get(name="WFLW (with extra training data)").uses_additional_data
    task = Task.objects.get(name="Face Alignment")
    assert services.task_named("face_alignment") == task
    assert TaskAlias.objects.get(name="face_alignment").task == task


@pytest.mark.django_db
def test_a_model_name_matches_its_unicode_case_variants_in_every_path(db):
    paper = services.save_paper(title="Straße models", url_abs="https://example.org/p")
    first = services.model_for(paper, "STRASSE-Net")
    assert services.model_for(paper, "straße-net") == first
    assert Model.objects.filter(paper=paper).count() == 1


@pytest.mark.django_db
def test_a_cited_paper_is_the_lowest_id_for_its_key(db):
    first = services.save_paper(title="Same title", slug="same-1", published=dt.date(2019, 1, 1))
    services.save_paper(title="Same title", slug="same-2", published=dt.date(2020, 1, 1))
    assert services.paper_for_row("Same title", None, None) == first
    assert Paper.objects.count() == 2


# --- the pure functions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("WFLW", "wflw"), ("300W", "300 w"), ("Face Alignment", "face_alignment"), ("COFW-68", "cofw 68"),
     ("ＷＦＬＷ", "WFLW"), ("Straße", "STRASSE"), ("Ｉｍａｇｅ  Net", "image-net")],
)
def test_variant_spellings_have_one_key(a, b):
    assert names.normalised(a) == names.normalised(b)


def test_different_names_keep_different_keys():
    assert names.normalised("COFW") != names.normalised("COFW-68")
    assert names.normalised("WFLW (Extra Data)") != names.normalised("WFLW")


@pytest.mark.parametrize(
    ("listing", "base"),
    [("WFLW (Extra Data)", "WFLW"), ("WFW (extra data)", "WFW"), ("300W (with extra training data)", "300W"),
     ("COFW  (Extra Training Data)", "COFW"), ("ImageNet [additional data]", "ImageNet"),
     ("WFLW", None), ("Extra Data", None), ("WFLW (Extra)", None), ("WFLW (Extra Data) test", None)],
)
def test_an_extra_data_listing_names_its_dataset(listing, base):
    assert names.extra_data_base(listing) == base


EXACT = {"WFLW": 1, "300W": 2}
ALIASES = {"WFW (Extra Data)": (1, True), "Three Hundred W": (2, False)}
INDEX = names.normalised_index([(1, "WFLW"), (2, "300W"), (3, "wflw")])


@pytest.mark.parametrize(
    ("name", "extra_data", "expected"),
    [
        ("WFLW", True, names.Resolution(1)),
        ("WFW (Extra Data)", True, names.Resolution(1, False, True)),
        ("Three Hundred W", True, names.Resolution(2, False, False)),
        ("WFLW (Extra Data)", True, names.Resolution(1, True, True)),
        ("Three Hundred W (extra data)", True, names.Resolution(2, True, True)),
        ("w-flw (Extra Data)", True, names.Resolution(1, True, True)),
        ("w_flw", True, names.Resolution(1, True, False)),
        ("WFLW (Extra Data)", False, names.Resolution(None)),
        ("COFW (Extra Data)", True, names.Resolution(None)),
        ("COFW", True, names.Resolution(None)),
    ],
)
def test_the_resolver_decides_existing_alias_or_new(name, extra_data, expected):
    assert names.resolve(name, EXACT, ALIASES, INDEX, extra_data=extra_data) == expected


def test_the_normalised_index_keeps_the_first_row_of_a_key():
    assert INDEX == {"wflw": 1, "300w": 2}


def test_case_variants_within_a_paper_are_one_model():
    models = [(4, "AWing"), (7, "AWing+"), (9, "awing")]
    assert names.first_model(models, "Awing") == 4
    assert names.first_model(models, "AWING+") == 7
    assert names.first_model(models, "A Wing") is None


def test_a_cited_paper_is_matched_by_arxiv_id_then_url_then_title():
    url = "https://arxiv.org/abs/1904.07399v3"
    keys = names.paper_match_keys(url, "AWing", "1904.07399")
    assert keys == [("arxiv_id", "1904.07399"), ("url_abs", url), ("title", "AWing")]
    assert names.paper_match_keys(None, None, None) == []
    table = {("url_abs", url): "by url", ("title", "AWing"): "by title"}
    assert names.match_paper(keys, lambda field, value: table.get((field, value))) == "by url"
    assert names.match_paper(keys[2:], lambda field, value: table.get((field, value))) == "by title"
    assert names.match_paper(keys, lambda field, value: None) is None


def test_slugs_are_cut_at_a_word_and_numbered_when_taken():
    assert base_slug("Face Alignment on WFLW") == "face-alignment-on-wflw"
    assert base_slug("A very long title indeed", 13) == "a-very-long"
    assert base_slug("!!!") == "item"
    assert [suffixed("wflw", n) for n in (1, 2, 3)] == ["wflw", "wflw-2", "wflw-3"]
    assert unique_slug("WFLW", {"wflw", "wflw-2"}) == "wflw-3"


def _django_base_slug(text: str, max_length: int) -> str:
    """The rule as written before the ASCII fast path: django's slugify, cut at a word boundary."""
    full = slugify(text)
    base = full[:max_length].strip("-")
    if len(full) > max_length and "-" in base:
        base = base.rsplit("-", 1)[0]
    return base or "item"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40), st.integers(1, 30))
def test_the_ascii_fast_path_gives_django_slugify_output(text, max_length):
    assert base_slug(text, max_length) == _django_base_slug(text, max_length)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30), st.integers(1, 30))
def test_any_text_gets_django_slugify_output(text, max_length):
    assert base_slug(text, max_length) == _django_base_slug(text, max_length)


WORDS = st.lists(st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(WORDS, st.sampled_from(["", " ", "  ", "-", "_", " - ", "\u00a0"]), st.sampled_from([str.upper, str.lower,
                                                                                             str.title]))
def test_spacing_and_case_never_make_a_new_name(words, separator, case):
    name = " ".join(words)
    assert names.normalised(case(separator.join(words))) == names.normalised(case(name)) == names.normalised(
        case(name).casefold()
    )


SLUG_TEXTS = st.sampled_from(
    ["WFLW", "wflw", "W FLW", "W-FLW 2", "Straße", "strasse", "!!!", "", "a 2", "A", "ＷＦＬＷ", "Ünïcödé", "x " * 40]
) | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)  # text a database stores


class Either:
    """Slugs taken in any of several places (`slug in Either(table, given_out)`)."""

    def __init__(self, *places):
        self.places = places

    def __contains__(self, slug: str) -> bool:
        return any(slug in place for place in self.places)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(SLUG_TEXTS, max_size=6))
def test_the_importers_slug_helpers_give_the_services_slugs(db, texts):
    """Slugs.make (in-memory set), unique_slugs (one query a round) and insert_named
    (INSERT … ON CONFLICT a round) take the same candidates as services' unique_slug."""
    point = transaction.savepoint()
    try:
        for slug in ("wflw", "a-2", "item"):
            Paper.objects.create(title=slug, slug=slug)
            Author.objects.create(name=slug, slug=slug)
        given_out: list[str] = []
        for text in texts:
            given_out.append(unique_slug(text, Either(services.slug_taken(Paper), given_out), 60))
        assert unique_slugs(Paper, texts, set()) == given_out
        in_memory = Slugs(Paper)
        assert [in_memory.make(text) for text in texts] == given_out
        distinct = list(dict.fromkeys(texts))
        authors: list[str] = []
        for text in distinct:
            authors.append(unique_slug(text, Either(services.slug_taken(Author), authors)))
        ids = insert_named(Author, distinct)
        assert [Author.objects.get(pk=ids[text]).slug for text in distinct] == authors
    finally:
        transaction.savepoint_rollback(point)


@pytest.mark.django_db
def test_the_datasets_catalogue_resolves_spellings_and_flags_extra_data_variants(tmp_path):
    from leaderboard.importers import Rejects, import_records

    services.dataset_named("WFLW")

    def record(name, slug, variants=()):
        return {"url": f"https://paperswithcode.com/dataset/{slug}", "name": name, "full_name": name,
                "variants": list(variants), "tasks": []}

    rejects = Rejects(tmp_path / "rejects.jsonl")
    import_records(
        [record("wflw", "wflw-2", ["WFLW (Extra Data)"]), record("Menpo", "menpo"), record("MENPO", "menpo-2")],
        "datasets",
        rejects=rejects,
    )
    rejects.close()
    assert sorted(Dataset.objects.values_list("name", flat=True)) == ["Menpo", "WFLW"]
    assert sorted(DatasetAlias.objects.values_list("name", "dataset__name", "uses_additional_data")) == [
        ("MENPO", "Menpo", False), ("WFLW (Extra Data)", "WFLW", True), ("wflw", "WFLW", False)
    ]
    assert services.dataset_named("WFLW (Extra Data)") == (Dataset.objects.get(name="WFLW"), True)


@pytest.mark.django_db
def test_a_papers_method_spelled_another_way_is_that_method(tmp_path):
    from leaderboard.importers import Rejects, import_records
    from leaderboard.models import Method

    Method.objects.create(name="ReLU", slug="relu")
    rejects = Rejects(tmp_path / "rejects.jsonl")
    import_records(
        [
            {"paper_url": "https://paperswithcode.com/paper/one", "title": "One", "authors": [],
             "methods": [{"name": "relu"}, {"name": "Batch Norm"}, {"name": "batch-norm"}]},
            {"paper_url": "https://paperswithcode.com/paper/two", "title": "Two", "authors": [],
             "methods": [{"name": "BATCH NORM"}, {"name": "ＲｅＬＵ"}]},
        ],
        "papers-with-abstracts",
        rejects=rejects,
    )
    rejects.close()
    assert sorted(Method.objects.values_list("name", flat=True)) == ["Batch Norm", "ReLU"]
    for slug in ("one", "two"):
        paper = Paper.objects.get(slug=slug)
        assert sorted(paper.methods.values_list("name", flat=True)) == ["Batch Norm", "ReLU"]

"""methods and datasets: small catalogues (thousands of records), natural key = PWC URL slug, then name."""

from __future__ import annotations

import datetime as dt

from leaderboard.importers.base import (
    Slugs,
    insert_ignoring_duplicates,
    select_in,
    update_rows,
)
from leaderboard.importers.papers import _Batched, _text, slug_from_url
from leaderboard.importers.registry import Datasets, Tasks
from leaderboard.models import Dataset, DatasetAlias, Method, Paper
from leaderboard.rules import names


def _paper_ids(refs: list[object]) -> list[int | None]:
    """The paper each {"title", "url"} reference names, when it is in the knowledge base:
    by URL slug, else the first paper of that title (two queries for all)."""
    slugs = [slug_from_url(r.get("url")) if isinstance(r, dict) else None for r in refs]
    titles = [
        r["title"] if isinstance(r, dict) and isinstance(r.get("title"), str) else None
        for r in refs
    ]
    table = Paper._meta.db_table
    by_slug = dict(select_in(table, ["slug", "id"], "slug", set(slugs) - {None, ""}))
    wanted = {t for s, t in zip(slugs, titles) if t and by_slug.get(s) is None}
    by_title = {}
    for pk, title in sorted(
        select_in(table, ["id", "title"], "title", wanted), reverse=True
    ):
        by_title[title] = pk  # the lowest id wins
    return [by_slug.get(s) or by_title.get(t) for s, t in zip(slugs, titles)]


def _papers_of(batch: list[tuple[int, dict]]) -> dict[int, int | None]:
    """record index -> id of the paper the record's "paper" reference names."""
    ids = _paper_ids([record.get("paper") for _, record in batch])
    return dict(zip((index for index, _ in batch), ids))


def _apply(obj, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return bool(changed)


_METHOD_FIELDS = (
    "name",
    "full_name",
    "description",
    "paper",
    "introduced_year",
    "source_url",
    "source_title",
    "code_snippet_url",
    "collections",
)


class MethodsImporter(_Batched):
    kind = "methods"

    def __init__(self, stats, rejects, source):
        super().__init__(stats, rejects, source)
        self.slugs = Slugs(Method)

    def save(self, batch) -> None:
        by_slug = {m.slug: m for m in Method.objects.all()}
        by_name = {}
        for method in sorted(by_slug.values(), key=lambda m: m.pk, reverse=True):
            by_name[method.name] = method
        papers = _papers_of(batch)
        new, changed = [], {}
        for index, record in batch:
            name = record.get("name")
            if not isinstance(name, str) or not name.strip():
                self.reject(record, index, "method without a name")
                continue
            slug = slug_from_url(record.get("url"))
            method = by_slug.get(slug) or by_name.get(name)
            year = record.get("introduced_year")
            values = {
                "name": name[:300],
                "full_name": _text(record.get("full_name"), 500),
                "description": _text(record.get("description"), 10**6),
                "paper_id": papers[index],
                "introduced_year": year
                if isinstance(year, int) and year >= 0
                else None,
                "source_url": _text(record.get("source_url"), 1000),
                "source_title": _text(record.get("source_title"), 500),
                "code_snippet_url": _text(record.get("code_snippet_url"), 1000),
                "collections": record.get("collections")
                if isinstance(record.get("collections"), list)
                else [],
            }
            if method is None:
                method = Method(
                    slug=slug
                    if slug and self.slugs.claim(slug)
                    else self.slugs.make(name),
                    **values,
                )
                new.append(method)
                by_slug[method.slug] = by_name[name] = method
                self.stats.created += 1
            elif _apply(method, values):
                if method.pk is not None:  # else it is new in this batch: saved below
                    changed[method.pk] = method
                self.stats.updated += 1
            else:
                self.stats.unchanged += 1
        Method.objects.bulk_create(new)
        update_rows(Method, list(changed.values()), _METHOD_FIELDS)


_DATASET_FIELDS = (
    "full_name",
    "description",
    "homepage",
    "introduced_date",
    "paper",
    "modalities",
    "languages",
)


class DatasetsImporter(_Batched):
    kind = "datasets"

    def __init__(self, stats, rejects, source):
        super().__init__(stats, rejects, source)
        self.names = Datasets()
        self.tasks = Tasks()

    def save(self, batch) -> None:
        """A batch in two passes: its datasets (created in one statement), then their aliases and tasks."""
        roots = list(Dataset.objects.filter(parent__isnull=True))
        by_slug = {d.slug: d for d in roots}
        by_name = {d.name: d for d in roots}
        by_pk = {d.pk: d for d in roots}
        papers = _papers_of(batch)
        # A variant that becomes an alias in this batch: a later record of that name is that dataset.
        pending: dict[str, Dataset] = {}
        placed, new, changed = [], [], {}
        new_spellings: dict[str, Dataset] = {}  # normalised name -> dataset new in this batch
        spellings = []  # (index, record, dataset, a spelling of its name the record uses)
        for index, record in batch:
            name = record.get("name")
            if not isinstance(name, str) or not name.strip():
                self.reject(record, index, "dataset without a name")
                continue
            slug = slug_from_url(record.get("url"))
            dataset = by_slug.get(slug) or by_name.get(name) or pending.get(name)
            if dataset is None:
                # An alias, or another spelling of a dataset (rules.names.resolve): that dataset,
                # and the spelling becomes an alias of it; or another spelling of one new here.
                found = names.resolve(
                    name, self.names.ids, self.names.aliases, self.names.normalised
                )
                if found.id is not None:
                    dataset = by_pk.get(found.id) or Dataset.objects.get(pk=found.id)
                else:
                    dataset = new_spellings.get(names.normalised(name))
                if dataset is not None and name != dataset.name:
                    spellings.append((index, record, dataset, name))
            values = {
                "full_name": _text(record.get("full_name"), 500),
                "description": _text(record.get("description"), 10**6),
                "homepage": _text(record.get("homepage"), 1000),
                "introduced_date": _introduced(record.get("introduced_date")),
                "paper_id": papers[index],
                "modalities": [
                    m for m in record.get("modalities") or [] if isinstance(m, str)
                ],
                "languages": [
                    m for m in record.get("languages") or [] if isinstance(m, str)
                ],
            }
            if dataset is None:
                slug = (
                    slug
                    if slug and self.names.slugs.claim(slug)
                    else self.names.slugs.make(name)
                )
                dataset = Dataset(name=name[:300], slug=slug, **values)
                new.append(dataset)
                new_spellings.setdefault(names.normalised(dataset.name), dataset)
                by_slug[slug] = by_name[name] = dataset
                self.stats.created += 1
            elif _apply(dataset, values):
                if dataset.pk is not None:  # else it is new in this batch: created below
                    changed[dataset.pk] = dataset
                self.stats.updated += 1
            else:
                self.stats.unchanged += 1
            placed.append((index, record, dataset))
            for variant in record.get("variants") or []:
                if (
                    isinstance(variant, str)
                    and variant
                    and variant != dataset.name
                    and variant not in self.names.aliases
                    and variant not in self.names.ids
                    and variant not in by_name
                ):
                    pending.setdefault(variant, dataset)
        Dataset.objects.bulk_create(new)
        for dataset in new:
            self.names.ids[dataset.name] = dataset.pk
            self.names.name_of[dataset.pk] = dataset.name
            self.names.normalised.setdefault(names.normalised(dataset.name), dataset.pk)
        update_rows(Dataset, list(changed.values()), _DATASET_FIELDS)
        aliases, task_links = [], []
        for index, record, dataset, spelling in spellings:
            alias = self.variant(dataset, spelling, index, record)
            if alias is not None:
                aliases.append(alias)
                self.rejects.add(
                    self.source,
                    f"record #{index}",
                    f"{spelling!r} is a spelling of dataset #{dataset.pk} {dataset.name!r}; "
                    "imported into it, the spelling kept as an alias",
                    record,
                    action="imported",
                )
        for index, record, dataset in placed:
            for variant in record.get("variants") or []:
                alias = self.variant(dataset, variant, index, record)
                if alias is not None:
                    aliases.append(alias)
            for task in record.get("tasks") or []:
                task_name = task.get("task") if isinstance(task, dict) else task
                if isinstance(task_name, str) and task_name:
                    task_links.append((dataset.pk, self.tasks.id_for(task_name[:300])))
        DatasetAlias.objects.bulk_create(aliases)
        insert_ignoring_duplicates(
            Dataset.tasks.through._meta.db_table, ["dataset_id", "task_id"], task_links
        )

    def variant(
        self, dataset: Dataset, variant: object, index: int, record: dict
    ) -> DatasetAlias | None:
        """A leaderboard name of this dataset becomes an alias of it, unless it names another dataset."""
        if not isinstance(variant, str) or not variant or variant == dataset.name:
            return None
        known = self.names.aliases.get(variant)
        if known is not None:
            if known[0] != dataset.pk:
                self.rejects.add(
                    self.source,
                    f"record #{index}",
                    f"variant {variant!r} is already an alias of dataset #{known[0]}; kept there",
                    record,
                    action="imported",
                )
            return None
        other = self.names.ids.get(variant)
        if other is not None:
            self.rejects.add(
                self.source,
                f"record #{index}",
                f"variant {variant!r} is a dataset of its own (#{other}); not merged",
                record,
                action="imported",
            )
            return None
        extra = names.extra_data_base(variant) is not None  # "WFLW (Extra Data)"
        self.names.aliases[variant] = (dataset.pk, extra)
        return DatasetAlias(
            name=variant[:300], dataset_id=dataset.pk, uses_additional_data=extra
        )


def _introduced(value: object) -> dt.date | None:
    if isinstance(value, int):
        return dt.date(value, 1, 1) if 1 <= value <= 9999 else None
    if isinstance(value, str) and value:
        text = value[:10]
        try:
            return (
                dt.date.fromisoformat(text)
                if len(text) == 10
                else dt.date(int(text[:4]), 1, 1)
            )
        except ValueError:
            return None
    return None

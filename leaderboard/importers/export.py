"""Write the knowledge base back as the five archive dumps, in the same schema.

The output is canonical (records in id order, keys sorted, tasks by name), so
importing an export into an empty database and exporting again gives
identical files.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

from leaderboard.models import (
    Dataset,
    DatasetAlias,
    Leaderboard,
    LeaderboardMetric,
    Method,
    MetricValue,
    Paper,
    PaperAuthor,
    PaperRepository,
    ResultTask,
    Task,
    TaskAlias,
)

SITE = "https://paperswithcode.com"
CHUNK = 2000


class _Writer:
    """A JSON array written one record per line, plain or gzipped (reproducibly: no timestamp)."""

    def __init__(self, path: Path, gzipped: bool):
        self.path = path.with_name(path.name + ".gz") if gzipped else path
        raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self.raw = raw
        self.out = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
            if gzipped
            else raw
        )
        self.count = 0
        self.out.write(b"[")

    def add(self, record: dict) -> None:
        text = json.dumps(record, sort_keys=True, ensure_ascii=False)
        self.out.write((",\n" if self.count else "\n").encode() + text.encode())
        self.count += 1

    def close(self) -> None:
        self.out.write(b"\n]\n")
        self.out.close()
        if self.out is not self.raw:
            self.raw.close()


def export_archive(outdir: Path | str, gzipped: bool = False) -> dict[str, int]:
    """Write the five dump files into `outdir`; returns the number of records in each."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for kind, records in (
        ("papers-with-abstracts", _papers()),
        ("links-between-papers-and-code", _links()),
        ("evaluation-tables", _tables()),
        ("methods", _methods()),
        ("datasets", _datasets()),
    ):
        writer = _Writer(outdir / f"{kind}.json", gzipped)
        for record in records:
            writer.add(record)
        writer.close()
        counts[kind] = writer.count
    return counts


def _chunks(queryset):
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def _paper_ref(paper: Paper | None) -> dict | None:
    return (
        {"title": paper.title, "url": f"{SITE}/paper/{paper.slug}"} if paper else None
    )


def _method(method: Method) -> dict:
    collection = (
        method.collections[0]
        if method.collections and isinstance(method.collections[0], dict)
        else None
    )
    main = None
    if collection is not None:
        main = {
            "name": collection.get("name", collection.get("collection")),
            "description": collection.get("description", ""),
            "parent": collection.get("parent"),
            "area": collection.get("area"),
        }
    return {
        "name": method.name,
        "full_name": method.full_name,
        "description": method.description,
        "introduced_year": method.introduced_year,
        "source_url": method.source_url,
        "source_title": method.source_title,
        "code_snippet_url": method.code_snippet_url or None,
        "main_collection": main,
    }


def _papers():
    for chunk in _chunks(Paper.objects.all()):
        ids = [p.pk for p in chunk]
        authors, tasks, methods = (
            defaultdict(list),
            defaultdict(list),
            defaultdict(list),
        )
        for paper_id, name in (
            PaperAuthor.objects.filter(paper_id__in=ids)
            .order_by("paper_id", "position")
            .values_list("paper_id", "author__name")
        ):
            authors[paper_id].append(name)
        through = Paper.tasks.through.objects.filter(paper_id__in=ids).order_by("id")
        for paper_id, name in through.values_list("paper_id", "task__name"):
            tasks[paper_id].append(name)
        for link in (
            Paper.methods.through.objects.filter(paper_id__in=ids)
            .order_by("id")
            .select_related("method")
        ):
            methods[link.paper_id].append(_method(link.method))
        for paper in chunk:
            yield {
                "paper_url": f"{SITE}/paper/{paper.slug}",
                "arxiv_id": paper.arxiv_id,
                "nips_id": None,
                "openreview_id": None,
                "title": paper.title,
                "abstract": paper.abstract,
                "short_abstract": None,
                "url_abs": paper.url_abs,
                "url_pdf": paper.url_pdf,
                "proceeding": paper.proceeding_text or None,
                "authors": authors[paper.pk],
                "tasks": tasks[paper.pk],
                "date": paper.published.isoformat() if paper.published else None,
                "conference_url_abs": paper.conference_url_abs or None,
                "conference_url_pdf": paper.conference_url_pdf or None,
                "conference": None,
                "reproduces_paper": None,
                "methods": methods[paper.pk],
            }


def _links():
    for chunk in _chunks(PaperRepository.objects.select_related("paper", "repository")):
        for link in chunk:
            paper, repo = link.paper, link.repository
            yield {
                "paper_url": f"{SITE}/paper/{paper.slug}",
                "paper_title": paper.title,
                "paper_arxiv_id": paper.arxiv_id,
                "paper_url_abs": paper.url_abs,
                "paper_url_pdf": paper.url_pdf,
                "repo_url": repo.url,
                "is_official": link.is_official,
                "mentioned_in_paper": link.mentioned_in_paper,
                "mentioned_in_github": link.mentioned_in_github,
                "framework": repo.framework or "none",
            }


def _methods():
    for chunk in _chunks(Method.objects.select_related("paper")):
        for method in chunk:
            yield {
                "url": f"{SITE}/method/{method.slug}",
                "name": method.name,
                "full_name": method.full_name,
                "description": method.description,
                "paper": _paper_ref(method.paper),
                "introduced_year": method.introduced_year,
                "source_url": method.source_url,
                "source_title": method.source_title,
                "code_snippet_url": method.code_snippet_url or None,
                "num_papers": 0,
                "collections": method.collections,
            }


def _datasets():
    aliases = defaultdict(list)
    for dataset_id, name in DatasetAlias.objects.order_by("name").values_list(
        "dataset_id", "name"
    ):
        aliases[dataset_id].append(name)
    for chunk in _chunks(
        Dataset.objects.filter(parent__isnull=True).select_related("paper")
    ):
        tasks = defaultdict(list)
        links = Dataset.tasks.through.objects.filter(
            dataset_id__in=[d.pk for d in chunk]
        ).order_by("id")
        for dataset_id, name, slug in links.values_list(
            "dataset_id", "task__name", "task__slug"
        ):
            tasks[dataset_id].append({"task": name, "url": f"{SITE}/task/{slug}"})
        for dataset in chunk:
            yield {
                "url": f"{SITE}/dataset/{dataset.slug}",
                "name": dataset.name,
                "full_name": dataset.full_name,
                "homepage": dataset.homepage,
                "description": dataset.description,
                "paper": _paper_ref(dataset.paper),
                "introduced_date": dataset.introduced_date.isoformat()
                if dataset.introduced_date
                else None,
                "modalities": dataset.modalities,
                "tasks": tasks[dataset.pk],
                "languages": dataset.languages,
                "variants": aliases[dataset.pk],
                "num_papers": 0,
                "data_loaders": [],
            }


# --- evaluation-tables -------------------------------------------------------------------


class _Graph:
    def __init__(self):
        self.tasks = {t.pk: t for t in Task.objects.all()}
        self.children, self.has_parent = defaultdict(list), set()
        for child, parent in Task.parents.through.objects.values_list(
            "from_task_id", "to_task_id"
        ):
            self.children[parent].append(child)
            self.has_parent.add(child)
        for ids in self.children.values():
            ids.sort(key=lambda pk: self.tasks[pk].name)
        self.areas, self.synonyms = defaultdict(list), defaultdict(list)
        for task_id, name in Task.areas.through.objects.values_list(
            "task_id", "area__name"
        ):
            self.areas[task_id].append(name)
        for task_id, name in TaskAlias.objects.values_list("task_id", "name"):
            self.synonyms[task_id].append(name)
        self.boarded = set(Leaderboard.objects.values_list("task_id", flat=True))

    def entry(self, task_id: int, datasets: list, path: frozenset) -> dict:
        task = self.tasks[task_id]
        path = path | {task_id}
        return {
            "task": task.name,
            "description": task.description,
            "categories": sorted(self.areas[task_id]),
            "synonyms": sorted(self.synonyms[task_id]),
            "source_link": task.source_link,
            "datasets": datasets,
            "subtasks": [
                self.entry(c, [], path) for c in self.children[task_id] if c not in path
            ],
        }


def _tables():
    graph = _Graph()
    roots = [
        pk for pk in graph.tasks if pk not in graph.has_parent or pk in graph.boarded
    ]
    for task_id in sorted(roots, key=lambda pk: graph.tasks[pk].name):
        yield graph.entry(task_id, _task_datasets(task_id), frozenset())


def _task_datasets(task_id: int) -> list[dict]:
    boards = list(
        Leaderboard.objects.filter(task_id=task_id)
        .select_related("dataset__parent")
        .order_by("id")
    )
    if not boards:
        return []
    columns = defaultdict(list)
    for board_id, name in (
        LeaderboardMetric.objects.filter(leaderboard__in=boards)
        .order_by("position")
        .values_list("leaderboard_id", "metric__name")
    ):
        columns[board_id].append(name)
    listings = (
        ResultTask.objects.filter(task_id=task_id, via_category=False)
        .select_related("result")
        .order_by("id")
    )
    results_by_dataset = defaultdict(list)
    for listing in listings:
        results_by_dataset[listing.result.dataset_id].append(listing.result)
    values = defaultdict(dict)
    result_ids = [r.pk for rs in results_by_dataset.values() for r in rs]
    for start in range(0, len(result_ids), 5000):
        chunk = result_ids[start : start + 5000]
        for result_id, name, raw in MetricValue.objects.filter(
            result_id__in=chunk
        ).values_list("result_id", "metric__name", "raw"):
            values[result_id][name] = raw
    entries: dict[str, dict] = {}
    for board in boards:
        dataset, names = board.dataset, columns[board.pk]
        by_listing = defaultdict(list)
        for result in results_by_dataset[dataset.pk]:
            by_listing[result.dataset_name].append(result)
        if dataset.parent_id:
            parent = entries.setdefault(
                dataset.parent.name, _dataset_entry("dataset", dataset.parent.name)
            )
            sub = _dataset_entry("subdataset", dataset.variant, board, names)
            sub["sota"]["rows"] = [
                _row(r, values[r.pk], names) for rs in by_listing.values() for r in rs
            ]
            parent["subdatasets"].append(sub)
            continue
        for listing in list(by_listing) or [dataset.name]:
            entry = entries.setdefault(listing, _dataset_entry("dataset", listing))
            entry.update(
                _dataset_entry("dataset", listing, board, names, entry["subdatasets"])
            )
            entry["sota"]["rows"] = [
                _row(r, values[r.pk], names) for r in by_listing.get(listing, [])
            ]
    return list(entries.values())


def _dataset_entry(
    key: str, name: str, board=None, metrics=(), subdatasets=None
) -> dict:
    return {
        key: name,
        "description": board.description if board else "",
        "dataset_links": board.dataset_links if board else [],
        "dataset_citations": board.dataset_citations if board else [],
        "sota": {"metrics": list(metrics), "rows": []},
        "subdatasets": subdatasets if subdatasets is not None else [],
    }


def _row(result, values: dict, columns: list[str]) -> dict:
    return {
        "model_name": result.model_name,
        "paper_title": result.listed_paper_title,
        "paper_url": result.listed_paper_url,
        "paper_date": result.evaluated_on.isoformat() if result.evaluated_on else None,
        "code_links": result.code_links,
        "model_links": result.model_links,
        "metrics": {name: values[name] for name in columns if name in values},
        "uses_additional_data": result.uses_additional_data,
    }

"""Writes with domain rules: find-or-create by natural keys, record results once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import transaction

from leaderboard import cache
from leaderboard.models import (
    Area,
    Author,
    Conference,
    Dataset,
    DatasetAlias,
    Leaderboard,
    LeaderboardMetric,
    Method,
    Metric,
    MetricValue,
    Model,
    Paper,
    PaperAuthor,
    PaperRepository,
    Proceeding,
    Repository,
    Result,
    ResultTask,
    Task,
    TaskAlias,
)
from leaderboard.rules import names
from leaderboard.rules.columns import primary_metric
from leaderboard.rules.listing import categories_above, listed_under
from leaderboard.rules.papers import arxiv_id_from_url, split_proceeding
from leaderboard.rules.slugs import max_length as slug_length
from leaderboard.rules.slugs import unique_slug
from leaderboard.rules.values import default_higher_is_better, stored_value


def area_named(name: str) -> Area:
    area = Area.objects.filter(name=name).first()
    if area is None:
        area = Area.objects.create(name=name, slug=new_slug(Area, name))
    return area


def task_named(name: str, description: str = "") -> Task:
    """The task called `name`, one of its aliases or a variant spelling (rules.names.resolve), created when unknown.

    A variant spelling ("face_alignment") becomes an alias of the task, as the importer records it.
    """
    found = task_resolution(name)
    if found.id is None:
        return Task.objects.create(name=name, slug=new_slug(Task, name), description=description)
    if found.new_alias:
        TaskAlias.objects.create(name=name, task_id=found.id)
    return Task.objects.get(pk=found.id)


def task_resolution(name: str) -> names.Resolution:
    """Where `name` leads among the tasks and their aliases (rules.names.resolve); writes nothing."""
    exact = dict(Task.objects.filter(name=name).values_list("name", "id"))
    aliases = {n: (pk, False) for n, pk in TaskAlias.objects.filter(name=name).values_list("name", "task_id")}
    return names.resolve(name, exact, aliases, _NormalisedNames(Task.objects.all()))


def method_resolution(name: str) -> names.Resolution:
    """Where `name` leads among the methods (rules.names.resolve; methods have no aliases); writes nothing."""
    exact = dict(Method.objects.filter(name=name).order_by("-id").values_list("name", "id"))
    return names.resolve(name, exact, {}, _NormalisedNames(Method.objects.all()))


class _NormalisedNames:
    """rules.names.normalised_index of a queryset's (id, name), read only when a name is not found exactly."""

    def __init__(self, queryset):
        self.queryset, self.index = queryset, None

    def get(self, key: str) -> int | None:
        if self.index is None:
            self.index = names.normalised_index(self.queryset.order_by("id").values_list("id", "name").iterator())
        return self.index.get(key)


def add_task_parents(task: Task, parents: Iterable[Task]) -> None:
    task.parents.add(*[p for p in parents if p.pk != task.pk])


def edges_above(task_id: int) -> list[tuple[int, int]]:
    """The (child, parent) links of the task graph above a task, one query a level."""
    through = Task.parents.through
    edges, frontier, reached = [], {task_id}, {task_id}
    while frontier:
        links = list(through.objects.filter(from_task_id__in=frontier).values_list("from_task_id", "to_task_id"))
        edges += links
        frontier = {parent for _, parent in links} - reached
        reached |= frontier
    return edges


def ancestors(task: Task) -> list[Task]:
    """Every category above `task` in the task graph (cycles are tolerated)."""
    above = categories_above(edges_above(task.pk)).get(task.pk, set())
    return list(Task.objects.filter(pk__in=above)) if above else []


def dataset_named(name: str) -> tuple[Dataset, bool]:
    """(canonical dataset, whether the listing name implies extra training data), created when unknown.

    The importer's rule (rules.names.resolve): "WFLW (Extra Data)" and variant spellings
    ("wflw") become aliases of WFLW, the first flagged as extra training data.
    """
    found = dataset_resolution(name)
    if found.id is None:
        return Dataset.objects.create(name=name, slug=new_slug(Dataset, name)), False
    if found.new_alias:
        DatasetAlias.objects.create(name=name, dataset_id=found.id, uses_additional_data=found.extra)
    return Dataset.objects.get(pk=found.id), found.extra


def dataset_resolution(name: str) -> names.Resolution:
    """Where a dataset listing name leads (rules.names.resolve); writes nothing."""
    wanted = [name]
    base = names.extra_data_base(name)
    if base is not None:
        wanted.append(base)
    exact = dict(Dataset.objects.filter(name__in=wanted).values_list("name", "id"))
    aliases = {
        n: (pk, extra)
        for n, pk, extra in DatasetAlias.objects.filter(name__in=wanted).values_list(
            "name", "dataset_id", "uses_additional_data"
        )
    }
    roots = _NormalisedNames(Dataset.objects.filter(parent__isnull=True))
    return names.resolve(name, exact, aliases, roots, extra_data=True)


def add_dataset_alias(dataset: Dataset, name: str, uses_additional_data: bool = False) -> DatasetAlias:
    alias, _ = DatasetAlias.objects.get_or_create(
        name=name, defaults={"dataset": dataset, "uses_additional_data": uses_additional_data}
    )
    return alias


def metric_named(name: str) -> Metric:
    metric = Metric.objects.filter(name=name).first()
    if metric is None:
        metric = Metric.objects.create(name=name, higher_is_better=default_higher_is_better(name))
    return metric


def leaderboard_for(task: Task, dataset: Dataset, metric_names: Iterable[str] = ()) -> Leaderboard:
    """The (task, dataset) leaderboard; new metric columns are appended in order."""
    board = Leaderboard.objects.filter(task=task, dataset=dataset).first()
    if board is None:
        board = Leaderboard.objects.create(
            task=task, dataset=dataset, slug=new_slug(Leaderboard, f"{task.slug}-on-{dataset.slug}")
        )
    columns = dict(board.columns.order_by("position").values_list("metric__name", "metric_id"))
    for name in metric_names:
        if name in columns:
            continue
        metric = metric_named(name)
        LeaderboardMetric.objects.create(leaderboard=board, metric=metric, position=len(columns))
        columns[name] = metric.pk
    if columns:
        primary = primary_metric(board.primary_metric_id, list(columns.values()))
        if primary != board.primary_metric_id:
            board.primary_metric_id = primary
            board.save(update_fields=["primary_metric"])
    return board


def author_named(name: str) -> Author:
    author = Author.objects.filter(name=name).order_by("id").first()
    if author is None:
        author = Author.objects.create(name=name, slug=new_slug(Author, name))
    return author


def proceeding_named(text: str | None) -> Proceeding | None:
    parts = split_proceeding(text)
    if parts is None:
        return None
    conference_name, year, name = parts
    proceeding = Proceeding.objects.filter(name=name).first()
    if proceeding is None:
        conference = Conference.objects.filter(name=conference_name).first() or Conference.objects.create(
            name=conference_name, slug=new_slug(Conference, conference_name)
        )
        proceeding = Proceeding.objects.create(
            conference=conference, year=year, name=name, slug=new_slug(Proceeding, name)
        )
    return proceeding


@transaction.atomic
def save_paper(
    *,
    title: str,
    slug: str | None = None,
    arxiv_id: str | None = None,
    abstract: str = "",
    published: dt.date | None = None,
    url_abs: str = "",
    url_pdf: str = "",
    proceeding: str | None = None,
    authors: Iterable[str] = (),
    tasks: Iterable[str] = (),
) -> Paper:
    """Create or update a paper by its natural keys (slug, then arXiv id)."""
    paper = None
    if slug:
        paper = Paper.objects.filter(slug=slug).first()
    if paper is None and arxiv_id:
        paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper is None:
        paper = Paper(slug=slug or new_slug(Paper, title))
    paper.title = title
    paper.arxiv_id = arxiv_id or paper.arxiv_id
    paper.abstract = abstract or paper.abstract
    paper.published = published or paper.published
    paper.url_abs = url_abs or paper.url_abs
    paper.url_pdf = url_pdf or paper.url_pdf
    if proceeding:
        paper.proceeding_text = proceeding
        paper.proceeding = proceeding_named(proceeding)
    paper.save()
    author_list = list(authors)
    if author_list:
        paper.authorships.all().delete()
        PaperAuthor.objects.bulk_create(
            PaperAuthor(paper=paper, author=author_named(name), position=i) for i, name in enumerate(author_list)
        )
    task_list = [task_named(name) for name in tasks]
    if task_list:
        paper.tasks.add(*task_list)
    return paper


def cited_paper(url: str | None, title: str | None, arxiv_id: str | None = None) -> Paper | None:
    """The paper a reference cites, by the importer's rule (rules.names.paper_match_keys):
    arXiv id, then abstract URL, then exact title; the lowest id for a key. None if none."""
    arxiv_id = arxiv_id or arxiv_id_from_url(url)
    keys = names.paper_match_keys(url, title, arxiv_id)
    return names.match_paper(keys, lambda field, value: Paper.objects.filter(**{field: value}).order_by("id").first())


def paper_for_row(title: str | None, url: str | None, date: dt.date | None) -> Paper | None:
    """The paper a leaderboard row cites (cited_paper); a new one when none matches."""
    arxiv_id = arxiv_id_from_url(url)
    paper = cited_paper(url, title, arxiv_id)
    if paper is None and (title or url):
        paper = save_paper(title=title or url or "", arxiv_id=arxiv_id, published=date, url_abs=url or "")
    return paper


def link_repository(paper: Paper, url: str, *, is_official: bool = False, framework: str = "", stars: int = 0):
    owner, _, name = url.rstrip("/").split("github.com/")[-1].partition("/")
    repo, _ = Repository.objects.get_or_create(
        url=url, defaults={"owner": owner, "name": name, "framework": framework, "stars": stars}
    )
    link, created = PaperRepository.objects.get_or_create(
        paper=paper, repository=repo, defaults={"is_official": is_official}
    )
    if not created and is_official and not link.is_official:
        link.is_official = True
        link.save(update_fields=["is_official"])
    return link


def model_for(paper: Paper | None, model_name: str) -> Model:
    """The paper's model of that name; a case variant ("Awing") resolves to the first spelling (rules.names)."""
    spellings = Model.objects.filter(paper=paper).order_by("id").values_list("id", "name")
    pk = names.first_model(spellings.iterator(), model_name)
    if pk is None:
        return Model.objects.create(paper=paper, name=model_name)
    return Model.objects.get(pk=pk)


@transaction.atomic
@cache.adding_results()
def record_result(
    board: Leaderboard,
    *,
    model_name: str,
    metrics: Mapping[str, object],
    dataset_name: str | None = None,
    paper: Paper | None = None,
    uses_additional_data: bool = False,
    evaluated_on: dt.date | None = None,
    provenance: str = Result.Provenance.ARCHIVE,
    code_links: list | None = None,
    listed_paper_title: str = "",
    listed_paper_url: str = "",
    created_by=None,
    paper_link_confirmed: bool = True,
) -> Result:
    """Store one result once, list it under the board's task and every category above it.

    Every board's table but those it is listed on stays cached through it (cache.adding_results)."""
    result = Result.objects.create(
        paper=paper,
        # An unconfirmed link must not file the row under one of the paper's own models.
        model=model_for(paper if paper_link_confirmed else None, model_name),
        model_name=model_name,
        dataset=board.dataset,
        dataset_name=dataset_name or board.dataset.name,
        uses_additional_data=uses_additional_data,
        evaluated_on=evaluated_on,
        provenance=provenance,
        code_links=code_links or [],
        listed_paper_title=listed_paper_title,
        listed_paper_url=listed_paper_url,
        created_by=created_by,
        paper_link_confirmed=paper_link_confirmed,
    )
    leaderboard_for(board.task, board.dataset, metrics.keys())
    MetricValue.objects.bulk_create(new_metric_values(result, metrics))
    list_result(result, board.task)
    return result


def new_metric_values(result: Result, metrics: Mapping[str, object]) -> list[MetricValue]:
    """The unsaved MetricValue rows of `metrics` ({name: published value}) for `result`."""
    rows = []
    for name, raw in metrics.items():
        value, text = stored_value(raw)
        rows.append(MetricValue(result=result, metric=metric_named(name), value=value, raw=text))
    return rows


def set_metric_values(result: Result, metrics: Mapping[str, object]) -> None:
    """Store the result's value of each metric in `metrics`, replacing the one it had."""
    for name, raw in metrics.items():
        value, text = stored_value(raw)
        MetricValue.objects.update_or_create(
            result=result, metric=metric_named(name), defaults={"value": value, "raw": text}
        )


def list_result(result: Result, task: Task) -> None:
    """List `result` under `task` and every category above it (rules.listing)."""
    tasks = listed_under([task.pk], categories_above(edges_above(task.pk)))
    rows = [ResultTask(result=result, task_id=pk, via_category=via) for pk, via in tasks.items()]
    ResultTask.objects.bulk_create(rows, ignore_conflicts=True)
    cache.bump_boards({(pk, result.dataset_id) for pk in tasks})  # bulk_create sends no signal


class slug_taken:
    """For `unique_slug`: `slug in slug_taken(model)` asks whether `model` has a row with that slug."""

    def __init__(self, model):
        self.model = model

    def __contains__(self, slug: str) -> bool:
        return self.model.objects.filter(slug=slug).exists()


def new_slug(model, text: str) -> str:
    """The slug a new row of `model` named `text` gets: rules.slugs with its kind's length."""
    return unique_slug(text, slug_taken(model), slug_length(model._meta.model_name))

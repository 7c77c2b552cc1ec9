"""Users' writes to the knowledge base: domain rules from leaderboard.services, plus the audit log.

Each function takes an `Actor` (the user, and where the change came from) and
plain, already validated data; it changes one thing, stores who created what
(`created_by`), records who did it with the object before and after, and
returns the row. A refused write raises a domain error (leaderboard.errors)
that says what was wrong and how to fix it; the API maps it to its HTTP answer.
Who may change what (owners, staff, frozen verified results, deletes other
users' rows depend on) is leaderboard.ownership's to say. Nothing here knows HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from leaderboard import services
from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.errors import Conflict, Invalid, Missing
from leaderboard.models import (
    Area,
    Dataset,
    Leaderboard,
    LeaderboardMetric,
    Method,
    Metric,
    Paper,
    Result,
    Task,
)
from leaderboard.ownership import (
    FROZEN_RESULT_FIELDS,
    is_verified,
    may_change,
    require_change,
    require_delete,
    require_no_dependents,
    require_unfrozen,
)
from leaderboard.rules.columns import primary_metric
from leaderboard.rules.papers import arxiv_id_from_url
from leaderboard.rules.values import stored_value

CREATE, UPDATE, DELETE = AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE, AuditEntry.Action.DELETE


def supplied(data: dict) -> dict:
    """The fields an update sets: a key that is absent or None leaves its field unchanged."""
    return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class Actor:
    """Who writes, and through what (`source`: api, admin, service): every write is logged as theirs."""

    user: object
    path: str = ""
    source: str = AuditEntry.Source.API

    @property
    def owner(self):
        """The user new rows belong to (created_by); None for an anonymous or system write."""
        return self.user if self.user is not None and self.user.is_authenticated else None

    def log(self, action: str, obj, before: dict | None = None) -> None:
        audit.record(self.user, action, obj, before=before, path=self.path, source=self.source)


# --- look-ups by the ids and names callers send ------------------------------------------


def task_by_id_or_name(value: str, field: str = "task") -> Task:
    """A task by its id (slug), or its name as services.task_named resolves it (aliases, variant spellings)."""
    task = Task.objects.filter(slug=value).first()
    if task is None:
        found = services.task_resolution(value)
        task = Task.objects.get(pk=found.id) if found.id is not None else None
    if task is None:
        raise Invalid(f"No task with the id or name “{value}”; create it first (POST /api/v1/tasks/).", field=field)
    return task


def dataset_by_id(value: str, field: str = "dataset") -> Dataset:
    dataset = Dataset.objects.filter(slug=value).first()
    if dataset is None:
        raise Invalid(f"No dataset with the id “{value}”; create it first (POST /api/v1/datasets/).", field=field)
    return dataset


def area_by_id_or_name(value: str) -> Area:
    area = Area.objects.filter(slug=value).first() or Area.objects.filter(name=value).first()
    if area is None:
        names = ", ".join(Area.objects.values_list("slug", flat=True)[:20])
        raise Invalid(f"No area with the id or name “{value}”. Known areas: {names}.", field="area")
    return area


_PAPER_PAGE = re.compile(r"/paper/([^/?#]+)")
_ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")


def paper_from_reference(reference: str | None) -> Paper | None:
    """A paper id, a /paper/<id> URL, an arXiv id or URL, or a conference URL; "" means no paper."""
    if not reference:
        return None
    reference = reference.strip()
    paper = Paper.objects.filter(slug=reference).first()
    page = _PAPER_PAGE.search(reference)
    if paper is None and page:
        paper = Paper.objects.filter(slug=page.group(1)).first()
    arxiv_id = reference.split("v")[0] if _ARXIV_ID.match(reference) else arxiv_id_from_url(reference)
    url = reference if reference.startswith("http") else None
    if paper is None:  # the importer's rule for a cited paper: arXiv id, then abstract URL
        paper = services.cited_paper(url, None, arxiv_id)
    if paper is None and url:
        paper = Paper.objects.filter(conference_url_abs=url).order_by("id").first()
    if paper is None:
        raise Invalid(
            f"No paper matches “{reference}”: give a paper id, a /paper/<id> URL, an arXiv id or URL, or \"\".",
            field="paper",
        )
    return paper


# --- tasks ---------------------------------------------------------------------------------


def require_name_free(model, name: str, own_pk: int | None = None) -> None:
    """Refuse (Conflict) a task, dataset or method name that resolves to another row of that model
    (rules.names.resolve): names are unique ignoring case, spacing, hyphens, underscores and
    Unicode form, and aliases are names too."""
    resolution = {
        Task: services.task_resolution,
        Dataset: services.dataset_resolution,
        Method: services.method_resolution,
    }[model]
    found = resolution(name)
    if found.id is None or found.id == own_pk:
        return
    existing, kind = model.objects.get(pk=found.id), model._meta.verbose_name
    how = "is" if existing.name == name else "is a listing or spelling of"
    raise Conflict(
        f"“{name}” {how} the existing {kind} “{existing.name}” (id “{existing.slug}”); "
        f"use that {kind}, or choose a name that differs in more than case, spacing, hyphens or underscores.",
        field="name",
    )


def _rename(obj, name: str) -> None:
    """Give a task or dataset a new name, if no other row has it (see require_name_free)."""
    if name != obj.name:
        require_name_free(type(obj), name, obj.pk)
        obj.name = name


@transaction.atomic
def create_task(actor: Actor, data: dict) -> Task:
    name = data["name"].strip()
    require_name_free(Task, name)
    task = Task.objects.create(name=name, slug=services.new_slug(Task, name), description=data.get("description") or "", created_by=actor.owner)
    _set_task_links(task, data)
    actor.log(CREATE, task)
    return task


@transaction.atomic
def update_task(actor: Actor, task: Task, data: dict) -> Task:
    require_change(actor.user, task, "task")
    data = supplied(data)
    before = audit.snapshot(task)
    if "name" in data:
        _rename(task, data["name"])
    if "description" in data:
        task.description = data["description"]
    task.save()
    _set_task_links(task, data)
    actor.log(UPDATE, task, before)
    return task


def _set_task_links(task: Task, data: dict) -> None:
    if data.get("area"):
        task.areas.add(area_by_id_or_name(data["area"]))
    if data.get("parent_task"):
        parent = task_by_id_or_name(data["parent_task"], "parent_task")
        if parent.pk == task.pk:
            raise Invalid("A task cannot be its own parent.", field="parent_task")
        services.add_task_parents(task, [parent])


# --- datasets ------------------------------------------------------------------------------


@transaction.atomic
def create_dataset(actor: Actor, data: dict) -> Dataset:
    name = data["name"].strip()
    require_name_free(Dataset, name)
    dataset = Dataset.objects.create(
        name=name,
        slug=services.new_slug(Dataset, name),
        full_name=data.get("full_name") or "",
        homepage=data.get("url") or "",
        created_by=actor.owner,
    )
    actor.log(CREATE, dataset)
    return dataset


@transaction.atomic
def update_dataset(actor: Actor, dataset: Dataset, data: dict) -> Dataset:
    require_change(actor.user, dataset, "dataset")
    data = supplied(data)
    before = audit.snapshot(dataset)
    if "name" in data:
        _rename(dataset, data["name"])
    if "url" in data:
        dataset.homepage = data["url"]
    dataset.save()
    actor.log(UPDATE, dataset, before)
    return dataset


# --- evaluation tables (leaderboards) ------------------------------------------------------


@transaction.atomic
def create_evaluation(actor: Actor, data: dict) -> Leaderboard:
    task, dataset = task_by_id_or_name(data["task"]), dataset_by_id(data["dataset"])
    if Leaderboard.objects.filter(task=task, dataset=dataset).exists():
        raise Invalid(
            f"The evaluation table for “{task.name}” on “{dataset.name}” already exists; update it instead.", field="task"
        )
    board = services.leaderboard_for(task, dataset)
    board.created_by = actor.owner
    board.description = data.get("description") or board.description
    board.save(update_fields=["created_by", "description"])
    actor.log(CREATE, board)
    return board


@transaction.atomic
def update_evaluation(actor: Actor, board: Leaderboard, data: dict) -> Leaderboard:
    require_change(actor.user, board, "evaluation table")
    data = supplied(data)
    before = audit.snapshot(board)
    task = task_by_id_or_name(data["task"]) if "task" in data else board.task
    dataset = dataset_by_id(data["dataset"]) if "dataset" in data else board.dataset
    if (task.pk, dataset.pk) != (board.task_id, board.dataset_id):
        if Result.objects.filter(dataset=board.dataset, listings__task=board.task).exists():
            raise Invalid("This table has results; its task and dataset can no longer change.", field="task")
        if Leaderboard.objects.filter(task=task, dataset=dataset).exists():
            raise Invalid(f"An evaluation table for “{task.name}” on “{dataset.name}” exists.", field="task")
        board.task, board.dataset = task, dataset
    if "description" in data:
        board.description = data["description"]
    board.save()
    actor.log(UPDATE, board, before)
    return board


# --- metrics (global here; a table's columns are LeaderboardMetric rows) ------------------


def _metric_for(actor: Actor, name: str, is_loss: bool, description: str) -> Metric:
    metric = Metric.objects.filter(name=name).first()
    if metric is None:
        metric = Metric.objects.create(
            name=name, higher_is_better=not is_loss, description=description or "", created_by=actor.owner
        )
        actor.log(CREATE, metric)
        return metric
    if metric.is_loss != is_loss:
        if not may_change(actor.user, metric):
            raise Invalid(
                f"The metric “{name}” already exists with is_loss={str(metric.is_loss).lower()}, "
                "shared by other tables; send that value, or ask staff to change the direction.",
                field="is_loss",
            )
        before = audit.snapshot(metric)
        metric.higher_is_better = not is_loss
        metric.save(update_fields=["higher_is_better"])
        actor.log(UPDATE, metric, before)
    return metric


def _add_column(actor: Actor, board: Leaderboard, metric: Metric) -> None:
    if board.columns.filter(metric=metric).exists():
        return
    column = LeaderboardMetric.objects.create(
        leaderboard=board, metric=metric, position=board.columns.count(), created_by=actor.owner
    )
    actor.log(CREATE, column)
    _set_primary(board)


@transaction.atomic
def add_metric(actor: Actor, board: Leaderboard, data: dict) -> Metric:
    metric = _metric_for(actor, data["name"].strip(), data.get("is_loss", False), data.get("description", ""))
    _add_column(actor, board, metric)
    return metric


@transaction.atomic
def update_metric(actor: Actor, metric: Metric, data: dict) -> Metric:
    require_change(actor.user, metric, "metric")
    data = supplied(data)
    before = audit.snapshot(metric)
    if "name" in data and data["name"] != metric.name:
        if Metric.objects.filter(name=data["name"]).exclude(pk=metric.pk).exists():
            raise Invalid(f"A metric named “{data['name']}” already exists.", field="name")
        metric.name = data["name"]
    if "description" in data:
        metric.description = data["description"]
    if "is_loss" in data:
        metric.higher_is_better = not data["is_loss"]
        if actor.user.is_staff:
            metric.direction_source = Metric.DirectionSource.ADMIN
    metric.save()
    actor.log(UPDATE, metric, before)
    return metric


@transaction.atomic
def remove_metric(actor: Actor, board: Leaderboard, metric: Metric) -> None:
    require_change(actor.user, board, "evaluation table")
    column = board.columns.filter(metric=metric).first()
    if column is None:
        raise Missing(f"The metric {metric.pk} is not a column of “{board.slug}”.")
    require_no_dependents(actor.user, column, "metric column")
    before = audit.snapshot(column)
    column.delete()
    actor.log(DELETE, column, before)
    _set_primary(board, removed=metric.pk)


def _set_primary(board: Leaderboard, *, chosen: int | None = None, removed: int | None = None) -> None:
    """Apply the primary-metric rule (rules.columns) after a change to the board's columns."""
    columns = list(board.columns.order_by("position", "id").values_list("metric_id", flat=True))
    primary = primary_metric(board.primary_metric_id, columns, chosen=chosen, removed=removed)
    if primary != board.primary_metric_id:
        board.primary_metric_id = primary
        board.save(update_fields=["primary_metric"])


# --- results -------------------------------------------------------------------------------


@transaction.atomic
def add_result(actor: Actor, board: Leaderboard, data: dict, external_id: str | None = None) -> Result:
    _check_external_id_free(external_id)
    new_columns, new_metrics = _not_yet_there(board, data["metrics"])
    result = services.record_result(
        board,
        model_name=data["methodology"],
        metrics=data["metrics"],
        dataset_name=data.get("dataset_name"),  # the listing a sync names; else the dataset's name
        paper=paper_from_reference(data.get("paper")),
        uses_additional_data=bool(data.get("uses_additional_data")),
        evaluated_on=data.get("evaluated_on"),
        provenance=Result.Provenance.SELF_REPORTED,
        created_by=actor.owner,
    )
    result.external_source_url = data.get("external_source_url") or ""
    result.external_id = external_id or None
    result.save(update_fields=["external_source_url", "external_id"])
    actor.log(CREATE, result)
    _own_added_columns(actor, board, new_columns, new_metrics)
    return result


def _not_yet_there(board: Leaderboard, metrics: dict) -> tuple[set[str], set[str]]:
    """The metric names a result adds to the table as columns, and those that are new metrics too."""
    names = set(metrics)
    columns = set(board.columns.filter(metric__name__in=names).values_list("metric__name", flat=True))
    if columns == names:
        return set(), set()
    known = set(Metric.objects.filter(name__in=names).values_list("name", flat=True))
    return names - columns, names - known


def _own_added_columns(actor: Actor, board: Leaderboard, new_columns: set[str], new_metrics: set[str]) -> None:
    """Columns (and metrics) that a result's values added belong to its author, and are logged as created."""
    if not new_columns:
        return
    for column in board.columns.filter(metric__name__in=new_columns).select_related("metric"):
        if column.metric.name in new_metrics:
            column.metric.created_by = actor.owner
            column.metric.save(update_fields=["created_by"])
            actor.log(CREATE, column.metric)
        column.created_by = actor.owner
        column.save(update_fields=["created_by"])
        actor.log(CREATE, column)


def _check_external_id_free(external_id: str | None) -> None:
    if external_id and Result.objects.filter(external_id=external_id).exists():
        raise Invalid(f"A result with external_id “{external_id}” already exists.", field="external_id")


@transaction.atomic
def update_result(actor: Actor, board: Leaderboard, result: Result, data: dict) -> Result:
    """Change a result; a verified one only in its source and code links (see leaderboard.ownership)."""
    require_change(actor.user, result, "result")
    data = supplied(data)
    if is_verified(result):
        require_unfrozen(result, [f for f in _changed_fields(result, data) if f in FROZEN_RESULT_FIELDS])
    before = audit.snapshot(result)
    if "paper" in data:
        result.paper = paper_from_reference(data["paper"])
    if "methodology" in data:
        result.model_name = data["methodology"]
        result.model = services.model_for(result.paper, result.model_name)
    for field in ("uses_additional_data", "evaluated_on", "external_source_url"):
        if field in data:
            setattr(result, field, data[field])
    if "code_links" in data:
        result.code_links = _code_links(result.code_links, data["code_links"])
    result.save()
    if data.get("metrics"):
        new_columns, new_metrics = _not_yet_there(board, data["metrics"])
        _set_values(board, result, data["metrics"])
        _own_added_columns(actor, board, new_columns, new_metrics)
    actor.log(UPDATE, result, before)
    return result


def _set_values(board: Leaderboard, result: Result, metrics: dict) -> None:
    services.leaderboard_for(board.task, board.dataset, metrics.keys())
    services.set_metric_values(result, metrics)


def _code_links(current: list, urls: list[str]) -> list[dict]:
    """The result's code links as the URLs given, keeping the title of each it already had."""
    titles = {link.get("url"): link.get("title", "code") for link in current or [] if isinstance(link, dict)}
    return [{"url": url, "title": titles.get(url, "code")} for url in urls]


def _changed_fields(result: Result, data: dict) -> list[str]:
    """The API fields of `data` whose values differ from the result's; absent keys are unchanged."""
    changed = []
    if "metrics" in data:
        values = {v.metric.name: v.raw for v in result.values.select_related("metric")}
        if any(values.get(name) != stored_value(raw)[1] for name, raw in data["metrics"].items()):
            changed.append("metrics")
    if "paper" in data:
        paper = paper_from_reference(data["paper"])
        if (paper.pk if paper else None) != result.paper_id:
            changed.append("paper")
    current = {
        "methodology": result.model_name,
        "uses_additional_data": result.uses_additional_data,
        "evaluated_on": result.evaluated_on,
        "external_source_url": result.external_source_url,
        "code_links": [link.get("url") for link in result.code_links or [] if isinstance(link, dict)],
    }
    changed += [field for field, value in current.items() if field in data and data[field] != value]
    return changed


@transaction.atomic
def delete(actor: Actor, obj, what: str) -> None:
    """Delete `obj`, logged with its snapshot so that a revert can put it back.

    Refused when it would take other users' rows with it, or when it is a verified
    result and the caller is not staff (leaderboard.ownership.require_delete). Staff
    may delete anything; the tables and results it takes with it are logged one by one.
    """
    require_delete(actor.user, obj, what)
    audit.record_delete(actor.user, obj, path=actor.path, source=actor.source)
    obj.delete()


# --- /rpc/evaluation-synchronize/ ----------------------------------------------------------


@transaction.atomic
def synchronize(actor: Actor, data: dict) -> tuple[Leaderboard, list[Result]]:
    """Find or create the table, upsert its metrics by name and its rows by external_id.

    Posting the same payload twice changes nothing the second time.
    """
    # The task must exist: by name as services.task_named resolves it (a new spelling
    # becomes an alias, as in the importer), else by id.
    if services.task_resolution(data["task"]).id is not None:
        task = services.task_named(data["task"])
    else:
        task = task_by_id_or_name(data["task"])
    dataset, listed = _sync_dataset(actor, data["dataset"])
    if listed:
        data = {**data, "results": [{**row, **listed} for row in data["results"]]}
    board = Leaderboard.objects.filter(task=task, dataset=dataset).first()
    if board is None:
        board = create_evaluation(actor, {"task": task.slug, "dataset": dataset.slug})
    elif data.get("description") and data["description"] != board.description:
        require_change(actor.user, board, "evaluation table")
    if data.get("description") and data["description"] != board.description:
        update_evaluation(actor, board, {"description": data["description"]})
    metrics = [_metric_for(actor, m["name"].strip(), m.get("is_loss", True), m.get("description") or "") for m in data["metrics"]]
    for metric in metrics:
        _add_column(actor, board, metric)
    if metrics and may_change(actor.user, board):
        _set_primary(board, chosen=metrics[0].pk)
    return board, [_sync_result(actor, board, row) for row in data["results"]]


def _sync_dataset(actor: Actor, name: str) -> tuple[Dataset, dict]:
    """The dataset a sync names, and what its new rows record of the listing.

    A name resolves as the importer resolves it (rules.names.resolve): a dataset, an alias,
    or a new spelling that becomes one; the rows keep the listing, and "X (Extra Data)"
    flags them as using extra training data. Else a dataset id. Else a new dataset, the caller's.
    """
    if services.dataset_resolution(name).id is None:
        dataset = Dataset.objects.filter(slug=name).first()
        if dataset is not None:
            return dataset, {}
        return create_dataset(actor, {"name": name}), {"dataset_name": name}
    dataset, extra = services.dataset_named(name)
    return dataset, {"dataset_name": name, **({"uses_additional_data": True} if extra else {})}


def _sync_result(actor: Actor, board: Leaderboard, row: dict) -> Result:
    external_id = row.get("external_id") or None
    existing = Result.objects.filter(external_id=external_id).first() if external_id else None
    if existing is None:
        return add_result(actor, board, row, external_id=external_id)
    if existing.dataset_id != board.dataset_id:
        raise Invalid(
            f"external_id “{external_id}” belongs to a result on another dataset; use a new external_id.", field="results"
        )
    if _unchanged(existing, row):
        return existing
    return update_result(actor, board, existing, row)


def _unchanged(result: Result, row: dict) -> bool:
    """Whether a sync row says what the result already says (absent keys mean their defaults)."""
    wanted = {
        "metrics": row["metrics"],
        "methodology": row["methodology"],
        "paper": row.get("paper") or "",
        "uses_additional_data": bool(row.get("uses_additional_data")),
        "evaluated_on": row.get("evaluated_on"),
        "external_source_url": row.get("external_source_url") or "",
    }
    return not _changed_fields(result, wanted)

"""Record writes (API, admin, services, imports) and revert them.

A snapshot is the object's own fields (foreign keys as ids, many-to-many as
id lists) plus, for a result, its metric values: enough to see what changed
and to put it back.
"""

from __future__ import annotations

from django.apps import apps
from django.core import serializers
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from leaderboard.audit.models import AuditEntry
from leaderboard.errors import NotAllowed


def snapshot(obj: Model) -> dict:
    data = serializers.serialize("python", [obj])[0]["fields"]
    if obj._meta.label_lower == "leaderboard.result":
        data["metric_values"] = {v.metric.name: v.raw for v in obj.values.select_related("metric")}
    return data


def record(
    user, action: str, obj: Model, *, before: dict | None = None, path: str = "", source: str = AuditEntry.Source.API
) -> AuditEntry:
    """Log one write; `before` is the snapshot taken before an update or delete."""
    after = None if action == AuditEntry.Action.DELETE else snapshot(obj)
    return AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        source=source,
        model=obj._meta.label_lower,
        object_pk=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
        path=path[:500],
    )


def record_delete(user, obj: Model, *, path: str = "", source: str = AuditEntry.Source.API) -> None:
    """Log a delete before it happens: first each table and result the delete takes with it, then `obj`.

    Reverting newest first puts `obj` back, then what went with it.
    """
    for dependent in _cascaded(obj):
        record(user, AuditEntry.Action.DELETE, dependent, before=_deleted(dependent), path=path, source=source)
    record(user, AuditEntry.Action.DELETE, obj, before=_deleted(obj), path=path, source=source)


def _deleted(obj: Model) -> dict:
    """The snapshot of a row about to go; a result's also says where it was listed and which
    verification submission it was, which the delete removes and a revert puts back."""
    data = snapshot(obj)
    if obj._meta.label_lower == "leaderboard.result":
        data["listings"] = [[task, via] for task, via in obj.listings.values_list("task_id", "via_category")]
        data["verification_submission"] = obj._meta.model.objects.filter(pk=obj.pk).values_list(
            "verification__pk", flat=True
        ).first()
    return data


def _cascaded(obj: Model) -> list[Model]:
    """The results and tables that go when `obj` does (foreign keys with CASCADE)."""
    label = obj._meta.label_lower
    if label == "leaderboard.dataset":
        return [*obj.leaderboards.all(), *obj.results.all()]
    if label == "leaderboard.task":
        return list(obj.leaderboards.all())
    if label == "leaderboard.paper":
        return list(obj.results.all())
    return []


IMPORT_MODEL = "leaderboard.import"


def record_import(stats, user=None) -> AuditEntry:
    """One entry per imported file: its name and kind, and the summary counts in `after`."""
    return AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=AuditEntry.Action.IMPORT,
        source=AuditEntry.Source.IMPORT,
        model=IMPORT_MODEL,
        object_pk=stats.kind[:100],
        object_repr=str(stats.path)[-300:],
        after={
            "file": str(stats.path),
            "kind": stats.kind,
            "read": stats.read,
            "created": stats.created,
            "updated": stats.updated,
            "unchanged": stats.unchanged,
            "rejected": stats.rejected,
        },
        path=str(stats.path)[-500:],
    )


@transaction.atomic
def revert(entry: AuditEntry, by=None) -> None:
    """Undo one write: delete what was created, restore what was changed or deleted."""
    if entry.action == AuditEntry.Action.IMPORT:
        raise NotAllowed(
            f"The import of {entry.object_repr} cannot be reverted row by row; import the previous file again."
        )
    model = apps.get_model(entry.model)
    if entry.action == AuditEntry.Action.CREATE:
        model.objects.filter(pk=entry.object_pk).delete()
    else:
        _restore(model, entry.object_pk, dict(entry.before or {}))
    entry.reverted_at = timezone.now()
    entry.reverted_by = by if by is not None and by.is_authenticated else None
    entry.save(update_fields=["reverted_at", "reverted_by"])


def _restore(model, pk: str, fields: dict) -> None:
    metric_values = fields.pop("metric_values", None)
    listings, submission = fields.pop("listings", None), fields.pop("verification_submission", None)
    record = {"model": model._meta.label_lower, "pk": pk, "fields": fields}
    for restored in serializers.deserialize("python", [record], ignorenonexistent=True):
        restored.save()
    if metric_values is not None:
        _restore_metric_values(model.objects.get(pk=pk), metric_values)
    if listings or submission:
        _relink_result(pk, listings or [], submission)


def _relink_result(pk: str, listings: list, submission_id: int | None) -> None:
    """Put a restored result back in its tables, and back as its verification submission's result."""
    from leaderboard.models import ResultTask, Task
    from leaderboard.verification.models import Submission

    tasks = set(Task.objects.filter(pk__in=[task for task, _ in listings]).values_list("pk", flat=True))
    ResultTask.objects.bulk_create(
        [ResultTask(result_id=pk, task_id=task, via_category=via) for task, via in listings if task in tasks],
        ignore_conflicts=True,
    )
    if submission_id is not None:
        Submission.objects.filter(pk=submission_id, result=None).update(result_id=pk)


def _restore_metric_values(result, metric_values: dict) -> None:
    from leaderboard.models import MetricValue
    from leaderboard.services import new_metric_values

    # Stored as recording stores them (leaderboard.rules.values.stored_value): no number
    # beyond the database's range, the published text as shown.
    result.values.all().delete()
    MetricValue.objects.bulk_create(new_metric_values(result, metric_values))

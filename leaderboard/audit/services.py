"""Record API writes and revert them.

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


def snapshot(obj: Model) -> dict:
    data = serializers.serialize("python", [obj])[0]["fields"]
    if obj._meta.label_lower == "leaderboard.result":
        data["metric_values"] = {v.metric.name: v.raw for v in obj.values.select_related("metric")}
    return data


def record(user, action: str, obj: Model, *, before: dict | None = None, path: str = "") -> AuditEntry:
    """Log one write; `before` is the snapshot taken before an update or delete."""
    after = None if action == AuditEntry.Action.DELETE else snapshot(obj)
    return AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        model=obj._meta.label_lower,
        object_pk=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
        path=path[:500],
    )


def creator_id(obj: Model) -> int | None:
    """The user who created `obj` through the API, if anyone did."""
    entry = (
        AuditEntry.objects.filter(model=obj._meta.label_lower, object_pk=str(obj.pk), action=AuditEntry.Action.CREATE)
        .order_by("id")
        .values_list("user_id", flat=True)
        .first()
    )
    return entry


@transaction.atomic
def revert(entry: AuditEntry, by=None) -> None:
    """Undo one write: delete what was created, restore what was changed or deleted."""
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
    record = {"model": model._meta.label_lower, "pk": pk, "fields": fields}
    for restored in serializers.deserialize("python", [record], ignorenonexistent=True):
        restored.save()
    if metric_values is not None:
        _restore_metric_values(model.objects.get(pk=pk), metric_values)


def _restore_metric_values(result, metric_values: dict) -> None:
    from leaderboard.models import MetricValue
    from leaderboard.services import new_metric_values

    # Stored as recording stores them (leaderboard.rules.values.stored_value): no number
    # beyond the database's range, the published text as shown.
    result.values.all().delete()
    MetricValue.objects.bulk_create(new_metric_values(result, metric_values))

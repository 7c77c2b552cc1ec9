"""Who may change what, whichever path the write takes (API, admin, services).

- A row belongs to the user who created it (`created_by`, stored on the row);
  staff may change anything; archive rows, created by nobody, are staff-only.
- A verified result is frozen: its numbers, date, dataset, model name, paper
  and extra-data flag change only when staff re-run its submission (the
  verification service's publish path). Its owner may still edit its source
  link (`external_source_url`) and code links. Only staff delete it.
- Deleting something other users' rows depend on (a dataset with their
  results, a task with their tables, ...) is refused: the delete would take
  their rows with it, and a revert of the one entry could not bring them back.

Each check raises a leaderboard.errors error that says what to do instead.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from leaderboard.errors import Conflict, NotAllowed
from leaderboard.models import (
    Dataset,
    Leaderboard,
    LeaderboardMetric,
    Metric,
    Result,
    Task,
)

# A verified result's fields that only a staff re-run may change (API names).
FROZEN_RESULT_FIELDS = ("metrics", "evaluated_on", "dataset", "methodology", "paper", "uses_additional_data")
# What its owner may still edit.
OPEN_RESULT_FIELDS = ("external_source_url", "code_links")
# How many dependents a refusal names.
NAMED = 5


def owner_id(obj: Model) -> int | None:
    return getattr(obj, "created_by_id", None)


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def may_change(user, obj: Model) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or (owner_id(obj) is not None and owner_id(obj) == user.pk)


def require_change(user, obj: Model, what: str) -> None:
    if not may_change(user, obj):
        raise NotAllowed(
            f"Only the user who created this {what} or a staff member may change or delete it; "
            "ask staff through the site if it is wrong."
        )


def is_verified(result: Result) -> bool:
    return result.provenance == Result.Provenance.VERIFIED


def require_unfrozen(result: Result, changed: list[str]) -> None:
    """Refuse a change of a verified result's frozen fields, naming them."""
    if not changed or not is_verified(result):
        return
    fields = " and ".join([", ".join(changed[:-1]), changed[-1]]) if len(changed) > 1 else changed[0]
    raise NotAllowed(
        f"This result is verified; its {fields} {'is' if len(changed) == 1 else 'are'} frozen "
        f"(frozen: {', '.join(FROZEN_RESULT_FIELDS)}). They change only when staff re-run its submission "
        f"through the verification service; you may edit {' and '.join(OPEN_RESULT_FIELDS)}.",
        field=changed[0],
    )


def require_delete(user, obj: Model, what: str) -> None:
    """May `user` delete `obj`? Owner or staff; verified results staff-only; no other users' rows lost."""
    require_change(user, obj, what)
    if is_staff(user):
        return
    if isinstance(obj, Result) and is_verified(obj):
        raise NotAllowed(
            "A verified result can be deleted only by staff (the deletion is kept in the audit log); "
            "ask staff through the site."
        )
    require_no_dependents(user, obj, what)


def require_no_dependents(user, obj: Model, what: str) -> None:
    """Refuse (409) to delete what other users' or archive rows depend on, naming them; staff may."""
    if is_staff(user):
        return
    blockers = [(count, description) for count, description in dependents(obj, user) if count]
    if blockers:
        listed = "; ".join(description for _, description in blockers)
        raise Conflict(
            f"The {what} “{_label(obj)}” cannot be deleted: {listed}. Deleting it would remove or hide those; "
            "ask staff."
        )


def dependents(obj: Model, user) -> list[tuple[int, str]]:
    """(count, description) of the rows of other users or of the archive that deleting `obj` would take."""
    if isinstance(obj, Dataset):
        return [
            _describe(Result.objects.filter(dataset=obj), user, "result", "on this dataset"),
            _describe(Leaderboard.objects.filter(dataset=obj), user, "evaluation table", "on this dataset"),
            _describe(Dataset.objects.filter(parent=obj), user, "subdataset", "of this dataset"),
        ]
    if isinstance(obj, Task):
        listed = Result.objects.filter(listings__task=obj, listings__via_category=False)
        return [
            _describe(Leaderboard.objects.filter(task=obj), user, "evaluation table", "of this task"),
            _describe(listed, user, "result", "listed under this task"),
        ]
    if isinstance(obj, Leaderboard):
        rows = Result.objects.filter(dataset_id=obj.dataset_id, listings__task_id=obj.task_id, listings__via_category=False)
        return [
            _describe(rows, user, "result", "in this table"),
            _describe(LeaderboardMetric.objects.filter(leaderboard=obj), user, "metric column", "of this table"),
        ]
    if isinstance(obj, LeaderboardMetric):
        rows = Result.objects.filter(
            dataset_id=obj.leaderboard.dataset_id, listings__task_id=obj.leaderboard.task_id,
            listings__via_category=False, values__metric_id=obj.metric_id,
        )
        return [_describe(rows, user, "result", "with a value in this column")]
    if isinstance(obj, Metric):
        return [
            _describe(Result.objects.filter(values__metric=obj).distinct(), user, "result", "with a value of this metric"),
            _describe(LeaderboardMetric.objects.filter(metric=obj), user, "table column", "of this metric"),
        ]
    return []


def _describe(rows: QuerySet, user, noun: str, where: str) -> tuple[int, str]:
    others = rows.exclude(created_by_id=user.pk) if user is not None and user.pk else rows
    count = others.count()
    if not count:
        return 0, ""
    named = ", ".join(f"“{_label(row)}” (id {row.pk}, {_creator(row)})" for row in others.select_related("created_by")[:NAMED])
    more = f" and {count - NAMED} more" if count > NAMED else ""
    plural = noun if count == 1 else f"{noun}s"
    return count, f"{count} {plural} by other users or the archive {where}: {named}{more}"


def _label(row: Model) -> str:
    if isinstance(row, LeaderboardMetric):
        return f"{row.metric.name} in {row.leaderboard.slug}"
    return str(row)


def _creator(row: Model) -> str:
    return f"by {row.created_by.get_username()}" if row.created_by_id else "archive"

"""Who may write what. Reads are anonymous; writes need a token.

Anyone signed in may add tasks, datasets, leaderboards, metric columns and
results. Changing or deleting something is for the user who created it
(Result.created_by, or the audit log's creator for the rest) and for staff:
archive records, created by nobody, are staff-only.
"""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

from leaderboard.audit.services import creator_id
from leaderboard.models import Result


def owner_id(obj) -> int | None:
    if isinstance(obj, Result):
        return obj.created_by_id
    return creator_id(obj)


def may_change(user, obj) -> bool:
    if not user or not user.is_authenticated:
        return False
    return user.is_staff or owner_id(obj) == user.pk


def require_change(user, obj, what: str) -> None:
    if not may_change(user, obj):
        raise PermissionDenied(
            f"Only the user who created this {what} or a staff member may change or delete it; "
            "ask staff through the site if it is wrong."
        )


class IsOwnerOrStaffOrReadOnly(permissions.IsAuthenticatedOrReadOnly):
    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        require_change(request.user, obj, obj._meta.verbose_name)
        return True

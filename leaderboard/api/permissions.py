"""Who may write what. Reads are anonymous; writes need a token.

Anyone signed in may add tasks, datasets, leaderboards, metric columns and
results. Changing or deleting something is for the user who created it (the
row's created_by) and for staff: archive records, created by nobody, are
staff-only. The rules themselves live in leaderboard.ownership, which every
write path (API, admin, services) calls.
"""

from __future__ import annotations

from rest_framework import permissions

from leaderboard.ownership import may_change, owner_id, require_change

__all__ = ["IsOwnerOrStaffOrReadOnly", "may_change", "owner_id", "require_change"]


class IsOwnerOrStaffOrReadOnly(permissions.IsAuthenticatedOrReadOnly):
    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        require_change(request.user, obj, obj._meta.verbose_name)
        return True

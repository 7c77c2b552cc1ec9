"""Errors the services raise when a write breaks a domain rule.

They know nothing of HTTP: the API maps each kind to its status
(leaderboard.api.errors), a page shows the message, a command prints it.
Every message says what is wrong and how to put it right.
"""

from __future__ import annotations


class DomainError(Exception):
    """A write the knowledge base refuses; `field` names the input at fault, if one is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input itself is wrong (HTTP 400)."""


class NotAllowed(DomainError):
    """The user may not make this change (HTTP 403)."""


class Missing(DomainError):
    """The input names something that does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The change clashes with rows that exist (HTTP 409): a name taken, rows that depend on it."""

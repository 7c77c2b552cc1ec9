"""Rate limits for anonymous and signed-in callers, announced in X-Ratelimit-* headers.

The official client reads all four headers together (a missing one is an
error there), so every throttled view sends all four. When several limits
apply (anonymous or user, plus a scope such as submissions), the headers tell
of the one that refused the request, or else of the one with least left.
The state is kept on Django's request too, so RateLimitHeadersMiddleware adds
the headers to every API response, whatever view or error handler made it.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    UserRateThrottle,
)


class _HeaderMixin:
    def get_rate(self):
        # Read at request time, not import time, so tests and deployments can change it.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "history", None) is not None:
            state = {
                "limit": self.num_requests,
                "remaining": max(self.num_requests - len(self.history), 0),
                "reset": int(self.history[-1] + self.duration - self.now) if self.history else self.duration,
                "retry": 0 if allowed else int(self.wait() or 0) + 1,
            }
            current = getattr(request, "rate_limit", None)
            if current is None or _tighter(state, current):
                request.rate_limit = state
                django_request = getattr(request, "_request", None)
                if django_request is not None:
                    django_request.rate_limit = state
        return allowed


def _tighter(new: dict, old: dict) -> bool:
    """A refusal outranks an allowance; between two of a kind, the one with less left."""
    if bool(new["retry"]) != bool(old["retry"]):
        return bool(new["retry"])
    return new["remaining"] < old["remaining"]


class AnonThrottle(_HeaderMixin, AnonRateThrottle):
    pass


class UserThrottle(_HeaderMixin, UserRateThrottle):
    """Signed-in callers only; anonymous ones are counted by AnonThrottle alone."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedThrottle(_HeaderMixin, ScopedRateThrottle):
    """A view's own limit (its `throttle_scope`), reported in the headers when it is the one that bites."""


def add_rate_limit_headers(request, response) -> None:
    state = getattr(request, "rate_limit", None)
    if state:
        response["X-Ratelimit-Limit"] = str(state["limit"])
        response["X-Ratelimit-Remaining"] = str(state["remaining"])
        response["X-Ratelimit-Reset"] = str(state["reset"])
        response["X-Ratelimit-Retry"] = str(state["retry"])


class RateLimitHeadersMiddleware:
    """X-Ratelimit-* on every /api/ response whose request was counted, from any view or error handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "X-Ratelimit-Limit" not in response:
            add_rate_limit_headers(request, response)
        return response

"""Rate limits for anonymous and signed-in callers, announced in X-Ratelimit-* headers.

The official client reads all four headers together (a missing one is an
error there), so every throttled view sends all four.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _HeaderMixin:
    def get_rate(self):
        # Read at request time, not import time, so tests and deployments can change it.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "history", None) is not None:
            request.rate_limit = {
                "limit": self.num_requests,
                "remaining": max(self.num_requests - len(self.history), 0),
                "reset": int(self.history[-1] + self.duration - self.now) if self.history else self.duration,
                "retry": 0 if allowed else int(self.wait() or 0) + 1,
            }
        return allowed


class AnonThrottle(_HeaderMixin, AnonRateThrottle):
    pass


class UserThrottle(_HeaderMixin, UserRateThrottle):
    """Signed-in callers only; anonymous ones are counted by AnonThrottle alone."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


def add_rate_limit_headers(request, response) -> None:
    state = getattr(request, "rate_limit", None)
    if state:
        response["X-Ratelimit-Limit"] = str(state["limit"])
        response["X-Ratelimit-Remaining"] = str(state["remaining"])
        response["X-Ratelimit-Reset"] = str(state["reset"])
        response["X-Ratelimit-Retry"] = str(state["retry"])

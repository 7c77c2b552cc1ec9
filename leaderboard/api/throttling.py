"""Rate limits for anonymous and signed-in callers, announced in X-Ratelimit-* headers.

The official client reads all four headers together (a missing one is an
error there), so every throttled view sends all four. When several limits
apply (anonymous or user, plus a scope such as submissions), the headers tell
of the one that refused the request, or else of the one with least left.
The state is kept on Django's request too, so RateLimitHeadersMiddleware adds
the headers to every API response, whatever view or error handler made it.

Requests are counted in the shared cache by atomic increments, one counter per
caller and window of the rate's duration (DRF's own throttles read a caller's
list of request times and write it back, so callers arriving together in
several processes overwrote each other's counts and passed the limit). The
previous window counts in proportion to how much of it the last `duration`
seconds still cover, so a burst at the end of one window and the start of the
next is held to the limit too.
"""

from __future__ import annotations

import math

from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    UserRateThrottle,
)


class _WindowCounter:
    """A DRF throttle counted by atomic increments in windows (see the module's doc), whose state
    the X-Ratelimit-* headers report."""

    def get_rate(self):
        # Read at request time, not import time, so tests and deployments can change it.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window, into = divmod(self.timer(), self.duration)
        counter = f"{self.key}:{int(window)}"
        count, earlier = self._count(counter, f"{self.key}:{int(window) - 1}")
        previous = earlier * (1 - into / self.duration)  # the share of the previous window still covered
        allowed = previous + count <= self.num_requests
        if not allowed:
            count = self._uncount(counter)  # a refused request does not count
        self._wait = 0.0 if allowed else self._until_one_more(earlier, count, into)
        state = {
            "limit": self.num_requests,
            "remaining": max(math.floor(self.num_requests - previous - count), 0),
            "reset": math.ceil(self.duration - into),
            "retry": 0 if allowed else math.ceil(self._wait) + 1,
        }
        current = getattr(request, "rate_limit", None)
        if current is None or _tighter(state, current):
            request.rate_limit = state
            django_request = getattr(request, "_request", None)
            if django_request is not None:
                django_request.rate_limit = state
        return allowed

    def wait(self):
        return self._wait

    def _count(self, counter: str, earlier: str) -> tuple[int, int]:
        """This window's count with this request added, and the previous window's count.

        A counter is kept while it is this window's or the previous one's. On Redis the three steps
        go in one round trip; any other cache takes one call each.
        """
        kept = self.duration * 2
        client = _redis_client(self.cache)
        if client is not None:
            key = self.cache.make_and_validate_key(counter)
            steps = client.pipeline(transaction=False)
            steps.set(key, 0, nx=True, ex=kept).incr(key).get(self.cache.make_and_validate_key(earlier))
            _, count, before = steps.execute()
            return count, int(before or 0)  # Django's Redis cache stores integers as such
        self.cache.add(counter, 0, kept)
        try:
            count = self.cache.incr(counter)
        except ValueError:  # expired or evicted between the two calls
            self.cache.set(counter, 1, kept)
            count = 1
        return count, self.cache.get(earlier, 0)

    def _uncount(self, counter: str) -> int:
        try:
            return self.cache.decr(counter)
        except ValueError:
            return 0

    def _until_one_more(self, earlier: int, count: int, into: float) -> float:
        """Seconds until one more request fits: the previous window's share shrinks as time passes,
        and once this window is over, this window's count is the previous one's."""
        room = self.num_requests - count - 1
        if room >= 0:
            return max(self.duration * (1 - room / earlier) - into, 0.0) if earlier else 0.0
        fits_after = self.duration * (1 - (self.num_requests - 1) / count) if count else 0.0
        return self.duration - into + max(fits_after, 0.0)


def _redis_client(cache):
    """The redis-py client behind Django's Redis cache (or the proxy of one), or None for another backend."""
    from django.core.cache.backends.redis import RedisCacheClient

    client = getattr(cache, "_cache", None)
    return client.get_client(write=True) if isinstance(client, RedisCacheClient) else None


def _tighter(new: dict, old: dict) -> bool:
    """A refusal outranks an allowance; between two of a kind, the one with less left."""
    if bool(new["retry"]) != bool(old["retry"]):
        return bool(new["retry"])
    return new["remaining"] < old["remaining"]


class AnonThrottle(_WindowCounter, AnonRateThrottle):
    pass


class UserThrottle(_WindowCounter, UserRateThrottle):
    """Signed-in callers only; anonymous ones are counted by AnonThrottle alone."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedThrottle(_WindowCounter, ScopedRateThrottle):
    """A view's own limit (its `throttle_scope`), reported in the headers when it is the one that bites."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)  # the view names its rate, read per request
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


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

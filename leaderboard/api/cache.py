"""A cache for SotA tables, the API's hottest and most expensive read.

Each entry is keyed by a generation number that every write to what a table
shows (results, metric values, listings, columns, metrics, boards, papers,
verifications) bumps once its transaction commits. With a shared cache
(Redis) that makes every process see a write at once; with the default
per-process memory cache, other processes see it when the entry expires
(API_SOTA_CACHE_SECONDS). Bulk writes that send no signals (bulk_create,
update()) are also only caught by expiry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

GENERATION = "api:sota:generation"
WATCHED = {
    "leaderboard.result",
    "leaderboard.metricvalue",
    "leaderboard.resulttask",
    "leaderboard.leaderboardmetric",
    "leaderboard.leaderboard",
    "leaderboard.metric",
    "leaderboard.paper",
    "leaderboard.task",
    "leaderboard.dataset",
    "verification.submission",
}


def _generation() -> int:
    return cache.get_or_set(GENERATION, 0, timeout=None)


def bump() -> None:
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there yet (or evicted): any new value starts a new generation
        cache.set(GENERATION, 1, timeout=None)


def cached_table(key: str, build: Callable[[], dict]) -> dict:
    seconds = getattr(settings, "API_SOTA_CACHE_SECONDS", 30)
    if seconds <= 0:
        return build()
    digest = hashlib.sha1(key.encode()).hexdigest()  # any metric name, safe for every cache backend
    full_key = f"api:sota:{_generation()}:{digest}"
    body = cache.get(full_key)
    if body is None:
        body = build()
        cache.set(full_key, body, seconds)
    return body


def _on_write(sender, **kwargs) -> None:
    if sender._meta.label_lower in WATCHED:
        transaction.on_commit(bump)


def connect() -> None:
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid=f"api-sota-cache-{signal!r}")

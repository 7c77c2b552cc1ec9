"""A cache for SotA tables and big list counts, the API's most expensive reads.

Each entry is keyed by a generation number that every write to what a table
shows (results, metric values, listings, columns, metrics, boards, papers,
verifications) bumps once its transaction commits. With a shared cache
(Redis) that makes every process see a write at once; with the default
per-process memory cache, other processes see it when the entry expires
(API_CACHE_SECONDS). Bulk writes that send no signals (bulk_create,
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
WATCHED_APPS = {"leaderboard", "verification"}


def _generation() -> int:
    return cache.get_or_set(GENERATION, 0, timeout=None)


def bump() -> None:
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there yet (or evicted): any new value starts a new generation
        cache.set(GENERATION, 1, timeout=None)


def cached_table(key: str, build: Callable[[], bytes]) -> bytes:
    seconds = getattr(settings, "API_CACHE_SECONDS", 30)
    if seconds <= 0:
        return build()
    digest = hashlib.sha1(key.encode()).hexdigest()  # any metric name, safe for every cache backend
    full_key = f"api:sota:{_generation()}:{digest}"
    body = cache.get(full_key)
    if body is None:
        body = build()
        cache.set(full_key, body, seconds)
    return body


def cached_count(queryset) -> int:
    """COUNT(*) of a list, cached like the tables (a full count of the papers is a table scan)."""
    seconds = getattr(settings, "API_CACHE_SECONDS", 30)
    try:
        sql = str(queryset.query)
    except Exception:  # noqa: BLE001 - e.g. EmptyResultSet: nothing to cache, just count
        return queryset.count()
    if seconds <= 0:
        return queryset.count()
    key = f"api:count:{_generation()}:{hashlib.sha1(sql.encode()).hexdigest()}"
    count = cache.get(key)
    if count is None:
        count = queryset.count()
        cache.set(key, count, seconds)
    return count


def _on_write(sender, **kwargs) -> None:
    if sender._meta.app_label in WATCHED_APPS:
        transaction.on_commit(bump)


def connect() -> None:
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid=f"api-sota-cache-{signal!r}")

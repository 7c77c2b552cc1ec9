"""The one cache generation behind pages, SotA tables and paged lists.

Every entry is keyed by a generation number. A write to what the site or the
API shows (results, metric values, listings, columns, metrics, boards,
papers, verifications) moves it twice:

* at the write itself, so a request that reads inside the writing transaction
  (a view that writes then shows, a test) never gets its own stale page;
* again once the transaction commits, so what another process cached between
  the write and the commit (the data before the write, under the new number)
  is dropped too.

With a shared cache (CACHE_URL=redis://...) every process reads the same
number and sees a committed write at once; with the per-process default
(locmem://) other processes see it when the entry expires (API_CACHE_SECONDS).
Bulk writes that send no signals (bulk_create, update()) call bump() by hand.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse

GENERATION = "cache:generation"
WATCHED_APPS = {"leaderboard", "verification"}


def generation() -> int:
    return cache.get_or_set(GENERATION, 0, timeout=None)


def _next_generation() -> None:
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there yet (or evicted): any new value starts a new generation
        cache.set(GENERATION, 1, timeout=None)


def bump(using: str | None = None) -> None:
    """The data changed: a new generation now and, inside a transaction, another on its commit."""
    _next_generation()
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(_next_generation, using=using)


def _seconds() -> int:
    return getattr(settings, "API_CACHE_SECONDS", 30)


def _full_key(key: str) -> str:
    digest = hashlib.sha1(key.encode()).hexdigest()  # any metric name or URL, safe for every cache backend
    return f"cache:{generation()}:{digest}"


def lookup(key: str):
    """What store() kept under `key` in this generation, or None (also when caching is off)."""
    return cache.get(_full_key(key)) if _seconds() > 0 else None


def store(key: str, value) -> None:
    if _seconds() > 0:
        cache.set(_full_key(key), value, _seconds())


def cached_table(key: str, build: Callable[[], bytes]) -> bytes:
    return kept_or_built(key, build)


# Concurrent misses of one key (the first reads after a write): one request builds, the others wait
# for what it keeps instead of all building the same thing on the same cores.
BUILD_LOCK_SECONDS = 30  # a builder that died frees the key after this
BUILD_WAIT_SECONDS = 2.0  # a waiter builds for itself after this
BUILD_POLL_SECONDS = 0.005


def _same(value):
    return value


def kept_or_built(key: str, build: Callable, keep: Callable = _same, show: Callable = _same):
    """show(what is kept under `key`), or build() once: keep(built) is stored unless it is None.

    While one request builds a key, the others that miss it wait up to BUILD_WAIT_SECONDS for
    what it keeps; if it keeps nothing (an error, a page for one reader) they build for themselves.
    """
    kept = lookup(key)
    if kept is not None:
        return show(kept)
    lock = f"building:{_full_key(key)}"
    if _seconds() > 0 and cache.add(lock, 1, BUILD_LOCK_SECONDS):
        try:
            return _build_and_keep(key, build, keep)
        finally:
            cache.delete(lock)
    kept = _wait_for_builder(key, lock)
    return show(kept) if kept is not None else _build_and_keep(key, build, keep)


def _build_and_keep(key: str, build: Callable, keep: Callable):
    built = build()
    kept = keep(built)
    if kept is not None:
        store(key, kept)
    return built


def _wait_for_builder(key: str, lock: str):
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while _seconds() > 0 and time.monotonic() < deadline and cache.get(lock) is not None:
        time.sleep(BUILD_POLL_SECONDS)
        kept = lookup(key)
        if kept is not None:
            return kept
    return lookup(key)


def for_visitors(view: Callable) -> Callable:
    """A web page that an anonymous visitor's GET gets from this cache until the next write.

    Only what is the same for every visitor is kept: a 200 page with no headers of its own, no
    cookie, no CSRF token and no message in it. A signed-in user's page, or a visitor's with a
    message waiting, is drawn each time. Middleware (security headers, rate limits) still runs
    for every request.
    """

    @functools.wraps(view)
    def page(request, *args, **kwargs):
        if request.method != "GET" or request.user.is_authenticated or _has_messages(request):
            return view(request, *args, **kwargs)
        def keep(response):
            return (response.content, response["Content-Type"]) if _same_for_everyone(request, response) else None

        return kept_or_built(
            f"page:{request.build_absolute_uri()}",
            lambda: view(request, *args, **kwargs),
            keep,
            lambda kept: HttpResponse(kept[0], content_type=kept[1]),
        )

    return page


def _has_messages(request) -> bool:
    from django.contrib.messages import get_messages

    return len(get_messages(request)) > 0  # len() leaves them unread


def _same_for_everyone(request, response) -> bool:
    return (
        type(response) is HttpResponse
        and response.status_code == 200
        and not response.cookies
        and {name.lower() for name, _ in response.items()} <= {"content-type"}
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not _has_messages(request)
    )


def _on_write(sender, **kwargs) -> None:
    if sender._meta.app_label in WATCHED_APPS:
        bump(kwargs.get("using"))


def connect() -> None:
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid=f"cache-generation-{signal!r}")

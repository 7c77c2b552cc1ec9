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
    body = lookup(key)
    if body is None:
        body = build()
        store(key, body)
    return body


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
        key = f"page:{request.scheme}://{request.get_host()}{request.get_full_path()}"
        kept = lookup(key)
        if kept is not None:
            content, content_type = kept
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if _same_for_everyone(request, response):
            store(key, (response.content, response["Content-Type"]))
        return response

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

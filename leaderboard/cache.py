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

One kind of write is narrower: editing the values of existing results, or their
other fields than where they sit (a result edited through the API, a new value),
moves the generation and the version of the boards those results are on, but not
the structure number that every other board's entries also carry. Where a row sits
(OWNER_FIELDS: a result's dataset and paper link, a listing's result, task and kind,
a value's result) changes more, and moves everything. A leaderboard's own tables
(cached with `board=`) are keyed by the structure number and that board's version,
so they stay valid through writes to other boards. What reads no results (a task with
its boards and datasets, a paper with its authors) is cached with `structure=True`,
keyed by the structure number alone; what reads of results only where they sit (which
boards are active, a dataset's papers) with `results=True`, keyed by the structure
number and the results number. Both stay valid through every edit of values.
Everything else follows the generation.

A new result (services.record_result, inside `adding_results()`) moves the generation
and the results number, and once it is listed, the versions of the boards it is listed
on; not the structure number. So does the model it brings. So every board's table but
its own, and what reads no results, stays valid through it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpResponse

GENERATION = "cache:generation"
STRUCTURE = "cache:structure"  # moved by every write but those confined to some boards' results, and new results
RESULTS = "cache:results"  # moved by new results, which change where results sit but no board's table but their own
WATCHED_APPS = {"leaderboard", "verification"}


def generation() -> int:
    return cache.get_or_set(GENERATION, 0, timeout=None)


def _board_version(task_id: int, dataset_id: int) -> str:
    return f"cache:board:{task_id}:{dataset_id}"


def _move(names: list[str]) -> None:
    for name in names:
        try:
            cache.incr(name)
        except ValueError:  # not there yet (or evicted): any new value starts a new generation
            cache.set(name, 1, timeout=None)


def _move_now_and_on_commit(names: list[str], using: str | None) -> None:
    _move(names)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: _move(names), using=using)


def bump(using: str | None = None) -> None:
    """The data changed: a new generation now and, inside a transaction, another on its commit."""
    _move_now_and_on_commit([GENERATION, STRUCTURE], using)


_ADDING_RESULTS = contextvars.ContextVar("adding_results", default=False)


@contextlib.contextmanager
def adding_results():
    """New results and the models they bring move the results number instead of the structure number;
    whoever lists the results moves their boards' versions (services.list_result). Any other write
    made meanwhile (a board's new column) moves what it always moves."""
    token = _ADDING_RESULTS.set(True)
    try:
        yield
    finally:
        _ADDING_RESULTS.reset(token)


def bump_boards(boards: set[tuple[int, int]], using: str | None = None) -> None:
    """Only the results on these (task id, dataset id) boards changed: a new generation, and a new
    version of each of these boards; other boards' tables stay."""
    _move_now_and_on_commit([GENERATION, *(_board_version(*board) for board in sorted(boards))], using)


def _seconds() -> int:
    return getattr(settings, "API_CACHE_SECONDS", 30)


def _digest(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()  # any metric name or URL, safe for every cache backend


def _full_key(key: str, board: tuple[int, int] | None = None, structure: bool = False, results: bool = False) -> str:
    if board is not None:
        return _board_keys(key, [board])[board]
    if results:
        numbers = cache.get_many([STRUCTURE, RESULTS])
        return f"cache:s{numbers.get(STRUCTURE, 0)}r{numbers.get(RESULTS, 0)}:{_digest(key)}"
    if structure:
        return f"cache:s{cache.get_or_set(STRUCTURE, 0, timeout=None)}:{_digest(key)}"
    return f"cache:{generation()}:{_digest(key)}"


def _board_keys(key: str, boards: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """Each board's full key for `key`: the structure number and the board's version, read in one round trip."""
    versions = [_board_version(*board) for board in boards]
    numbers = cache.get_many([STRUCTURE, *versions])
    structure, digest = numbers.get(STRUCTURE, 0), _digest(key)
    return {
        board: f"cache:s{structure}:b{board[0]}.{board[1]}v{numbers.get(version, 0)}:{digest}"
        for board, version in zip(boards, versions, strict=True)
    }


def cached_table(key: str, build: Callable[[], bytes], board: tuple[int, int] | None = None,
                 structure: bool = False, results: bool = False) -> bytes:
    """`build()`, kept under `key` until the next write; with `board` (task id, dataset id), until the
    next write to that board's results or to anything but results; with `structure` (for what reads no
    results), until the next write but an edit of results' values or a new result; with `results` (for
    what reads where results sit), until the next write but an edit of values (see the module's doc)."""
    return kept_or_built(key, build, board=board, structure=structure, results=results)


def cached_per_board(key: str, boards: list[tuple[int, int]], build: Callable[[list], dict]) -> dict:
    """`key`'s value for each (task id, dataset id) board, each kept until the next write to that board's
    results or to anything but results: `build(missing boards)` makes the values the cache lacks."""
    if _seconds() <= 0:
        return build(list(boards))
    keys = _board_keys(key, list(dict.fromkeys(boards)))  # read before building: a write meanwhile voids them
    found = cache.get_many(list(keys.values()))
    values = {board: found[full] for board, full in keys.items() if full in found}
    missing = [board for board in keys if board not in values]
    if missing:
        built = build(missing)
        cache.set_many({keys[board]: built[board] for board in missing}, _seconds())
        values.update(built)
    return values


# Concurrent misses of one key (the first reads after a write): one request builds, the others wait
# for what it keeps instead of all building the same thing on the same cores.
BUILD_LOCK_SECONDS = 30  # a builder that died frees the key after this
BUILD_WAIT_SECONDS = 2.0  # a waiter builds for itself after this
BUILD_POLL_SECONDS = 0.005


def _same(value):
    return value


def kept_or_built(key: str, build: Callable, keep: Callable = _same, show: Callable = _same,
                  board: tuple[int, int] | None = None, structure: bool = False, results: bool = False):
    """show(what is kept under `key`), or build() once: keep(built) is stored unless it is None.

    The entry's full key (its generation, or its board's version) is read once, before building:
    what a build read before a write committed is kept under the old number, never served after it.
    While one request builds a key, the others that miss it wait up to BUILD_WAIT_SECONDS for
    what it keeps; if it keeps nothing (an error, a page for one reader) they build for themselves.
    """
    if _seconds() <= 0:
        return build()
    full = _full_key(key, board, structure, results)
    kept = cache.get(full)
    if kept is not None:
        return show(kept)
    lock = f"building:{full}"
    if cache.add(lock, 1, BUILD_LOCK_SECONDS):
        try:
            return _build_and_keep(full, build, keep)
        finally:
            cache.delete(lock)
    kept = _wait_for_builder(full, lock)
    return show(kept) if kept is not None else _build_and_keep(full, build, keep)


def _build_and_keep(full: str, build: Callable, keep: Callable):
    built = build()
    kept = keep(built)
    if kept is not None:
        cache.set(full, kept, _seconds())
    return built


def _wait_for_builder(full: str, lock: str):
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while time.monotonic() < deadline and cache.get(lock) is not None:
        time.sleep(BUILD_POLL_SECONDS)
        kept = cache.get(full)
        if kept is not None:
            return kept
    return cache.get(full)


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
    if sender._meta.app_label not in WATCHED_APPS:
        return
    saved = kwargs.get("signal") is post_save
    if saved and kwargs.get("created") and _ADDING_RESULTS.get() and _is_a_new_results_row(sender):
        _move_now_and_on_commit([GENERATION, RESULTS], kwargs.get("using"))
        return
    boards = _boards_changed(sender, kwargs) if saved else None
    if boards is None:
        bump(kwargs.get("using"))
    else:
        bump_boards(boards, kwargs.get("using"))


def _is_a_new_results_row(sender) -> bool:
    from leaderboard.models import Model, Result

    return sender in (Result, Model)


def _boards_changed(sender, kwargs) -> set[tuple[int, int]] | None:
    """The boards a saved result, value or listing changes, when that is all it changes; None otherwise.

    A new result (its listings come later, without signals), a row moved to another dataset,
    result or task, or a result handed to another paper, changes more than the boards it is on now.
    """
    from leaderboard.models import MetricValue, Result, ResultTask

    instance = kwargs["instance"]
    if sender not in (Result, MetricValue, ResultTask) or (sender is Result and kwargs.get("created")):
        return None
    if not kwargs.get("created") and getattr(instance, "_owner_before", None) != _owner(instance):
        return None
    if sender is ResultTask:
        dataset = Result.objects.filter(pk=instance.result_id).values_list("dataset_id", flat=True).first()
        return None if dataset is None else {(instance.task_id, dataset)}
    return result_boards(instance.result_id if sender is MetricValue else instance.pk)


def result_boards(result_id: int) -> set[tuple[int, int]]:
    """The (task id, dataset id) boards a result is listed on."""
    from leaderboard.models import ResultTask

    return set(ResultTask.objects.filter(result_id=result_id).values_list("task_id", "result__dataset_id"))


# What places a row on its boards: the result's dataset, the value's result, the listing's result and task;
# the result's paper link, which also places it on a paper's page and among its dataset's papers; and
# whether a listing is the board's own or its category's, which decides the home page's active boards.
OWNER_FIELDS = {
    "result": ("dataset_id", "paper_id", "paper_link_confirmed"),
    "metricvalue": ("result_id",),
    "resulttask": ("result_id", "task_id", "via_category"),
}


def _owner(instance) -> tuple:
    return tuple(getattr(instance, field) for field in OWNER_FIELDS[instance._meta.model_name])


def _remember_owner(sender, instance, **kwargs) -> None:
    """Where a stored result, value or listing sits before it is saved, to tell an edit from a move."""
    fields = OWNER_FIELDS.get(sender._meta.model_name) if sender._meta.app_label == "leaderboard" else None
    if fields and instance.pk is not None:
        instance._owner_before = sender.objects.filter(pk=instance.pk).values_list(*fields).first()


def connect() -> None:
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid=f"cache-generation-{signal!r}")
    pre_save.connect(_remember_owner, dispatch_uid="cache-generation-row-owner")

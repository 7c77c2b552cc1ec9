"""Ranking: the order of a leaderboard's rows, their rank numbers and the running best.

The rule (README, "Ranking rule"): best value first in the metric's direction;
rows without the metric last, unranked; ties go to the earlier evaluation date
(rows without a date after dated ones), then to the order of recording. Worst
first is that order reversed, except that rows without the metric stay last.

`ordering()` states the rule once, as (field, descending, nulls_last) terms.
`sort_key()` turns them into a Python key; selectors.sota_page turns the same
terms into an SQL ORDER BY, and a test checks that both give the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import NamedTuple

# The fields a row is ordered by.
VALUE = "value"  # the number of the ranking metric (None: the row lacks it)
DATE = "evaluated_on"  # the result's evaluation date (None: undated)
RECORDED = "recorded"  # the order of recording: the result's primary key


class Term(NamedTuple):
    field: str
    descending: bool
    nulls_last: bool


class Entry(NamedTuple):
    """What ranking looks at in a row."""

    value: Decimal | None
    evaluated_on: dt.date | None
    recorded: int


def ordering(higher_is_better: bool, worst_first: bool = False) -> tuple[Term, ...]:
    """The sort terms of a table ranked by a metric of that direction."""
    best_first = (
        Term(VALUE, descending=higher_is_better, nulls_last=True),
        Term(DATE, descending=False, nulls_last=True),
        Term(RECORDED, descending=False, nulls_last=True),
    )
    if not worst_first:
        return best_first
    # The exact reverse, but a row without the metric is never "worst": it stays last.
    return tuple(
        Term(term.field, not term.descending, term.nulls_last if term.field == VALUE else not term.nulls_last)
        for term in best_first
    )


def _number(value: object) -> Decimal | int | None:
    if isinstance(value, dt.date):
        return value.toordinal()
    return value


def sort_key(higher_is_better: bool, worst_first: bool = False) -> Callable[[Entry], tuple]:
    """The Python sort key of `ordering()`: sorted(entries, key=...) is the ranked table."""
    terms = ordering(higher_is_better, worst_first)

    def key(entry: Entry) -> tuple:
        parts = []
        for term in terms:
            number = _number(getattr(entry, term.field))
            missing = number is None
            parts.append(missing if term.nulls_last else not missing)
            parts.append(0 if missing else (-number if term.descending else number))
        return tuple(parts)

    return key


def ranked(entries: Iterable, higher_is_better: bool, worst_first: bool = False, entry=None) -> list:
    """`entries` in table order; `entry(item)` gives an item's Entry (default: the item itself)."""
    key = sort_key(higher_is_better, worst_first)
    return sorted(entries, key=(lambda item: key(entry(item))) if entry else key)


def rank_numbers(
    has_value: Iterable[bool], ranked_count: int, worst_first: bool = False, offset: int = 0
) -> list[int | None]:
    """The rank shown on each row, in table order from position `offset`.

    Rows with the metric are numbered 1…n best first (ties get consecutive
    numbers: the earlier result holds the better rank); worst first counts
    down from n. Rows without the metric have no rank.
    """
    numbers = []
    for index, present in enumerate(has_value, start=offset):
        if not present:
            numbers.append(None)
        else:
            numbers.append(ranked_count - index if worst_first else index + 1)
    return numbers


def better(value: Decimal, than: Decimal | None, higher_is_better: bool) -> bool:
    """Whether `value` beats `than` (anything beats nothing; a tie does not beat)."""
    if than is None:
        return True
    return value > than if higher_is_better else value < than


def running_best(values: Iterable[Decimal], higher_is_better: bool) -> list[Decimal]:
    """For values in date order: the state of the art after each (SotA over time)."""
    out, best = [], None
    for value in values:
        if better(value, best, higher_is_better):
            best = value
        out.append(best)
    return out


def best_of(entries: Iterable, higher_is_better: bool, entry=None):
    """The item ranked first among those with the metric, or None (the best of a board)."""
    with_value = [item for item in entries if (entry(item) if entry else item).value is not None]
    table = ranked(with_value, higher_is_better, entry=entry)
    return table[0] if table else None

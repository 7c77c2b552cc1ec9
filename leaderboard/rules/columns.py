"""A leaderboard's columns and the metric it ranks by (its primary metric).

The rule: the first column is the primary metric, unless one was chosen (by an
admin, or as the first metric of a synchronize payload); a chosen one stays
until it is removed from the table, and then the first remaining column takes
over. Metrics here are anything comparable with == (ids or Metric rows).
"""

from __future__ import annotations

from collections.abc import Sequence


def primary_metric(current, columns: Sequence, *, chosen=None, removed=None):
    """The board's primary metric after a change to its columns.

    `current` is the one it has (None: none yet), `columns` its columns in
    order after the change, `chosen` an explicit choice, `removed` a column
    just taken off the board.
    """
    if chosen is not None:
        return chosen
    if current is not None and current != removed:
        return current
    return columns[0] if columns else None


def shown_columns(primary, columns: Sequence) -> list:
    """The columns a table shows, in order: the primary metric first when it is not a column."""
    if primary is not None and primary not in columns:
        return [primary, *columns]
    return list(columns)

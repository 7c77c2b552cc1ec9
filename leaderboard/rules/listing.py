"""Listing a result under its tasks: the task of its table and every category above it.

The task graph is given as plain (child, parent) pairs; it may hold cycles.
services.list_result and the importer (in memory on a first import, in SQL
after) both list results by these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def categories_above(edges: Iterable[tuple]) -> dict[object, set]:
    """Each task that has a parent -> every category above it, transitively (never itself)."""
    parents: dict[object, list] = {}
    for child, parent in edges:
        parents.setdefault(child, []).append(parent)
    found = {}
    for task in parents:
        seen, frontier = set(), [task]
        while frontier:
            step = []
            for node in frontier:
                for parent in parents.get(node, ()):
                    if parent != task and parent not in seen:
                        seen.add(parent)
                        step.append(parent)
            frontier = step
        found[task] = seen
    return found


def listed_under(direct: Iterable, above: Mapping[object, Iterable]) -> dict[object, bool]:
    """The tasks a result listed directly under `direct` is listed under -> via_category.

    Its own tasks (False) and each category above any of them (True); a task
    that is both is listed directly. `above` is categories_above() of the graph.
    """
    direct = list(direct)
    out = dict.fromkeys(direct, False)
    for task in direct:
        for category in above.get(task, ()):
            out.setdefault(category, True)
    return out

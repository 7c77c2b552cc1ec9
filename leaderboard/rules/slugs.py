"""Slugs: the one rule for turning a name into a URL id.

`base_slug` is the slug a name asks for; `suffixed` gives the candidates after it
(base, base-2, base-3 …); `unique_slug` takes the first one not taken. The
services check candidates against the table one query each; the importers against
an in-memory set, or one query a batch (base.unique_slugs, base.insert_named), with
the same two functions.
"""

from __future__ import annotations

import re
from collections.abc import Container

from django.utils.text import slugify

# How long a slug made from a name may be, by the kind of row it names (model_name of
# the Django model); a slug the archive gives in its own URL is kept as it is.
_LENGTH = {"paper": 60, "leaderboard": 390}
DEFAULT_LENGTH = 100


def max_length(kind: str) -> int:
    """The longest slug made from a name for a row of this kind ("paper", "task" …)."""
    return _LENGTH.get(kind, DEFAULT_LENGTH)


_NOT_SLUG = re.compile(r"[^\w\s-]")
_DASHES = re.compile(r"[-\s]+")


def base_slug(text: str, max_length: int = DEFAULT_LENGTH) -> str:
    """The slug `text` asks for: slugified, cut at a word boundary to `max_length`, "item" if empty.

    For ASCII text this is django's slugify without its Unicode normalisation (the same
    output, faster: the importers make a slug for every new paper, task and dataset)."""
    if text.isascii():
        full = _DASHES.sub("-", _NOT_SLUG.sub("", text.lower())).strip("-_")
    else:
        full = slugify(text)
    base = full[:max_length].strip("-")
    if len(full) > max_length and "-" in base:
        base = base.rsplit("-", 1)[0]
    return base or "item"


def suffixed(base: str, n: int) -> str:
    """The n-th candidate for a base slug: base, base-2, base-3 …"""
    return base if n == 1 else f"{base}-{n}"


def unique_slug(text: str, taken: Container[str], max_length: int = DEFAULT_LENGTH) -> str:
    """The first candidate slug of `text` (base, base-2, base-3 …) not `in taken`.

    `taken` is a set of slugs in use, or anything that answers `slug in taken` (the
    services ask the table, services.slug_taken)."""
    base = candidate = base_slug(text, max_length)
    n = 1
    while candidate in taken:
        n += 1
        candidate = suffixed(base, n)
    return candidate

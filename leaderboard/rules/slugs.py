"""Slugs: the one rule for turning a name into a URL id."""

from __future__ import annotations

from django.utils.text import slugify


def unique_slug(text: str, taken: callable, max_length: int = 100) -> str:
    """A slug of `text`, cut at a word boundary, with -2, -3 … until `taken` says no."""
    base = slugify(text)[:max_length].strip("-")
    if len(slugify(text)) > max_length and "-" in base:
        base = base.rsplit("-", 1)[0]
    base = base or "item"
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate

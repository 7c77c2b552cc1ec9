"""Papers: the keys a reference to a paper carries (arXiv ids, venues)."""

from __future__ import annotations

import re

_ARXIV = re.compile(
    r"arxiv\.org/(?:abs|pdf)/([0-9]{4}\.[0-9]{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})(?:v\d+)?"
)


def arxiv_id_from_url(url: str | None) -> str | None:
    """`https://arxiv.org/abs/1904.07399v3` -> `1904.07399`."""
    if not url:
        return None
    match = _ARXIV.search(url)
    return match.group(1) if match else None


_VENUE = re.compile(r"^(?P<conf>.+?)\s+(?P<year>(?:19|20)\d\d)\b")


def split_proceeding(text: str | None) -> tuple[str, int | None, str] | None:
    """ "ICCV 2019 10" -> ("ICCV", 2019, "ICCV 2019"); None when it names no venue."""
    if not text or not text.strip():
        return None
    match = _VENUE.match(text.strip())
    if not match:
        name = text.strip()
        return name, None, name
    conf, year = match.group("conf").strip(), int(match.group("year"))
    return conf, year, f"{conf} {year}"

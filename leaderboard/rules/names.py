"""Names: when two spellings name one task, dataset, model or paper.

Every path that finds a row by its name (the importers over their in-memory
maps, the services and the API over the database) asks these functions, so a
name resolves to the same row whichever path it takes. The callers hand in
plain lookups (dicts, or functions that query); nothing here reads the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

_SEPARATORS = re.compile(r"[\s\-_]+")

# "WFW (Extra Data)", "X (with extra training data)": a listing of a dataset whose
# results used extra training data.
_EXTRA_DATA = re.compile(
    r"^(?P<base>.+?)\s*[(\[]\s*(?:with\s+|using\s+)?(?:extra|additional)(?:\s+training)?\s+data\s*[)\]]$",
    re.IGNORECASE,
)


def normalised(name: str) -> str:
    """What makes two spellings of one name equal: Unicode form (NFKC), case, spaces, hyphens, underscores.

    "WFLW", "wflw", "W-FLW", "ＷＦＬＷ" -> "wflw". Two names with the same key are one name.
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name).casefold())


def extra_data_base(name: str) -> str | None:
    """The dataset an "(Extra Data)" listing names: "WFLW (Extra Data)" -> "WFLW"; None for other names."""
    match = _EXTRA_DATA.match(name.strip())
    if match is None:
        return None
    return match.group("base").strip() or None


def normalised_index(rows: Iterable[tuple[int, str]]) -> dict[str, int]:
    """normalised(name) -> id of the first row (in the order given: lowest id first) with that key."""
    index: dict[str, int] = {}
    for pk, name in rows:
        index.setdefault(normalised(name), pk)
    return index


class Resolution(NamedTuple):
    """Where a name leads.

    id: the existing row, or None for "create a row of this name";
    new_alias: the name is a new spelling of row `id`, to be recorded as an alias of it;
    extra: the listing says its results used extra training data.
    """

    id: int | None
    new_alias: bool = False
    extra: bool = False


def resolve(
    name: str,
    exact: Mapping[str, int],
    aliases: Mapping[str, tuple[int, bool]],
    by_normalised: Mapping[str, int],
    *,
    extra_data: bool = False,
) -> Resolution:
    """The row a name leads to, in this order.

    1. a row of exactly that name; 2. an alias of exactly that name (with its extra flag);
    3. with ``extra_data`` (datasets), an "(Extra Data)" listing of a known name: a new
       alias of that row, flagged extra; 4. a row whose name differs only in case,
       spacing, hyphens, underscores or Unicode form: a new alias of it; 5. a new row.

    ``aliases`` maps an alias name to (row id, extra flag); ``by_normalised`` maps
    normalised(name) to a row id (see normalised_index).
    """
    if name in exact:
        return Resolution(exact[name])
    if name in aliases:
        pk, extra = aliases[name]
        return Resolution(pk, False, bool(extra))
    if extra_data:
        base = extra_data_base(name)
        if base is not None:
            pk = known(base, exact, aliases, by_normalised)
            if pk is not None:
                return Resolution(pk, True, True)
    pk = by_normalised.get(normalised(name))
    if pk is not None:
        return Resolution(pk, True, False)
    return Resolution(None)


def known(
    name: str,
    exact: Mapping[str, int],
    aliases: Mapping[str, tuple[int, bool]],
    by_normalised: Mapping[str, int],
) -> int | None:
    """The row a name already names (exactly, as an alias, or as a variant); None if none."""
    if name in exact:
        return exact[name]
    if name in aliases:
        return aliases[name][0]
    return by_normalised.get(normalised(name))


# --- models: case variants within one paper are one model ----------------------------------


def model_key(name: str) -> str:
    """Two model names of one paper with the same key are one model ("AWing", "Awing")."""
    return name.casefold()


def first_model(models: Iterable[tuple[int, str]], name: str) -> int | None:
    """Of a paper's models as (id, name), lowest id first: the one `name` is a case variant of."""
    key = model_key(name)
    for pk, other in models:
        if model_key(other) == key:
            return pk
    return None


# --- papers: the keys a cited paper is matched by, in order ---------------------------------


def paper_match_keys(url: str | None, title: str | None, arxiv_id: str | None) -> list[tuple[str, str]]:
    """(field, value) to look a cited paper up by, first match wins: arXiv id, abstract URL, exact title."""
    keys = []
    if arxiv_id:
        keys.append(("arxiv_id", arxiv_id))
    if url:
        keys.append(("url_abs", url))
    if title:
        keys.append(("title", title))
    return keys


def match_paper(keys: Iterable[tuple[str, str]], find: Callable[[str, str], object]) -> object:
    """The first paper `find(field, value)` returns for the keys in order (the lowest id for a key); None if none."""
    for field, value in keys:
        found = find(field, value)
        if found:
            return found
    return None

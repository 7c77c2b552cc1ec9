"""`make bench-reads` measures every read route: a new URL pattern fails here until it is benchmarked.

The benchmark's rows (benchmarks/read_routes.py) are resolved with example slugs and ids;
every URL pattern of the site, walked through every include and the DRF routers, must be
reached by one of them or be excluded with a reason.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, resolve

from benchmarks import read_routes


def _join(prefix: str, route: str) -> str:
    """How Django's ResolverMatch.route joins an include's pattern to the one inside it."""
    return prefix + route.removeprefix("^") if prefix else route


def all_routes(patterns=None, prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            routes |= all_routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            routes.add(route)
    return routes


def excluded(route: str) -> bool:
    return route in read_routes.EXCLUDED or route.startswith(tuple(read_routes.EXCLUDED_PREFIXES))


def measured_routes() -> dict[str, str]:
    """Each URL pattern the benchmark's sample URLs resolve to, with the row that reaches it."""
    reached = {}
    for row in read_routes.ROUTES:
        for url in row.paths(read_routes.EXAMPLE_PICKS):
            reached.setdefault(resolve(urlsplit(url).path).route, row.label)
    return reached


def test_every_url_pattern_is_measured_by_the_read_benchmark_or_excluded_with_a_reason():
    missing = sorted(route for route in all_routes() - set(measured_routes()) if not excluded(route))
    assert not missing, f"add a row to benchmarks/read_routes.py for: {missing}"


def test_the_walk_sees_the_included_and_router_patterns():
    routes = all_routes()
    assert {"", "sota/<slug:slug>", "api/v1/papers/(?P<paper_id>[^/]+)/$",
            "api/v1/submissions/(?P<pk>[^/.]+)/$", "benchmarks/<slug:slug>/"} <= routes


def test_exclusions_name_real_routes_and_say_why_and_measure_none():
    routes, measured = all_routes(), measured_routes()
    assert set(read_routes.EXCLUDED) <= routes
    assert all(any(r.startswith(prefix) for r in routes) for prefix in read_routes.EXCLUDED_PREFIXES)
    reasons = [*read_routes.EXCLUDED.values(), *read_routes.EXCLUDED_PREFIXES.values()]
    assert all(len(reason) > 20 for reason in reasons)
    assert not set(read_routes.EXCLUDED) & set(measured)


def test_every_row_has_a_unique_label_and_urls():
    labels = [row.label for row in read_routes.ROUTES]
    assert len(labels) == len(set(labels))
    assert all(row.paths(read_routes.EXAMPLE_PICKS) for row in read_routes.ROUTES)
    assert {row.auth for row in read_routes.ROUTES} <= {"anon", "token", "session"}

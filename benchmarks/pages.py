"""Server time of the web pages on the full synthetic archive: p50/p95 per page.

    python benchmarks/pages.py [--database-url postgres://postgres@127.0.0.1:5432/pwc2_full] [--requests 60]

Measures home, the task with the most leaderboards, the leaderboard with the
most results and the paper with the most results (the AWing paper when it is
there) through Django's test Client in this process: URL routing, middleware,
selectors, queries and template rendering, as a request through gunicorn would
run them, without the network. The baseline is the About page (no queries)
measured in the same run; ratios are page time / baseline time.

When the database does not hold the archive (fewer than 1,000 papers), it is loaded first: the synthetic archive
is written with benchmarks/make_archive.py (if var/archive has no dumps) and
imported with `manage.py import_pwc`. Target: p95 under 50 ms for every page.
Writes benchmarks/results/pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.serving import ARCHIVE, ROOT, ensure_loaded, percentile

TARGET_P95_MS = 50.0


def pick_pages() -> dict[str, str]:
    from django.db.models import Count

    from leaderboard.models import Leaderboard, Paper, Result, ResultTask, Task

    task = Task.objects.annotate(n=Count("leaderboards")).order_by("-n", "id").first()
    biggest = (
        ResultTask.objects.filter(via_category=False)
        .values("task_id", "result__dataset_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    board = Leaderboard.objects.get(task_id=biggest["task_id"], dataset_id=biggest["result__dataset_id"])
    paper = Paper.objects.filter(slug="adaptive-wing-loss-for-robust-face-alignment").first()
    if paper is None:
        top = Result.objects.exclude(paper=None).values("paper_id").annotate(n=Count("id")).order_by("-n").first()
        paper = Paper.objects.get(pk=top["paper_id"])
    return {
        "about (baseline)": "/about/",
        "home": "/",
        "task": f"/task/{task.slug}",
        "leaderboard": board.get_absolute_url(),
        "paper": paper.get_absolute_url(),
    }


def _timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def _queries(client, url: str) -> int:
    from django.db import connection

    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    return len(queries)


def measure(client, url: str, requests: int, cold_requests: int) -> dict:
    """Warm figures (page caches filled) and cold ones (the first request after a write)."""
    from leaderboard.cache import bump

    first_ms = _timed(client, url)  # the process's first request: templates compiled, connections opened
    cold = []
    cold_queries = 0
    for index in range(cold_requests):
        bump()  # what every committed write does: the page caches start afresh
        if index == 0:
            cold_queries = _queries(client, url)
            bump()
        cold.append(_timed(client, url))
    warm_queries = _queries(client, url)
    for _ in range(3):
        client.get(url)
    samples = [_timed(client, url) for _ in range(requests)]
    response = client.get(url)
    return {
        "url": url,
        "requests": requests,
        "first_ms": round(first_ms, 2),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "max_ms": round(max(samples), 2),
        "queries": warm_queries,
        "cold_requests": cold_requests,
        "cold_p50_ms": round(statistics.median(cold), 2),
        "cold_p95_ms": round(percentile(cold, 95), 2),
        "cold_queries": cold_queries,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pwc2_full")
    )
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--cold-requests", type=int, default=20, help="requests each right after a write")
    parser.add_argument("--scale", type=float, default=1.0, help="archive scale when the database must be loaded")
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="dump files to import when the database is empty")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pages.json")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    ensure_loaded(dict(os.environ), args.database_url, scale=args.scale, archive=args.archive)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False  # no query log, as in production
    settings.TEMPLATES[0].setdefault("OPTIONS", {})["debug"] = False  # engines are built lazily, on first render
    from leaderboard.models import Leaderboard, Paper, Result

    pages = pick_pages()
    client = Client()
    figures = {name: measure(client, url, args.requests, args.cold_requests) for name, url in pages.items()}
    baseline = figures["about (baseline)"]["p50_ms"]
    for item in figures.values():
        item["p50_vs_baseline"] = round(item["p50_ms"] / baseline, 1) if baseline else None

    print("warm: page caches filled; cold: each request right after a write (every page cache empty)")
    print(
        f"{'page':18} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'x base':>7} "
        f"{'cold p50':>9} {'cold p95':>9} {'cold q':>7}  url"
    )
    for name, item in figures.items():
        print(
            f"{name:18} {item['p50_ms']:8.2f} {item['p95_ms']:8.2f} {item['queries']:8d} "
            f"{item['p50_vs_baseline']:7.1f} {item['cold_p50_ms']:9.2f} {item['cold_p95_ms']:9.2f} "
            f"{item['cold_queries']:7d}  {item['url']}"
        )
    measured = {k: v for k, v in figures.items() if k != "about (baseline)"}
    slow = [name for name, item in measured.items() if item["p95_ms"] >= TARGET_P95_MS]
    cold_slow = [name for name, item in measured.items() if item["cold_p95_ms"] >= TARGET_P95_MS]
    print("target p95 < 50 ms (warm):", "met" if not slow else f"missed by {', '.join(slow)}")
    print("target p95 < 50 ms (cold):", "met" if not cold_slow else f"missed by {', '.join(cold_slow)}")
    result = {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1],
        "size": {
            "papers": Paper.objects.count(),
            "results": Result.objects.count(),
            "leaderboards": Leaderboard.objects.count(),
        },
        "target_p95_ms": TARGET_P95_MS,
        "target_met": not slow,
        "target_met_cold": not cold_slow,
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[1],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "pages": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()

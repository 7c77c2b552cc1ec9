"""REST API throughput and latency at full scale, against gunicorn on loopback.

    python benchmarks/api.py [--database-url postgres://postgres@127.0.0.1:5432/pwc2_full]
                             [--clients 8] [--seconds 10] [--workers 2] [--wait 0]

Serves the API from gunicorn (sync workers, DEBUG off, throttles lifted) on a
database holding the full synthetic archive, and drives it with N client
processes, each with its own connection, for a fixed time per endpoint:
a trivial DRF endpoint (an area's detail: one indexed row) as the baseline,
the SotA endpoint of the biggest leaderboard and of a typical one, a paper's
detail, results and claims (the last signed in, as the benchmark's own
account), a paginated paper list and two searches (a selective one, and one
whose words match about 2/3 of the synthetic archive). Prints requests per
second and p50/p95/p99 latency, the ratio to the baseline, and writes
benchmarks/results/api.json.

The database is used as it is when it holds papers; otherwise the archive in
var/archive is imported with `manage.py import_pwc` (written first by
benchmarks/make_archive.py when missing). `--wait N` polls N minutes for the
database to be loaded by someone else before loading it here.
Targets: the SotA endpoint at least half the baseline's throughput, p95 under 30 ms.
SotA tables are served from the API cache (leaderboard.cache) as in production;
run with API_CACHE_SECONDS=0 to measure building every table. Full-text search is
served by the GIN index of the leaderboard migrations.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.serving import (
    ARCHIVE,
    ROOT,
    ensure_loaded,
    free_port,
    manage,
    percentile,
    server_env,
    start_gunicorn,
    stop,
)

OUT = ROOT / "benchmarks" / "results" / "api.json"
TARGET_RATIO, TARGET_P95_MS = 0.5, 30.0


PICK = """
import json
from django.db.models import Count
from leaderboard.models import Area, Leaderboard, Paper, ResultTask
sizes = (ResultTask.objects.filter(via_category=False).values("task_id", "result__dataset_id")
         .annotate(n=Count("id")).order_by("-n", "task_id", "result__dataset_id"))
biggest = sizes.first()
typical = sizes[sizes.count() // 2]
def board(row):
    return Leaderboard.objects.get(task_id=row["task_id"], dataset_id=row["result__dataset_id"]).slug
paper = Paper.objects.filter(slug="adaptive-wing-loss-for-robust-face-alignment").first() or Paper.objects.order_by("id").first()
# Reads that need a signed-in user (a paper's claims) use this benchmark's own account.
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="api-benchmark")
token, _ = Token.objects.get_or_create(user=user)
print(json.dumps({"area": Area.objects.order_by("id").first().slug, "biggest": board(biggest), "biggest_rows": biggest["n"],
                  "typical": board(typical), "typical_rows": typical["n"], "paper": paper.slug, "token": token.key}))
"""


def endpoints(picked: dict) -> dict[str, str]:
    return {
        "baseline: area detail": f"/api/v1/areas/{picked['area']}/",
        "sota: biggest leaderboard": f"/api/v1/evaluations/{picked['biggest']}/sota/",
        "sota: typical leaderboard": f"/api/v1/evaluations/{picked['typical']}/sota/",
        "paper detail": f"/api/v1/papers/{picked['paper']}/",
        "paper results": f"/api/v1/papers/{picked['paper']}/results/",
        "paper claims (signed in)": f"/api/v1/papers/{picked['paper']}/claims/",
        "paper list (page 3 of 50)": "/api/v1/papers/?page=3&items_per_page=50",
        "search: selective": "/api/v1/search/?q=adaptive%20wing%20loss",
        # The synthetic archive's small vocabulary makes these words match about 2/3 of all papers.
        "search: broad": "/api/v1/search/?q=adversarial%20robust%20transformer",
    }


def client(port: int, path: str, seconds: float, queue, token: str | None = None) -> None:
    """One client: requests back to back for `seconds` (signed in with `token`, if given); reports
    latencies in ms and failures."""
    headers = {"Accept": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
    samples, failures = [], 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            conn.close()
        if ok:
            samples.append((time.perf_counter() - start) * 1000)
        else:
            failures += 1
    queue.put((samples, failures))


def drive(port: int, path: str, clients: int, seconds: float, token: str | None = None) -> dict:
    client(port, path, 1.0, mp.Queue(), token)  # warm the workers' caches and connections
    queue = mp.Queue()
    procs = [mp.Process(target=client, args=(port, path, seconds, queue, token)) for _ in range(clients)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    samples = [ms for chunk, _ in results for ms in chunk]
    failures = sum(f for _, f in results)
    return {
        "url": path,
        "requests": len(samples),
        "failures": failures,
        "rps": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(samples), 2) if samples else None,
        "p95_ms": round(percentile(samples, 95), 2) if samples else None,
        "p99_ms": round(percentile(samples, 99), 2) if samples else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("API_BENCH_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/pwc2_full"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wait", type=float, default=0.0, help="minutes to wait for someone else to load the database")
    parser.add_argument("--scale", type=float, default=1.0, help="archive scale when it must be written here")
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="dump files to import when the database is empty")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    env = server_env(args.database_url)
    papers = ensure_loaded(env, args.database_url, scale=args.scale, archive=args.archive, wait_minutes=args.wait)
    picked = json.loads(manage(env, "shell", "-c", PICK, capture=True).strip().splitlines()[-1])
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    try:
        figures = {
            name: drive(port, path, args.clients, args.seconds, picked["token"] if "signed in" in name else None)
            for name, path in endpoints(picked).items()
        }
    finally:
        stop(server)
    baseline = figures["baseline: area detail"]["rps"]
    for row in figures.values():
        row["ratio_to_baseline"] = round(row["rps"] / baseline, 3) if baseline else None
    if not baseline:
        raise SystemExit(f"the baseline endpoint answered no request with 200: {figures['baseline: area detail']}")
    sota = figures["sota: biggest leaderboard"]
    report = {
        "database": urlsplit(args.database_url)._replace(netloc=urlsplit(args.database_url).hostname or "").geturl(),
        "papers": papers,
        "leaderboards": {"biggest": picked["biggest"], "biggest_rows": picked["biggest_rows"],
                         "typical": picked["typical"], "typical_rows": picked["typical_rows"]},
        "clients": args.clients, "seconds_per_endpoint": args.seconds, "gunicorn_workers": args.workers,
        "cpus": os.cpu_count(),
        "endpoints": figures,
        "targets": {
            "sota_ratio_at_least": TARGET_RATIO, "sota_p95_ms_under": TARGET_P95_MS,
            "met_biggest": sota["ratio_to_baseline"] >= TARGET_RATIO and sota["p95_ms"] < TARGET_P95_MS,
            "met_typical": figures["sota: typical leaderboard"]["ratio_to_baseline"] >= TARGET_RATIO
            and figures["sota: typical leaderboard"]["p95_ms"] < TARGET_P95_MS,
        },
    }
    print(f"{'endpoint':32} {'rps':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'×base':>7}")
    for name, row in figures.items():
        print(f"{name:32} {row['rps']:8.1f} {row['p50_ms'] or 0:8.2f} {row['p95_ms'] or 0:8.2f} {row['p99_ms'] or 0:8.2f} "
              f"{row['ratio_to_baseline']:7.3f}")
    print(json.dumps(report["targets"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

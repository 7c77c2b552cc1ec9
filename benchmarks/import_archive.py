"""Import the synthetic PWC archive into PostgreSQL at 1% and 100% and report the figures.

    python benchmarks/import_archive.py [--scales 0.01 1] [--keep-as pwc2_full]

For each scale: write the archive (var/archive for 100%, var/archive-<scale>
otherwise; reused when present), create an empty database (default
`pwc2_bench_import` on the server of DATABASE_URL), migrate, import the five
files in one `import_pwc` process, then import them again unchanged. Records
per second, total time and the import process's peak resident memory go to
benchmarks/results/import.json. Targets at 100% (2 cores): import < 5 min,
peak RSS < 1 GB, unchanged re-import < 2 min. The same file records how long this
machine takes for a fixed Python and a fixed PostgreSQL workload (calibrate), to
compare runs on different machines. `--keep-as NAME` keeps the last
database under NAME with the demo data loaded (for the API and page benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_archive import FULL, make_archive

TARGETS = {"import_seconds": 300, "peak_rss_mb": 1024, "reimport_seconds": 120}
_FILE = re.compile(r"\((?P<kind>[a-z-]+)\): .* in (?P<seconds>[\d.]+)s$", re.MULTILINE)
_TOTAL = re.compile(
    r"Total: (\d+) read, (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) rejected"
)


def server_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL for this benchmark")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def server():
    """A connection to the server's `postgres` database."""
    import psycopg2

    parts = urlsplit(server_url("postgres"))
    return psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
    )


def admin(sql: str) -> None:
    conn = server()
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def manage(url: str, *args: str) -> tuple[str, float, float]:
    """Run manage.py in a child process; (stdout, seconds, peak RSS in MB of that process)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
    }
    code = (
        "import resource, sys, json; from django.core.management import execute_from_command_line;\n"
        "try:\n    execute_from_command_line(['manage.py', *sys.argv[1:]])\n"
        "finally:\n    print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    rss_kb = int(re.search(r"RSS (\d+)", done.stderr).group(1))
    return done.stdout, seconds, rss_kb / 1024


def archive_for(scale: float) -> Path:
    out = ROOT / "var" / ("archive" if scale == 1 else f"archive-{scale:g}")
    marker = out / ".complete"
    if not marker.exists():
        print(
            f"writing the synthetic archive at scale {scale:g} to {out} ...", flush=True
        )
        make_archive(out, scale)
        marker.write_text(json.dumps({"scale": scale}))
    return out


def calibrate() -> dict:
    """Seconds this machine takes for a fixed Python and a fixed PostgreSQL workload.

    Machines of the same size differ (one session's 2 cores ran the same import
    twice as long as another's): the import figures read against these.
    """
    import hashlib

    started = time.perf_counter()
    for i in range(300_000):
        hashlib.blake2b(json.dumps({"n": i, "title": f"paper {i}"}).encode()).hexdigest()
    python_seconds = time.perf_counter() - started
    conn = server()
    with conn.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "SELECT sum(length(to_tsvector('english', md5(i::text) || "
            "' robust face alignment by heatmap regression with adaptive losses'))) "
            "FROM generate_series(1, 200000) AS i"
        )
        postgres_seconds = time.perf_counter() - started
    conn.close()
    return {
        "python_seconds": round(python_seconds, 2),
        "postgres_seconds": round(postgres_seconds, 2),
    }


def run_scale(scale: float, dbname: str) -> dict:
    files = [str(p) for p in sorted(archive_for(scale).glob("*.json"))]
    url = server_url(dbname)
    admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{dbname}"')
    manage(url, "migrate", "--noinput", "-v0")
    out, seconds, rss = manage(url, "import_pwc", "--no-progress", *files)
    totals = [int(x) for x in _TOTAL.search(out).groups()]
    print(out, flush=True)
    again, re_seconds, re_rss = manage(url, "import_pwc", "--no-progress", *files)
    re_totals = [int(x) for x in _TOTAL.search(again).groups()]
    print(again, flush=True)
    figures = {
        "scale": scale,
        "records": totals[0],
        "created": totals[1],
        "rejected": totals[4],
        "import_seconds": round(seconds, 1),
        "file_seconds": {m["kind"]: float(m["seconds"]) for m in _FILE.finditer(out)},
        "records_per_second": round(totals[0] / seconds),
        "peak_rss_mb": round(rss),
        "reimport_seconds": round(re_seconds, 1),
        "reimport_file_seconds": {
            m["kind"]: float(m["seconds"]) for m in _FILE.finditer(again)
        },
        "reimport_records_per_second": round(re_totals[0] / re_seconds),
        "reimport_created": re_totals[1],
        "reimport_updated": re_totals[2],
        "reimport_peak_rss_mb": round(re_rss),
    }
    print(json.dumps(figures), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 1.0])
    parser.add_argument("--db", default="pwc2_bench_import")
    parser.add_argument(
        "--keep-as",
        help="keep the last database under this name, with the demo data loaded",
    )
    args = parser.parse_args()
    calibration = calibrate()
    print(f"machine calibration: {json.dumps(calibration)}", flush=True)
    runs = [run_scale(scale, args.db) for scale in args.scales]
    base, last = runs[0], runs[-1]
    result = {
        "benchmark": "import_archive",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "calibration": calibration,
        },
        "full_scale_counts": FULL,
        "runs": runs,
        "throughput_ratio_last_vs_first": round(
            last["records_per_second"] / base["records_per_second"], 2
        ),
        "targets_at_full_scale": TARGETS,
        "meets_targets": last["scale"] == 1
        and all(last[key] <= limit for key, limit in TARGETS.items()),
    }
    path = ROOT / "benchmarks" / "results" / "import.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    if args.keep_as:
        admin(f'DROP DATABASE IF EXISTS "{args.keep_as}" WITH (FORCE)')
        admin(f'ALTER DATABASE "{args.db}" RENAME TO "{args.keep_as}"')
        manage(server_url(args.keep_as), "load_demo")
        print(f"kept the database as {args.keep_as} (demo data loaded)")
    else:
        admin(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    main()

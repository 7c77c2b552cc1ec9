"""What the server benchmarks share: loading the synthetic archive, serving it with gunicorn, percentiles.

Imported by benchmarks/api.py, pages.py and reads.py (run as scripts, each puts the
repository root on sys.path first) and by tests that start a server the same way.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "var" / "archive"
# Fewer papers than this is a database without the archive (the demo alone holds a handful).
ARCHIVE_MIN_PAPERS = 1000


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def manage(env: dict, *args: str, capture: bool = False) -> str:
    run = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True,
                         capture_output=capture, text=True)
    return run.stdout if capture else ""


def paper_count(env: dict) -> int:
    probe = "from leaderboard.models import Paper; print(Paper.objects.count())"
    try:
        return int(manage(env, "shell", "-c", probe, capture=True).strip().splitlines()[-1])
    except (subprocess.CalledProcessError, ValueError, IndexError):
        return 0


def ensure_loaded(env: dict, database_url: str, *, scale: float = 1.0, archive: Path = ARCHIVE,
                  wait_minutes: float = 0.0, demo_benchmarks: bool = False) -> int:
    """The number of papers once the database holds the archive and the demo, loading them here if need be.

    `wait_minutes` polls that long for someone else to finish loading it first. The database is
    created (PostgreSQL) and migrated; when it holds fewer than ARCHIVE_MIN_PAPERS papers the
    synthetic archive is imported (written first by make_archive.py when `archive` has no dumps),
    then the demo knowledge base and, with `demo_benchmarks`, the demo verification benchmarks.
    """
    deadline = time.time() + wait_minutes * 60
    while (count := paper_count(env)) < ARCHIVE_MIN_PAPERS and time.time() < deadline:
        print("waiting for the archive database to be loaded …", flush=True)
        time.sleep(30)
    if database_url.startswith("postgres"):
        server, name = database_url.rsplit("/", 1)
        subprocess.run(["psql", f"{server}/postgres", "-qc", f'CREATE DATABASE "{name}"'], capture_output=True,
                       check=False)
    manage(env, "migrate", "--noinput", "-v0")
    if count < ARCHIVE_MIN_PAPERS:
        dumps = sorted(archive.glob("*.json*"))
        if len(dumps) < 5:
            print(f"writing the synthetic archive (scale {scale}) to {archive} …", flush=True)
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_archive.py"), "--scale", str(scale),
                            "--out", str(archive)], check=True)
            dumps = sorted(archive.glob("*.json*"))
        print(f"importing {len(dumps)} dump files into {database_url} …", flush=True)
        manage(env, "import_pwc", *map(str, dumps))
        manage(env, "load_demo")
    if demo_benchmarks:
        manage(env, "load_demo_benchmarks")  # installs only what is missing
    return paper_count(env)


def server_env(database_url: str, **extra: str) -> dict:
    """The environment of a benchmarked server: production settings on plain HTTP, rate limits lifted."""
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
            "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(48), "LOG_LEVEL": "WARNING",
            # Plain HTTP on loopback: production redirects it to HTTPS, which would answer every request 301.
            "SECURE_SSL_REDIRECT": "0",
            # Limits no client reaches, over one second: DRF keeps each client's request times for the whole
            # window, so an hour-long one grew to every request of the run (and of earlier runs on the same
            # cache), read and written on every API request; a second holds what production's limits allow.
            "API_THROTTLE_ANON": "100000000/second", "API_THROTTLE_USER": "100000000/second", **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int, timeout: int = 30) -> subprocess.Popen:
    """gunicorn (sync workers) serving the site on 127.0.0.1:`port`, once it accepts connections."""
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "leaderboard.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", str(timeout), "--graceful-timeout", "5", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers, even ones still busy with a slow request."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)

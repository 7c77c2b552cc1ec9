"""`make run`'s server (bin/run-local) serves what a visitor sees: DEBUG off, the site's
own error pages, collected static files, cookies that work over plain HTTP."""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


@pytest.fixture
def run_local(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(PORT=str(port), VAR_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v0"],
                   cwd=ROOT, env=env, check=True)
    process = subprocess.Popen([str(ROOT / "bin/run-local")], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        else:
            pytest.fail("bin/run-local did not answer within 120 s")
        yield base, tmp_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_run_serves_the_sites_own_404_and_hashed_static_files(run_local):
    base, tmp_path = run_local
    status, html, _ = fetch(base + "/task/no-such-task")
    assert status == 404
    assert "We could not find that page" in html and "Technical details" not in html
    status, html, headers = fetch(base + "/accounts/login/")
    assert status == 200
    # Collected with their content hashes, served by whitenoise.
    css = next(part.split('"')[0] for part in html.split('href="')[1:] if part.startswith("/static/css/site."))
    assert css != "/static/css/site.css"
    assert fetch(base + css)[0] == 200
    # Cookies work over http://127.0.0.1; a key was generated and kept under var/.
    assert "secure" not in headers.get("Set-Cookie", "").lower()
    assert len((tmp_path / "var" / "secret_key").read_text().strip()) >= 50
    # devDependencies (axe-core) are not served.
    assert fetch(base + "/static/vendor/axe-core/axe.min.js")[0] == 404

"""A small named world for the verification tests, and real Celery worker processes.

Workers get their own queue names, VAR_DIR and media folders, so they never take
another test suite's messages; they share this process's test database (a file
on SQLite, see tests/conftest.py) and broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # API throttles count per user id, which the test databases reuse
    yield
    cache.clear()


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BENCHMARKS_ROOT = tmp_path / "benchmarks"
    return tmp_path


def install_demo(slug: str = "wflw-demo", **changes):
    from leaderboard.demo import load_demo
    from leaderboard.verification.demo import load_demo_benchmarks
    from leaderboard.verification.models import Benchmark

    load_demo()
    load_demo_benchmarks([slug])
    benchmark = Benchmark.objects.get(slug=slug)
    if changes:
        Benchmark.objects.filter(pk=benchmark.pk).update(**changes)
        benchmark.refresh_from_db()
    return benchmark


@pytest.fixture
def wflw(storage, db):
    return install_demo()


def truth(benchmark):
    from leaderboard.verification.services import ground_truth

    return ground_truth(benchmark)


def predictions(benchmark, offset: float = 1.5, seed: int = 0) -> np.ndarray:
    gt = truth(benchmark)
    noise = np.random.default_rng(seed).normal(0, offset, gt.landmarks.shape)
    return gt.landmarks + noise


def predictions_json(benchmark, pred: np.ndarray | None = None, **kwargs) -> bytes:
    gt = truth(benchmark)
    pred = predictions(benchmark, **kwargs) if pred is None else pred
    return json.dumps({fid: p.tolist() for fid, p in zip(gt.face_ids, pred)}).encode()


def checkpoint_bytes(num_landmarks: int = 98, num_modules: int = 1, seed: int = 0) -> bytes:
    """A FAN with random weights, saved as safetensors (what a participant would upload)."""
    import torch
    from safetensors.torch import save

    from evaluator.models.awing import FAN

    torch.manual_seed(seed)
    model = FAN(num_modules, num_landmarks)
    return save({k: v.contiguous() for k, v in model.state_dict().items()})


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def make_user(username: str, staff: bool = False):
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user(username, password="pw-" + username, is_staff=staff)
    Token.objects.create(user=user)
    return user


def api_client(user=None):
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def post_submission(client, benchmark, data: bytes, name: str = "pred.json", kind: str = "predictions", **fields):
    payload = {"benchmark": benchmark.slug, "kind": kind, "file": upload(name, data), "model_name": "MyNet"}
    payload.update(fields)
    return client.post("/api/v1/submissions/", payload, format="multipart")


# --- worker processes ------------------------------------------------------------------


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host = f"{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{host}/{db['NAME']}"


def _broker_url() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL


def uses_redis() -> bool:
    from django.conf import settings

    return settings.CELERY_BROKER_URL.startswith("redis")


class Cluster:
    """Celery worker processes on private queues, sharing this process's database and broker."""

    def __init__(self, root: Path):
        self.root = root
        tag = uuid.uuid4().hex[:8]
        self.queues = {"cpu": f"cpu-{tag}", "gpu": f"gpu-{tag}"}
        self.processes: list[subprocess.Popen] = []

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFICATION_")}
        env.update(
            DATABASE_URL=database_url(),
            VAR_DIR=str(self.root / "var"),
            MEDIA_ROOT=str(self.root / "media"),
            BENCHMARKS_ROOT=str(self.root / "benchmarks"),
            VERIFICATION_CPU_QUEUE=self.queues["cpu"],
            VERIFICATION_GPU_QUEUE=self.queues["gpu"],
            VERIFICATION_LEASE_SECONDS=str(LEASE_SECONDS),
            DJANGO_SETTINGS_MODULE="leaderboard.settings",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - the worker writes it until it stops
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", ",".join(self.queues.values()),
             "--pool", "solo", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append(process)
        self._wait_ready(name, process)
        return process

    def start_remote(self, name: str, site_url: str, token: str, **extra: str) -> subprocess.Popen:
        """A remote gpu-queue worker (workers/remote.py): the broker, the site's URL and a token, nothing else.

        No DATABASE_URL, no Django settings, its own working directory and node cache; its media root is
        an empty folder that must stay empty.
        """
        home = self.root / name
        (home / "media").mkdir(parents=True)
        env = {
            "PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "SITE_URL": site_url, "CELERY_BROKER_URL": _broker_url(), "WORKER_TOKEN": token,
            "WORKER_CACHE_DIR": str(home / "cache"), "WORKER_WARM_UP": "98x1", "MEDIA_ROOT": str(home / "media"),
            # Only the file-system broker needs it: the folder the site's messages are in.
            "VAR_DIR": str(self.root / "var"),
            **extra,
        }
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - the worker writes it until it stops
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.remote", "worker", "-Q", self.queues["gpu"],
             "--pool", "solo", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append(process)
        self._wait_ready(name, process)
        return process

    def _wait_ready(self, name: str, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in (self.root / f"{name}.log").read_text():
                return
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker {name} did not start:\n{(self.root / f'{name}.log').read_text()}")

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 the worker and anything it started."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.root.glob("*.log")))


@pytest.fixture
def cluster(tmp_path, settings, transactional_db):
    """Settings of this process pointed at the workers' folders, queues and broker folder."""
    from workers.app import app

    root = tmp_path
    made = Cluster(root)
    settings.MEDIA_ROOT = root / "media"
    settings.BENCHMARKS_ROOT = root / "benchmarks"
    settings.VERIFICATION_QUEUES = made.queues
    settings.VERIFICATION_LEASE_SECONDS = LEASE_SECONDS
    previous = dict(app.conf.broker_transport_options or {})
    filesystem = app.conf.broker_url.startswith("filesystem")
    if filesystem:
        broker = root / "var" / "broker"
        (broker / "processed").mkdir(parents=True)
        app.conf.broker_transport_options = {
            "data_folder_in": str(broker), "data_folder_out": str(broker),
            "processed_folder": str(broker / "processed"), "control_folder": str(broker / "control"),
            "store_processed": False,
        }
        _reset_connections(app)
    try:
        yield made
    finally:
        made.stop_all()
        if filesystem:
            app.conf.broker_transport_options = previous
            _reset_connections(app)


def _reset_connections(app) -> None:
    """Drop pooled broker connections so the next message uses the current transport options."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def wait_for(predicate, timeout: float = 60, what: str = "condition", cluster: Cluster | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = cluster.logs()[-6000:] if cluster else ""
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def finished(run_ids) -> bool:
    from leaderboard.verification.models import EvaluationRun

    return EvaluationRun.objects.filter(pk__in=run_ids, status__in=EvaluationRun.FINISHED).count() == len(run_ids)


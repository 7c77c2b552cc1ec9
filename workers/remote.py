"""A GPU worker that needs only the broker and the site: no database, no shared disk, no Django.

    SITE_URL=https://site.example CELERY_BROKER_URL=redis://broker:6379/0 WORKER_TOKEN=pwcw_… \\
        celery -A workers.remote worker -Q gpu --pool solo -n gpu@%h      (or: make gpu-worker)

It takes the gpu queue's messages (a run id and links, see `workers/node.py`) and talks to the site over
HTTP with its token (`manage.py create_worker_token NAME` on the site). Optional settings:

- WORKER_CACHE_DIR: the node's cache of benchmark inputs, checkpoints and compiled kernels
  (default ~/.cache/pwc2-worker)
- WORKER_CHECKPOINT_CACHE_BYTES: how much of it checkpoints may take (default 4 GiB; the last one used is always kept)
- WORKER_NAME: how runs record this worker (default: Celery's node name and the process id)
- WORKER_WARM_UP: architectures to prepare at start, "98x4,68x4" (landmarks x stacks) or "off"
- WORKER_COMPILE: torch.compile the networks at start: "auto" (on CUDA only), "1" or "0"
- WORKER_BATCH_SIZE: images per forward pass (default 32 on CUDA, 2 on the CPU)
- VAR_DIR: only with the embedded file-system broker (filesystem://), whose folder is VAR_DIR/broker
- CELERY_VISIBILITY_TIMEOUT: as on the site (Redis), longer than the longest evaluation
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

from workers.node import Node, NodeCache, SiteClient

logger = logging.getLogger(__name__)
REQUIRED = ("SITE_URL", "CELERY_BROKER_URL", "WORKER_TOKEN")


class ConfigurationError(RuntimeError):
    pass


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or not value.strip():
        raise ConfigurationError(
            f"{name} is not set. A remote worker needs {', '.join(REQUIRED)}; "
            "WORKER_TOKEN comes from `manage.py create_worker_token NAME` on the site."
        )
    return value.strip()


def warm_up_architectures(raw: str) -> list[tuple[int, int]]:
    """ "98x4,68x4" -> [(98, 4), (68, 4)]; "off" or "" -> []."""
    if raw.strip().lower() in ("", "off", "0", "none"):
        return []
    found = []
    for item in raw.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", item)
        if not match:
            raise ConfigurationError(f"WORKER_WARM_UP={raw!r}: expected landmarks x stacks items like 98x4,68x4.")
        found.append((int(match[1]), int(match[2])))
    return found


def broker_options(broker: str) -> dict:
    if broker.startswith("filesystem://"):
        folder = Path(os.environ.get("VAR_DIR", "var")) / "broker"
        (folder / "processed").mkdir(parents=True, exist_ok=True)
        return {"data_folder_in": str(folder), "data_folder_out": str(folder),
                "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
                "store_processed": False}
    return {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT") or 4 * 3600)}


def _compile_wanted(device) -> bool:
    choice = os.environ.get("WORKER_COMPILE", "auto").strip().lower()
    if choice not in ("auto", "1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ConfigurationError(f"WORKER_COMPILE={choice!r}: use auto, 1 or 0.")
    return device.type == "cuda" if choice == "auto" else choice in ("1", "true", "yes", "on")


# No Django fix-up: even with DJANGO_SETTINGS_MODULE in the environment, this worker never loads the site.
app = Celery("pwc2-remote", fixups=[])
_broker = setting("CELERY_BROKER_URL")
app.conf.update(
    broker_url=_broker,
    broker_transport_options=broker_options(_broker),
    broker_connection_retry_on_startup=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    result_backend=None,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    task_default_queue="gpu",
)
_node: Node | None = None


def node(hostname: str = "") -> Node:
    """The node's state, made once per process: client, cache and a warm engine."""
    global _node
    if _node is None:
        from evaluator.engine import Engine

        cache_dir = Path(os.environ.get("WORKER_CACHE_DIR") or Path.home() / ".cache" / "pwc2-worker")
        batch = os.environ.get("WORKER_BATCH_SIZE")
        engine = Engine(batch_size=int(batch) if batch else None)
        if _compile_wanted(engine.device):
            engine = Engine(engine.device, compile=True, cache_dir=cache_dir, batch_size=engine.batch_size)
        name = os.environ.get("WORKER_NAME") or f"{hostname or 'worker'}:{os.getpid()}"
        client = SiteClient(setting("SITE_URL"), setting("WORKER_TOKEN"))
        budget = int(os.environ.get("WORKER_CHECKPOINT_CACHE_BYTES") or 4 << 30)
        _node = Node(client, NodeCache(cache_dir, checkpoint_bytes=budget), engine, name)
        seconds = engine.warm_up(warm_up_architectures(os.environ.get("WORKER_WARM_UP", "98x4")))
        logger.info("Worker %s warmed up on %s in %.1f s (compile: %s)", name, engine.device, seconds, engine.compile)
    return _node


@worker_init.connect
def _warm_up(sender=None, **_):
    """Before the first message: every run then finds the device initialised and networks prepared."""
    node(getattr(sender, "hostname", ""))


@app.task(bind=True, name="workers.tasks.infer_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def infer_run(self, run_id: int, checkpoint_url: str, inputs_url: str, expires_at: float, **_) -> str:
    """Run one checkpoint and send the predictions to the site; a duplicate or stale message is a no-op."""
    job = {"run_id": run_id, "checkpoint_url": checkpoint_url, "inputs_url": inputs_url, "expires_at": expires_at}
    return node(self.request.hostname or "").run(job)

"""Thin Celery tasks: each message carries a run id; the work is in the verification services."""

from __future__ import annotations

import os

from workers.app import app


@app.task(
    bind=True, name="workers.tasks.evaluate_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def evaluate_run(self, run_id: int) -> str:
    """Evaluate one run; a duplicate delivery or a finished run is a no-op."""
    from leaderboard.verification.services import run_task

    return run_task(run_id, worker=f"{self.request.hostname or 'worker'}:{os.getpid()}")


@app.task(
    bind=True, name="workers.tasks.infer_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def infer_run(self, run_id: int, **links) -> str:
    """A checkpoint run taken by a worker on the site, which reads the database and the files directly.

    The links in the message are for remote workers (`workers/remote.py`); this worker ignores them.
    """
    from leaderboard.verification.services import run_task

    return run_task(run_id, worker=f"{self.request.hostname or 'worker'}:{os.getpid()}")


@app.task(name="workers.tasks.reap_runs", ignore_result=True)
def reap_runs() -> dict:
    """Re-queue runs whose worker vanished, fail those past the retry limit, re-send lost messages."""
    from dataclasses import asdict

    from leaderboard.verification.services import reap

    return asdict(reap())


@app.task(name="workers.tasks.refresh_notable_boards", ignore_result=True)
def refresh_notable_boards(limit: int = 8) -> list[int]:
    """Choose the home page's notable boards again (a scan of every listing), so that no visitor waits for it."""
    from leaderboard.selectors import refresh_notable_boards as refresh

    return refresh(limit)

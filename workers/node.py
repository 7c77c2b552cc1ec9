"""A remote worker's work on one checkpoint run, over HTTP to the site (no Django, no database).

`run_job` takes the gpu queue's message (run id and links), claims the run with the worker token,
fetches the benchmark's public inputs through the node's cache (files named by their sha256, so a
re-run downloads nothing new), downloads the checkpoint and refuses it unless its sha256 is the
submission's, runs inference with the `Engine`, and posts the predictions back. A heartbeat thread
renews the lease and carries progress and log lines; when the site answers 409 the run was taken
away (lease lost, cancelled) and the work stops.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin

import numpy as np

logger = logging.getLogger(__name__)
# A message whose link expires sooner than this is skipped: the site re-sends the run with a fresh one.
LINK_MARGIN_SECONDS = 60
CHUNK = 1 << 20


class Refused(Exception):
    """The site answered with an error status; `status` is it, the message its reason."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status


class RunTakenAway(Exception):
    """The site no longer lets this worker hold the run."""


class TimeLimitExceeded(Exception):
    pass


class SiteClient:
    """JSON and file requests to the site, with the worker token (and a run token once claimed)."""

    def __init__(self, site_url: str, worker_token: str, timeout: float = 120):
        self.site_url = site_url.rstrip("/") + "/"
        self.worker_token, self.timeout = worker_token, timeout

    def url(self, path: str) -> str:
        return urljoin(self.site_url, path.lstrip("/"))

    def open(self, method: str, path: str, body: bytes | None = None, run_token: str = "",
             content_type: str = "application/json"):
        headers = {"Authorization": f"Bearer {self.worker_token}", "Accept": "application/json"}
        if run_token:
            headers["X-Run-Token"] = run_token
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url(path), data=body, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raise Refused(error.code, _reason(error)) from None

    def call(self, method: str, path: str, payload: dict | None = None, run_token: str = "") -> dict:
        body = json.dumps(payload).encode() if payload is not None else None
        with self.open(method, path, body, run_token) as response:
            return json.loads(response.read() or b"{}")

    def download(self, path: str, target: Path, run_token: str = "") -> str:
        """Stream `path` into `target` (atomically); returns the sha256 of what arrived."""
        digest = hashlib.sha256()
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.open("GET", path, run_token=run_token) as response, open(partial, "wb") as out:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return digest.hexdigest()


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error", error.reason))
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


class NodeCache:
    """Files on this node's disk named by sha256 (benchmark inputs, checkpoints): what is there is never
    fetched again. Checkpoints are kept up to `checkpoint_bytes`, the least recently used removed first."""

    def __init__(self, root: str | os.PathLike, checkpoint_bytes: int = 4 << 30):
        self.root = Path(root)
        self.checkpoint_bytes = checkpoint_bytes

    def path(self, sha256: str, kind: str = "inputs") -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"Not a sha256 checksum: {sha256!r}")
        return self.root / kind / sha256[:2] / sha256

    def fetch(self, client: SiteClient, url: str, sha256: str, kind: str = "inputs",
              run_token: str = "") -> tuple[Path, bool]:
        """The cached file with checksum `sha256`, downloaded from `url` if missing; (path, downloaded).

        A download whose checksum is not `sha256` is deleted and refused (ChecksumMismatch).
        """
        target = self.path(sha256, kind)
        if target.is_file():
            os.utime(target)  # recently used
            return target, False
        got = client.download(url, target, run_token)
        if got != sha256:
            target.unlink(missing_ok=True)
            raise ChecksumMismatch(got, sha256)
        return target, True

    def trim_checkpoints(self, keep: Path) -> None:
        files = sorted((p for p in (self.root / "checkpoints").rglob("*") if p.is_file() and p != keep),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        total = keep.stat().st_size
        for path in files:
            total += path.stat().st_size
            if total > self.checkpoint_bytes:
                path.unlink(missing_ok=True)


class ChecksumMismatch(ValueError):
    def __init__(self, got: str, expected: str):
        super().__init__(f"arrived with sha256 {got}, not {expected}")
        self.got, self.expected = got, expected


def load_inputs(client: SiteClient, cache: NodeCache, inputs_url: str):
    """The benchmark's faces and boxes, with images from the node's cache; (benchmark, downloaded, total)."""
    from evaluator.benchmarks import Benchmark

    manifest = client.call("GET", inputs_url)
    files, downloaded = {}, 0
    for image, entry in manifest["images"].items():
        try:
            files[image], fresh = cache.fetch(client, entry["url"], entry["sha256"])
        except ChecksumMismatch as mismatch:
            raise ValueError(f"The benchmark image {image} {mismatch}, the checksum the site listed.") from None
        downloaded += fresh
    faces = manifest["faces"]
    benchmark = Benchmark(
        format=manifest["format"],
        num_landmarks=manifest["num_landmarks"],
        face_ids=tuple(face["face_id"] for face in faces),
        image_paths=tuple(files[face["image"]] for face in faces),
        boxes=np.array([face["box"] for face in faces], dtype=np.float64).reshape(len(faces), 4),
        # The site never sends ground truth; the readers' type wants an array of the right shape.
        landmarks=np.zeros((len(faces), manifest["num_landmarks"], 2)),
    )
    return benchmark, downloaded, len(files)


@dataclass
class Heartbeat:
    """Renews the lease every `interval` seconds, sending progress and new log lines."""

    client: SiteClient
    run_id: int
    run_token: str
    interval: float
    deadline: float
    done: int = 0
    total: int = 0
    lines: list[str] = field(default_factory=list)
    lost: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self._thread = threading.Thread(target=self._beat_forever, name=f"heartbeat-{self.run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 30)

    def log(self, message: str) -> None:
        logger.info("run %s: %s", self.run_id, message)
        with self._lock:
            self.lines.append(message)

    def progress(self, done: int, total: int) -> None:
        """The inference loop's callback: records progress and stops the loop when it must stop."""
        self.done, self.total = done, total
        self.check()

    def check(self) -> None:
        if self.lost.is_set():
            raise RunTakenAway()
        if time.monotonic() > self.deadline:
            raise TimeLimitExceeded()

    def beat(self) -> None:
        with self._lock:
            lines, self.lines = self.lines, []
        payload = {"done": self.done, "total": self.total, "log": lines}
        try:
            self.client.call("POST", f"/internal/runs/{self.run_id}/heartbeat", payload, self.run_token)
        except Refused as refusal:
            if refusal.status in (403, 409):
                self.lost.set()
            logger.warning("run %s: heartbeat refused: %s", self.run_id, refusal)
        except OSError as error:  # the site is unreachable for now; the lease covers a few misses
            with self._lock:
                self.lines[:0] = lines
            logger.warning("run %s: heartbeat failed: %s", self.run_id, error)

    def _beat_forever(self) -> None:
        while not self._stop.wait(self.interval) and not self.lost.is_set():
            try:
                self.beat()
            except Exception:  # a beat that fails oddly must not end the beats: the lease would lapse
                logger.exception("run %s: heartbeat failed", self.run_id)


@dataclass
class Node:
    """What a worker keeps between runs: its connection to the site, input cache and engine."""

    client: SiteClient
    cache: NodeCache
    engine: object  # evaluator.engine.Engine (imported lazily: torch is heavy)
    name: str

    def run(self, job: dict) -> str:
        """Run one gpu-queue message; returns what happened (for the worker's log)."""
        run_id = int(job["run_id"])
        if float(job.get("expires_at", 0)) < time.time() + LINK_MARGIN_SECONDS:
            return "skipped: the message's checkpoint link has expired; the site re-sends the run with a fresh one"
        try:
            claim = self.client.call("POST", f"/internal/runs/{run_id}/claim", {"worker": self.name})
        except Refused as refusal:
            if refusal.status == 409:
                return f"skipped: {refusal}"
            raise
        heartbeat = Heartbeat(
            self.client, run_id, claim["run_token"], interval=max(claim["lease_seconds"] / 4, 0.2),
            deadline=time.monotonic() + claim["time_limit_seconds"],
        )
        with heartbeat:
            return self._evaluate(run_id, job, claim, heartbeat)

    def _evaluate(self, run_id: int, job: dict, claim: dict, heartbeat: Heartbeat) -> str:
        try:
            body, precision = self._predict(job, claim, heartbeat)
            heartbeat.stop()
            heartbeat.beat()  # the last log lines and a renewed lease, before the answer
            heartbeat.check()
            query = urlencode({"precision": precision, "device": self.device_name()})
            with self.client.open("POST", f"/internal/runs/{run_id}/predictions?{query}", body, claim["run_token"]) as r:
                return json.loads(r.read())["status"]
        except (RunTakenAway, Refused) as stop:
            if isinstance(stop, Refused) and stop.status not in (403, 409):
                return self._fail(run_id, claim, heartbeat, f"The site refused the predictions ({stop}).")
            return "aborted: the run was cancelled or handed to another worker"
        except TimeLimitExceeded:
            limit = claim["time_limit_seconds"]
            return self._fail(run_id, claim, heartbeat, f"The evaluation took longer than the {limit} s time limit "
                                                        "of the benchmark and was stopped.")
        except CheckpointRefused as refusal:
            return self._fail(run_id, claim, heartbeat, str(refusal))
        except Exception as error:
            logger.exception("run %s crashed", run_id)
            return self._fail(run_id, claim, heartbeat, f"The evaluation crashed on the worker "
                                                        f"({type(error).__name__}: {error}).")

    def _predict(self, job: dict, claim: dict, heartbeat: Heartbeat) -> tuple[bytes, str]:
        from evaluator.predictions import predictions_to_json

        started = time.perf_counter()
        benchmark, downloaded, images = load_inputs(self.client, self.cache, claim["inputs_url"])
        heartbeat.log(f"Inputs: {len(benchmark)} faces in {images} images; {downloaded} downloaded, "
                      f"{images - downloaded} from the node's cache.")
        heartbeat.progress(0, len(benchmark))
        model = self._checkpoint(job, claim, heartbeat)
        precision = self.engine.effective_precision(claim["precision"])
        heartbeat.log(f"Running FAN-{model.num_modules} on {self.device_name()} in {precision} over "
                      f"{len(benchmark)} faces.")
        pred = self.engine.predict(model, benchmark, precision=precision, progress=heartbeat.progress)
        elapsed = time.perf_counter() - started
        heartbeat.log(f"Inference done in {elapsed:.1f} s ({len(benchmark) / max(elapsed, 1e-9):.1f} faces/s "
                      "including downloads); sending the predictions.")
        return predictions_to_json(pred, benchmark).encode(), precision

    def _checkpoint(self, job: dict, claim: dict, heartbeat: Heartbeat):
        """The checkpoint's FAN, refused unless its bytes are the submission's (sha256)."""
        from evaluator.weights import (
            CheckpointError,
            load_checkpoint,
            published_architectures,
        )

        try:
            path, downloaded = self.cache.fetch(self.client, job["checkpoint_url"], claim["sha256"], "checkpoints",
                                                claim["run_token"])
        except ChecksumMismatch as mismatch:
            raise CheckpointRefused(
                f"The checkpoint the worker received has sha256 {mismatch.got}, not the submission's "
                f"{mismatch.expected}; the worker refused to run it."
            ) from None
        self.cache.trim_checkpoints(keep=path)
        source = "downloaded" if downloaded else "from the node's cache"
        heartbeat.log(f"Checkpoint: {path.stat().st_size} bytes {source}, sha256 matches the submission.")
        allowed = published_architectures(claim["num_landmarks"], claim["stacks"])
        try:
            return load_checkpoint(path.read_bytes(), num_landmarks=claim["num_landmarks"], architectures=allowed)
        except CheckpointError as error:
            raise CheckpointRefused(str(error)) from error

    def _fail(self, run_id: int, claim: dict, heartbeat: Heartbeat, reason: str) -> str:
        heartbeat.stop()
        heartbeat.beat()
        try:
            self.client.call("POST", f"/internal/runs/{run_id}/fail", {"error": reason}, claim["run_token"])
        except Refused as refusal:
            return f"aborted: {refusal}"
        return "failed"

    def device_name(self) -> str:
        import torch

        device = self.engine.device
        if device.type == "cuda":
            return f"cuda: {torch.cuda.get_device_name(device)}"
        return str(device)


class CheckpointRefused(Exception):
    """A checkpoint this worker will not run: wrong bytes, or not a FAN the benchmark accepts."""

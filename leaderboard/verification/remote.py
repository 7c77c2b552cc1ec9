"""The site's side of remote workers: tokens, signed links, and the run endpoints' rules.

A checkpoint run is split in two. A worker anywhere (`workers/remote.py`, which holds no database
credentials and never sees ground truth) claims the run over HTTP with its WorkerToken, downloads the
checkpoint through a signed, expiring link and the benchmark's public inputs (images and boxes), runs
inference, and posts predictions back. The site checks those with the parser of uploaded prediction
files, scores them against the ground truth it keeps, and publishes them exactly as an upload.

Three secrets, three refusals (all 403): the worker token (a random key; only its sha256 is stored),
the checkpoint link (signed with SECRET_KEY, valid VERIFICATION_LINK_SECONDS), and the run token that
a claim returns (the claim's nonce, signed, so a forged one is told apart from a stale one). A stale
run token, from a worker whose lease expired or whose run was cancelled, gets 409: its answer is too
late and is discarded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from leaderboard.verification import evaluation, services
from leaderboard.verification.models import (
    Benchmark,
    EvaluationRun,
    Precision,
    Submission,
    WorkerToken,
)

Status = EvaluationRun.Status
TOKEN_PREFIX = "pwcw_"
LINK_SALT = "verification.checkpoint-link"
RUN_TOKEN_SALT = "verification.run-token"
# What one heartbeat may add to the run's log.
MAX_LINES, MAX_LINE_CHARS = 50, 500


class AccessRefused(Exception):
    """A forged, revoked or expired credential: answered 403."""


class RunLost(Exception):
    """The run is no longer held by the caller's claim (lease expired, cancelled, finished): 409."""


class BadReport(ValueError):
    """A worker's request the site cannot use (missing or malformed fields): 400."""


# --- worker tokens -----------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_worker_token(name: str) -> tuple[WorkerToken, str]:
    """A new token for the worker `name`; the key is returned once and only its hash is kept."""
    name = name.strip()
    if not name:
        raise BadReport("A worker token needs a name (the node it is for, e.g. lab-gpu-1).")
    if WorkerToken.objects.filter(name=name).exists():
        raise BadReport(f"A worker token named {name!r} exists; revoke it in the admin or choose another name.")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return WorkerToken.objects.create(name=name, key_hash=_hash(key)), key


def revoke(tokens: QuerySet[WorkerToken]) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate(authorization: str) -> WorkerToken:
    """The active WorkerToken of an `Authorization: Bearer <key>` header."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.startswith(TOKEN_PREFIX):
        raise AccessRefused("Send the worker token as 'Authorization: Bearer pwcw_…' (manage.py create_worker_token).")
    token = WorkerToken.objects.filter(key_hash=_hash(key.strip())).first()
    if token is None or not token.is_active:
        raise AccessRefused("The worker token is unknown or revoked.")
    return token


# --- signed links and run tokens ---------------------------------------------------


def checkpoint_link(run_id: int) -> str:
    """The path (relative to the site) from which the run's checkpoint is downloaded, signed now."""
    signature = signing.dumps(run_id, salt=LINK_SALT)
    return f"/internal/runs/{run_id}/checkpoint?{urlencode({'signature': signature})}"


def check_link(run_id: int, signature: str) -> None:
    try:
        signed_run = signing.loads(signature, salt=LINK_SALT, max_age=settings.VERIFICATION_LINK_SECONDS)
    except signing.SignatureExpired:
        raise AccessRefused(
            "The checkpoint link has expired; the site sends the run again with a fresh link."
        ) from None
    except signing.BadSignature:
        raise AccessRefused("The checkpoint link's signature is not valid.") from None
    if signed_run != run_id:
        raise AccessRefused("The checkpoint link was signed for another run.")


def run_token(run_id: int, claim: str) -> str:
    return signing.Signer(salt=RUN_TOKEN_SALT).sign(f"{run_id}.{claim}")


def claim_of(run_id: int, token: str) -> str:
    """The claim nonce inside a run token, which must be genuine and for `run_id`."""
    try:
        value = signing.Signer(salt=RUN_TOKEN_SALT).unsign(token or "")
    except signing.BadSignature:
        raise AccessRefused("The run token is not valid (send the X-Run-Token the claim returned).") from None
    signed_run, _, claim = value.partition(".")
    if signed_run != str(run_id) or not claim:
        raise AccessRefused("The run token was issued for another run.")
    return claim


def job(run_id: int) -> dict:
    """The message a checkpoint run sends to the gpu queue: ids and links only."""
    slug = Benchmark.objects.filter(submissions__runs__id=run_id).values_list("slug", flat=True).get()
    return {
        "run_id": run_id,
        "checkpoint_url": checkpoint_link(run_id),
        "inputs_url": inputs_path(slug),
        # Not trusted by the site (the signature carries the time): it lets a worker skip a stale message.
        "expires_at": time.time() + settings.VERIFICATION_LINK_SECONDS,
    }


# --- public inputs ------------------------------------------------------------------


def inputs_path(slug: str) -> str:
    """The benchmark's public faces file (leaderboard.verification.samples.faces_document)."""
    return reverse("benchmark-faces", args=[slug])


# --- the run endpoints ----------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    run: EvaluationRun
    claim: str


def _held(run_id: int, token: str, worker: WorkerToken) -> QuerySet[EvaluationRun]:
    return services.held_runs(run_id, claim_of(run_id, token)).filter(worker_token=worker)


def held(run_id: int, token: str, worker: WorkerToken) -> Held:
    run = _held(run_id, token, worker).select_related("submission__benchmark").first()
    if run is None:
        raise RunLost(
            f"Run {run_id} is no longer held by this worker (its lease expired, or it was cancelled or "
            "finished); the answer is discarded."
        )
    return Held(run, run.claim)


def claim(run_id: int, worker: WorkerToken, name: str) -> dict:
    """Take a queued checkpoint run for a remote worker; what the worker needs to run it."""
    run = EvaluationRun.objects.select_related("submission__benchmark").filter(pk=run_id).first()
    if run is None or run.submission.kind != Submission.Kind.CHECKPOINT:
        raise RunLost(f"Run {run_id} is not a checkpoint run this site knows.")
    nonce = services.claim(run_id, f"{name or 'worker'} [{worker.name}]"[:200], worker_token=worker)
    if nonce is None:
        raise RunLost(f"Run {run_id} is not queued (already taken, finished or cancelled).")
    WorkerToken.objects.filter(pk=worker.pk).update(last_used_at=timezone.now())
    run.refresh_from_db()
    benchmark = run.submission.benchmark
    note = services.log_line(f"Claimed by {run.worker} (attempt {run.attempts}), a remote worker.")
    EvaluationRun.objects.filter(pk=run_id, claim=nonce).update(log=Concat(F("log"), Value(note)))
    return {
        "run_token": run_token(run_id, nonce),
        "sha256": run.submission.sha256,
        "size": run.submission.size,
        "num_landmarks": benchmark.num_landmarks,
        "stacks": list(services.checkpoint_stacks(benchmark)),
        "precision": benchmark.precision,
        "time_limit_seconds": benchmark.time_limit_seconds,
        "lease_seconds": settings.VERIFICATION_LEASE_SECONDS,
        "inputs_url": inputs_path(benchmark.slug),
        "attempt": run.attempts,
    }


def checkpoint(run_id: int, signature: str, token: str, worker: WorkerToken) -> Submission:
    """The submission whose checkpoint a link serves: a valid link, used by the run's current holder."""
    check_link(run_id, signature)
    try:
        return held(run_id, token, worker).run.submission
    except RunLost:
        raise AccessRefused("The link is valid only for the worker holding the run now.") from None


def heartbeat(run_id: int, token: str, worker: WorkerToken, done: int, total: int, lines: list[str]) -> None:
    """Renew the lease, record progress and the worker's log lines."""
    if not (0 <= done <= total <= 10_000_000):
        raise BadReport(f"progress must satisfy 0 <= done <= total, got done={done}, total={total}.")
    _stop_if_past_time_limit(run_id, token, worker)
    note = "".join(services.log_line(str(line)[:MAX_LINE_CHARS]) for line in lines[:MAX_LINES])
    renewed = _held(run_id, token, worker).update(
        lease_expires_at=timezone.now() + dt.timedelta(seconds=settings.VERIFICATION_LEASE_SECONDS),
        progress_done=done,
        progress_total=total,
        log=Concat(F("log"), Value(note)),
    )
    if renewed != 1:
        raise RunLost(f"Run {run_id} is no longer held by this worker; stop working on it.")


def _stop_if_past_time_limit(run_id: int, token: str, worker: WorkerToken) -> None:
    """The worker stops itself at the benchmark's limit; one that does not is stopped here."""
    holding = held(run_id, token, worker)
    benchmark = holding.run.submission.benchmark
    limit = benchmark.time_limit_seconds + settings.VERIFICATION_TIME_LIMIT_GRACE
    if holding.run.started_at and timezone.now() - holding.run.started_at > dt.timedelta(seconds=limit):
        reason = (
            f"The evaluation took longer than the {benchmark.time_limit_seconds} s time limit of the "
            f"{benchmark.slug} benchmark and was stopped."
        )
        services.finish_failed(holding.run, holding.claim, services.Journal(holding.run.log), reason)
        raise RunLost(reason)


def allowed_precisions(benchmark: Benchmark) -> set[str]:
    """fp32 always (tf32 falls back to it off CUDA); the benchmark's opt-in, if any."""
    return {Precision.FP32, benchmark.precision}


def accept_predictions(
    run_id: int, token: str, worker: WorkerToken, data: bytes, precision: str, device: str
) -> str:
    """Check, score and publish a remote worker's predictions, as for an uploaded predictions file.

    Returns "succeeded" or "failed" (predictions the parser refuses fail the run).
    """
    holding = held(run_id, token, worker)
    run, benchmark = holding.run, holding.run.submission.benchmark
    if precision not in allowed_precisions(benchmark):
        raise BadReport(f"precision must be one of {sorted(allowed_precisions(benchmark))}, not {precision!r}.")
    truth = services.ground_truth(benchmark)
    journal = services.Journal(run.log)
    journal.log(f"Received predictions ({len(data)} bytes, {precision} on {device[:100]}); scoring them on the site.")
    services.held_runs(run_id, holding.claim).update(precision=precision, device=device[:100])
    try:
        pred = evaluation.check_predictions(data, "predictions.json", truth)
    except evaluation.InvalidSubmission as error:
        outcome = services.finish_failed(run, holding.claim, journal, f"The worker's predictions were refused: {error}")
    else:
        report = evaluation.scores(pred, truth, benchmark.normaliser)
        services.held_runs(run_id, holding.claim).update(progress_done=len(truth), progress_total=len(truth))
        outcome = services.finish_succeeded(run, holding.claim, journal, report)
    if outcome not in ("succeeded", "failed"):
        raise RunLost(f"Run {run_id} was cancelled or handed to another worker while it was scored.")
    return outcome


def fail(run_id: int, token: str, worker: WorkerToken, reason: str) -> None:
    """The worker could not evaluate the checkpoint (refused file, time limit, crash): the run fails."""
    holding = held(run_id, token, worker)
    reason = (reason or "").strip()[:2000] or "The remote worker gave no reason."
    if services.finish_failed(holding.run, holding.claim, services.Journal(holding.run.log), reason) != "failed":
        raise RunLost(f"Run {run_id} was cancelled or handed to another worker.")

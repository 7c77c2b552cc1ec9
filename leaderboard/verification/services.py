"""Writes with domain rules: install benchmarks, accept submissions, run and publish evaluations.

The life of a run: `submit` validates what is cheap and saves the submission
with a queued run; after the commit a message carrying only the run id goes to
the `cpu` (predictions) or `gpu` (checkpoints) queue. A worker `claim`s the
run with a conditional update, so two deliveries never both evaluate it,
holds a lease it renews while it works, and finishes with another
conditional update that only the claim holder can make: a run is finished,
and its result published, exactly once. `reap` re-queues runs whose worker
vanished (lease expired) up to a retry limit, and re-sends messages a broker
lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leaderboard import claims
from leaderboard import services as kb
from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.models import Paper, Result
from leaderboard.verification import evaluation
from leaderboard.verification.models import (
    Benchmark,
    BenchmarkFace,
    EvaluationRun,
    Submission,
)
from leaderboard.verification.presets import CHECKPOINT_STACKS, preset_for

logger = logging.getLogger(__name__)
Status = EvaluationRun.Status


class SubmissionRefused(Exception):
    """A submission the service will not accept; `status_code` is the HTTP answer."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.status_code = status_code


class AlreadySubmitted(Exception):
    """The owner already submitted this very file to this benchmark: `submission` is that one."""

    def __init__(self, submission: Submission):
        super().__init__(
            f"You already submitted this file to {submission.benchmark.slug} as {submission.model_name!r} "
            f"(submission {submission.pk}); nothing new was created."
        )
        self.submission = submission


class RunAborted(Exception):
    """The worker no longer holds the run (cancelled, or handed to another worker)."""


class TimeLimitExceeded(Exception):
    pass


# --- benchmarks ------------------------------------------------------------------


def benchmarks_root() -> Path:
    return Path(settings.BENCHMARKS_ROOT)


def benchmark_dir(benchmark: Benchmark) -> Path:
    return benchmarks_root() / benchmark.files_dir


def ground_truth(benchmark: Benchmark) -> evaluation.Benchmark:
    return evaluation.cached_benchmark(_truth_key(benchmark), benchmark.format, benchmark_dir(benchmark), benchmark.split)


def _truth_key(benchmark: Benchmark) -> tuple:
    return (benchmark.slug, benchmark.pk, _digest(benchmark.checksums))


def install_benchmark(
    fmt: str,
    path: Path,
    slug: str,
    *,
    name: str | None = None,
    split: str | None = None,
    dataset: str | None = None,
    time_limit_seconds: int | None = None,
    daily_submission_limit: int | None = None,
    is_demo: bool = False,
) -> Benchmark:
    """Copy the official files of a benchmark to the server and describe it; re-installing replaces it."""
    if fmt not in evaluation.FORMATS:
        raise evaluation.BenchmarkError(f"Unknown format {fmt!r}; expected one of {', '.join(evaluation.FORMATS)}.")
    config = preset_for(slug, fmt)
    split = config["split"] if split is None else split
    source = evaluation.read_benchmark(fmt, Path(path))
    target = benchmarks_root() / slug
    staging = benchmarks_root() / f".{slug}.{uuid.uuid4().hex}"
    public_images = _copy_official_files(fmt, Path(path), source, staging)
    data = evaluation.read_benchmark(fmt, staging, split)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    limit = time_limit_seconds or settings.VERIFICATION_DEFAULT_TIME_LIMIT
    check_time_limit(limit)
    with transaction.atomic():
        board = kb.leaderboard_for(
            kb.task_named(config["task"]),
            kb.dataset_named(dataset or config["dataset"])[0],
            [column["metric"] for column in config["metric_columns"]],
        )
        benchmark, _ = Benchmark.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name or config["name"],
                "format": fmt,
                "num_landmarks": data.num_landmarks,
                "split": split,
                "normaliser": config["normaliser"],
                "metric_columns": config["metric_columns"],
                "subsets": [s for s in config["subsets"] if s in data.subsets],
                "leaderboard": board,
                "files_dir": slug,
                "checksums": _checksums(target),
                "face_count": len(data),
                "time_limit_seconds": limit,
                "daily_submission_limit": daily_submission_limit or settings.VERIFICATION_DAILY_LIMIT,
                "is_demo": is_demo,
            },
        )
        _save_faces(benchmark, data, {fid: public_images[fid] for fid in data.face_ids})
    return benchmark


def check_time_limit(seconds: int) -> None:
    """A run longer than the broker's visibility timeout would be handed to a second worker."""
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if timeout is not None and seconds >= timeout:
        raise ValueError(
            f"A time limit of {seconds} s is not below the broker's visibility timeout ({timeout} s); "
            "raise CELERY_VISIBILITY_TIMEOUT or lower the limit."
        )


def _copy_official_files(fmt: str, path: Path, data, staging: Path) -> dict[str, str]:
    """Copy what scoring and participants need; returns face id -> public image path."""
    staging.mkdir(parents=True)
    images: dict[str, str] = {}
    if fmt == "wflw":
        list_file = path if path.is_file() else _wflw_list(path)
        shutil.copy2(list_file, staging / list_file.name)
        for face_id, image in zip(data.face_ids, data.image_paths):
            relative = f"WFLW_images/{face_id.rsplit('#', 1)[0]}"
            _copy_once(image, staging / relative)
            images[face_id] = relative
    elif fmt == "300w":
        for face_id, image in zip(data.face_ids, data.image_paths):
            _copy_once(image, staging / face_id)
            _copy_once(image.with_suffix(".pts"), (staging / face_id).with_suffix(".pts"))
            images[face_id] = face_id
    else:
        import cv2

        mat = path / "COFW_test_color.mat" if path.is_dir() else path
        shutil.copy2(mat, staging / "COFW_test_color.mat")
        (staging / "images").mkdir()
        for index, face_id in enumerate(data.face_ids):
            relative = f"images/{face_id}.png"
            cv2.imwrite(str(staging / relative), cv2.cvtColor(data.load_image(index), cv2.COLOR_RGB2BGR))
            images[face_id] = relative
    return images


def _wflw_list(folder: Path) -> Path:
    from evaluator.benchmarks import _find_wflw_list

    return _find_wflw_list(folder)


def _copy_once(source: Path, target: Path) -> None:
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _checksums(root: Path) -> dict[str, str]:
    return {
        file.relative_to(root).as_posix(): _sha256_file(file)
        for file in sorted(root.rglob("*"))
        if file.is_file()
    }


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(checksums: dict) -> str:
    return hashlib.sha256(repr(sorted(checksums.items())).encode()).hexdigest()[:16]


def _save_faces(benchmark: Benchmark, data, images: dict[str, str]) -> None:
    benchmark.faces.all().delete()
    BenchmarkFace.objects.bulk_create(
        BenchmarkFace(
            benchmark=benchmark,
            position=i,
            face_id=face_id,
            image=images[face_id],
            box=[round(float(v), 3) for v in data.boxes[i]],
            subsets=[name for name, mask in data.subsets.items() if bool(mask[i])],
        )
        for i, face_id in enumerate(data.face_ids)
    )


# --- submissions -----------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """The fields of a submission besides its owner and benchmark."""

    kind: str
    filename: str
    data: bytes
    model_name: str
    paper_url: str = ""
    code_url: str = ""
    uses_additional_data: bool = False
    private: bool = False


def submit(owner, benchmark: Benchmark, upload: Upload) -> Submission:
    """Validate what is cheap, save the submission and a queued run, enqueue it after commit.

    A file the owner already submitted to the benchmark raises AlreadySubmitted with that
    submission, unless its runs all failed or were cancelled (then it may be tried again).
    """
    sha256 = hashlib.sha256(upload.data).hexdigest()
    earlier = earlier_submission(owner, benchmark, sha256)
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    _check_daily_limit(owner, benchmark)
    parsed = validate_artifact(owner, benchmark, upload)
    with transaction.atomic():
        submission = Submission(
            owner=owner,
            benchmark=benchmark,
            kind=upload.kind,
            original_filename=upload.filename[:300],
            sha256=sha256,
            size=len(upload.data),
            model_name=upload.model_name,
            paper_url=upload.paper_url,
            code_url=upload.code_url,
            uses_additional_data=upload.uses_additional_data,
            private=upload.private,
        )
        submission.artifact.save(f"{sha256}{Path(upload.filename).suffix.lower()[:20]}", ContentFile(upload.data), save=False)
        if parsed is not None:
            _keep_parsed(submission, parsed)
        submission.save()
        start_run(submission, requested_by=owner, reason="first evaluation")
    return submission


def validate_artifact(owner, benchmark: Benchmark, upload: Upload):
    """The evaluator's own checks, run in the request: nothing is queued for a file it refuses.

    Returns the parsed predictions (None for a checkpoint), which the first run may reuse.
    """
    if upload.kind not in Submission.Kind.values:
        raise SubmissionRefused(f"kind must be one of {', '.join(Submission.Kind.values)}, not {upload.kind!r}.")
    if not upload.data:
        raise SubmissionRefused(f"The uploaded file {upload.filename!r} is empty.")
    try:
        if upload.kind == Submission.Kind.PREDICTIONS:
            return evaluation.check_predictions(upload.data, upload.filename, ground_truth(benchmark))
        evaluation.open_checkpoint(upload.data, benchmark.num_landmarks, checkpoint_stacks(benchmark))
        return None
    except evaluation.InvalidSubmission as error:
        if evaluation.is_code_pickle(error):
            logger.warning(
                "Refused a checkpoint carrying pickled code: user=%s benchmark=%s file=%r sha256=%s",
                getattr(owner, "pk", None), benchmark.slug, upload.filename, hashlib.sha256(upload.data).hexdigest(),
            )
        raise SubmissionRefused(str(error)) from error


def checkpoint_stacks(benchmark: Benchmark) -> tuple[int, ...]:
    """The FAN sizes (numbers of stacks) a checkpoint for `benchmark` may have."""
    try:
        return tuple(preset_for(benchmark.slug, benchmark.format)["checkpoint_stacks"])
    except ValueError:  # a slug installed in another format than its preset's
        return CHECKPOINT_STACKS


def parsed_name(submission: Submission) -> str:
    """Where the request keeps the predictions it parsed, named by evaluator version and ground truth.

    A worker with another evaluator version, or ground truth re-installed since, looks for another
    name and parses the file itself.
    """
    key = hashlib.sha256(repr((evaluation.version(), _truth_key(submission.benchmark))).encode()).hexdigest()[:16]
    return f"{submission.artifact.name}.parsed-{key}.npy"


def _keep_parsed(submission: Submission, pred) -> None:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, pred, allow_pickle=False)
    submission.artifact.storage.save(parsed_name(submission), ContentFile(buffer.getvalue()))


def standing(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    """The submissions with a run queued, running or succeeded: not only failed or cancelled ones."""
    return submissions.filter(runs__status__in=[Status.QUEUED, Status.RUNNING, Status.SUCCEEDED]).distinct()


def counted_submissions(owner, benchmark: Benchmark) -> QuerySet[Submission]:
    """Submissions of the last 24 hours that count towards the daily limit (failed ones do not)."""
    since = timezone.now() - dt.timedelta(days=1)
    return standing(Submission.objects.filter(owner=owner, benchmark=benchmark, created_at__gte=since))


def earlier_submission(owner, benchmark: Benchmark, sha256: str) -> Submission | None:
    """The owner's first standing submission of the file with this sha256 to `benchmark`."""
    found = standing(Submission.objects.filter(owner=owner, benchmark=benchmark, sha256=sha256))
    return found.select_related("benchmark").order_by("created_at", "id").first()


def _check_daily_limit(owner, benchmark: Benchmark) -> None:
    if owner.is_staff:
        return
    limit = benchmark.daily_submission_limit
    if counted_submissions(owner, benchmark).count() >= limit:
        raise SubmissionRefused(
            f"You have made {limit} submissions to {benchmark.slug} in the last 24 hours, the daily limit; "
            "failed runs do not count. Try again later.",
            status_code=429,
        )


# --- queueing --------------------------------------------------------------------


def queue_for(submission: Submission) -> str:
    queues = settings.VERIFICATION_QUEUES
    return queues["gpu"] if submission.kind == Submission.Kind.CHECKPOINT else queues["cpu"]


def start_run(submission: Submission, *, requested_by=None, reason: str = "") -> EvaluationRun:
    run = EvaluationRun.objects.create(
        submission=submission,
        queue=queue_for(submission),
        requested_by=requested_by,
        reason=reason[:300],
        enqueued_at=timezone.now(),
        log=log_line(f"Queued on the {queue_for(submission)} queue ({reason or 'evaluation'})."),
    )
    send_after_commit(run)
    return run


def send_after_commit(run: EvaluationRun) -> None:
    """The message carries only the run id, and leaves only once the run is committed."""
    run_id, queue, limit = run.pk, run.queue, run.submission.benchmark.time_limit_seconds
    transaction.on_commit(lambda: send(run_id, queue, limit))


def send(run_id: int, queue: str, time_limit: int) -> bool:
    """Publish the run's message; if the broker is down the reaper re-sends it later."""
    from leaderboard.verification import remote
    from workers.app import app

    try:
        # A checkpoint run's message is what a remote worker needs besides its token: the run id and the
        # links to the checkpoint (signed, expiring) and the benchmark's public inputs; never a file.
        name, kwargs = (
            ("workers.tasks.infer_run", remote.job(run_id))
            if queue == settings.VERIFICATION_QUEUES["gpu"]
            else ("workers.tasks.evaluate_run", {"run_id": run_id})
        )
        app.send_task(
            name,
            kwargs=kwargs,
            queue=queue,
            # A backstop for pools that enforce it; the service enforces the limit itself.
            soft_time_limit=time_limit + settings.VERIFICATION_TIME_LIMIT_GRACE,
            time_limit=time_limit + 2 * settings.VERIFICATION_TIME_LIMIT_GRACE,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
        return True
    except Exception:
        logger.exception("Could not publish run %s to %s; the reaper will re-send it", run_id, queue)
        return False


# --- evaluating (in a worker) ----------------------------------------------------


def claim(run_id: int, worker: str, worker_token=None) -> str | None:
    """Take a queued run for this worker; None when it is not queued (finished, running, cancelled).

    `worker_token` is the WorkerToken of a remote worker (None for a worker on the site).
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = EvaluationRun.objects.filter(id=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        claim=token,
        worker=worker[:200],
        worker_token=worker_token,
        started_at=now,
        lease_expires_at=now + dt.timedelta(seconds=settings.VERIFICATION_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        progress_done=0,
    )
    return token if claimed == 1 else None


class Lease:
    """Renews the run's lease from a thread while the worker evaluates it."""

    def __init__(self, run_id: int, token: str):
        self.run_id, self.token = run_id, token
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_forever, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> Lease:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def renew(self) -> bool:
        expires = timezone.now() + dt.timedelta(seconds=settings.VERIFICATION_LEASE_SECONDS)
        held = held_runs(self.run_id, self.token).update(lease_expires_at=expires) == 1
        if not held:
            self.lost.set()
        return held

    def _renew_forever(self) -> None:
        interval = max(settings.VERIFICATION_LEASE_SECONDS / 4, 0.2)
        try:
            while not self._stop.wait(interval) and not self.lost.is_set():
                try:
                    self.renew()
                except Exception:
                    logger.exception("Could not renew the lease of run %s", self.run_id)
        finally:
            connection.close()


def held_runs(run_id: int, token: str) -> QuerySet[EvaluationRun]:
    return EvaluationRun.objects.filter(id=run_id, status=Status.RUNNING, claim=token)


class Journal:
    """The run's log as it grows: what it held, then the lines added here, each time-stamped."""

    def __init__(self, log: str):
        self.lines: list[str] = [log] if log else []

    def log(self, message: str) -> None:
        self.lines.append(log_line(message))


class RunContext(Journal):
    """What an evaluation reports while it works: progress, log lines, the deadline."""

    def __init__(self, run: EvaluationRun, token: str, lease: Lease):
        super().__init__(run.log)
        self.run, self.token, self.lease = run, token, lease
        self.deadline = time.monotonic() + run.submission.benchmark.time_limit_seconds
        self._last_write = 0.0

    def check(self) -> None:
        if self.lease.lost.is_set():
            raise RunAborted()
        if time.monotonic() > self.deadline:
            limit = self.run.submission.benchmark.time_limit_seconds
            raise TimeLimitExceeded(
                f"The evaluation took longer than the {limit} s time limit of the "
                f"{self.run.submission.benchmark.slug} benchmark and was stopped."
            )

    def progress(self, done: int, total: int, force: bool = False) -> None:
        self.check()
        now = time.monotonic()
        if not force and done < total and now - self._last_write < 0.5:
            return
        self._last_write = now
        updated = held_runs(self.run.pk, self.token).update(
            progress_done=done, progress_total=total, log="".join(self.lines)
        )
        if updated != 1:
            raise RunAborted()


def evaluate(run_id: int, worker: str) -> str:
    """Evaluate one run if it is still queued; returns what happened (for the worker's log)."""
    token = claim(run_id, worker)
    if token is None:
        return "skipped: the run is not queued"
    run = EvaluationRun.objects.select_related("submission__benchmark").get(pk=run_id)
    outcome = _evaluate_claimed(run, token, worker)
    if outcome in ("succeeded", "failed") and run.submission.kind == Submission.Kind.PREDICTIONS:
        _discard_parsed(run.submission)
    return outcome


def _evaluate_claimed(run: EvaluationRun, token: str, worker: str) -> str:
    with Lease(run.pk, token) as lease:
        context = RunContext(run, token, lease)
        context.log(f"Claimed by {worker} (attempt {run.attempts}); evaluator {evaluation.version()}.")
        try:
            report = _evaluate(run, context)
        except RunAborted:
            return "aborted: the run was cancelled or handed to another worker"
        except (evaluation.InvalidSubmission, TimeLimitExceeded) as error:
            return finish_failed(run, token, context, str(error))
        except Exception as error:
            logger.exception("Run %s crashed", run.pk)
            context.log(traceback.format_exc(limit=5))
            return finish_failed(run, token, context, f"The evaluation crashed ({type(error).__name__}: {error}).")
        return finish_succeeded(run, token, context, report)


def _evaluate(run: EvaluationRun, context: RunContext) -> dict:
    submission, benchmark = run.submission, run.submission.benchmark
    truth = ground_truth(benchmark)
    context.progress(0, len(truth), force=True)
    if submission.kind == Submission.Kind.PREDICTIONS:
        pred = _parsed_at_upload(run, submission, truth)
        if pred is not None:
            context.log(
                f"Scoring {submission.original_filename} ({submission.size} bytes) on {len(truth)} faces, "
                f"as parsed at upload by evaluator {evaluation.version()}."
            )
        else:
            with submission.artifact.open("rb") as handle:
                data = handle.read()
            context.log(f"Scoring {submission.original_filename} ({len(data)} bytes) on {len(truth)} faces.")
            pred = evaluation.check_predictions(data, submission.original_filename, truth)
    else:
        with submission.artifact.open("rb") as handle:
            data = handle.read()
        model = evaluation.open_checkpoint(data, benchmark.num_landmarks, checkpoint_stacks(benchmark))
        precision, device = evaluation.effective_precision(benchmark.precision), evaluation.device_name()
        held_runs(run.pk, context.token).update(precision=precision, device=device)
        context.log(f"Running the checkpoint on {device} in {precision} over {len(truth)} faces.")
        pred = evaluation.predict(model, truth, progress=context.progress, precision=precision)
    context.check()
    report = evaluation.scores(pred, truth, benchmark.normaliser)
    context.progress(len(truth), len(truth), force=True)
    return report


def _parsed_at_upload(run: EvaluationRun, submission: Submission, truth: evaluation.Benchmark):
    """The predictions the upload request parsed, for the submission's first run only.

    A re-run always parses the file again with the worker's evaluator: re-runs exist to apply
    changed evaluator code. None when there is nothing usable (another evaluator version, ground
    truth re-installed, a file that is missing or not the expected shape).
    """
    import numpy as np

    if EvaluationRun.objects.filter(submission_id=submission.pk, pk__lt=run.pk).exists():
        return None
    try:
        with submission.artifact.storage.open(parsed_name(submission), "rb") as handle:
            pred = np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    expected = (len(truth), submission.benchmark.num_landmarks, 2)
    if pred.shape != expected or pred.dtype != np.float64 or not np.isfinite(pred).all():
        return None
    return pred


def _discard_parsed(submission: Submission) -> None:
    """The first run has finished: re-runs parse the file again, so the parsed copy is not kept."""
    try:
        submission.artifact.storage.delete(parsed_name(submission))
    except OSError:
        logger.warning("Could not delete the parsed predictions of submission %s", submission.pk)


def column_values(benchmark: Benchmark, report: dict) -> dict[str, str]:
    """Leaderboard column -> the value as published (fractions scaled, fixed decimals)."""
    values = {}
    for column in benchmark.metric_columns:
        value = evaluation.metric_value(report, column["key"])
        if value is not None:
            scaled = Decimal(repr(value)) * Decimal(column.get("scale", 1))
            values[column["metric"]] = f"{scaled:.{column.get('digits', 4)}f}"
    return values


def finish_succeeded(run: EvaluationRun, token: str, context: Journal, report: dict) -> str:
    """Record the report and publish it, if the claim `token` still holds the run (else "aborted: …")."""
    metrics = column_values(run.submission.benchmark, report)
    context.log("Succeeded: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
    now = timezone.now()
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=run.submission_id)
        finished = held_runs(run.pk, token).update(
            status=Status.SUCCEEDED,
            finished_at=now,
            lease_expires_at=None,
            evaluator_version=report.get("evaluator_version", evaluation.version()),
            scores=report,
            metrics=metrics,
            ced=report.get("ced"),
            log="".join(context.lines),
            progress_done=F("progress_total"),
        )
        if finished != 1:
            return "aborted: the run was cancelled or handed to another worker"
        run.refresh_from_db()
        publish(submission, run)
    return "succeeded"


def finish_failed(run: EvaluationRun, token: str, context: Journal, reason: str) -> str:
    """Fail the run with `reason` (shown to the participant), if the claim `token` still holds it."""
    context.log(f"Failed: {reason}")
    finished = held_runs(run.pk, token).update(
        status=Status.FAILED, finished_at=timezone.now(), lease_expires_at=None, error=reason,
        log="".join(context.lines),
    )
    return "failed" if finished == 1 else "aborted: the run was cancelled or handed to another worker"


def publish(submission: Submission, run: EvaluationRun) -> None:
    """Show the run's numbers on the leaderboard: a new verified result, or the current one updated."""
    submission.current_run = run
    if submission.private or submission.benchmark.leaderboard is None:
        submission.save(update_fields=["current_run"])
        return
    if submission.result is None:
        submission.result = _record_verified_result(submission, run)
        _log(run, AuditEntry.Action.CREATE, submission.result)
    else:
        before = audit.snapshot(submission.result)
        _replace_values(submission.result, run.metrics)
        _log(run, AuditEntry.Action.UPDATE, submission.result, before)
    submission.save(update_fields=["current_run", "result"])


def _log(run: EvaluationRun, action: str, result: Result, before: dict | None = None) -> None:
    """The audit entry of a publish: the service's write, for whoever asked for the run (staff on a re-run)."""
    audit.record(
        run.requested_by, action, result, before=before, path=f"verification run {run.pk}",
        source=AuditEntry.Source.SERVICE,
    )


def _record_verified_result(submission: Submission, run: EvaluationRun) -> Result:
    """The submitter names the paper; it counts as the paper's only if claims.link_confirmed says so."""
    benchmark = submission.benchmark
    paper = _paper_for(submission.paper_url)
    return kb.record_result(
        benchmark.leaderboard,
        model_name=submission.model_name,
        metrics=run.metrics,
        paper=paper,
        paper_link_confirmed=claims.link_confirmed(submission.owner, paper),
        uses_additional_data=submission.uses_additional_data,
        evaluated_on=timezone.localdate(run.finished_at),
        provenance=Result.Provenance.VERIFIED,
        code_links=[{"url": submission.code_url, "title": "code"}] if submission.code_url else [],
        listed_paper_url=submission.paper_url,
        created_by=submission.owner,
    )


def _replace_values(result: Result, metrics: dict[str, str]) -> None:
    kb.set_metric_values(result, metrics)
    result.save(update_fields=["updated_at"])


def _paper_for(url: str) -> Paper | None:
    """The knowledge base's paper behind a submitted link, if it has one (never created from a link)."""
    if not url:
        return None
    return kb.cited_paper(url, None)


# --- admin actions -----------------------------------------------------------------


def cancel(run: EvaluationRun, by=None) -> bool:
    """Stop a queued or running run; its worker notices at the next progress report."""
    who = getattr(by, "username", "") or "an administrator"
    cancelled = EvaluationRun.objects.filter(id=run.pk, status__in=EvaluationRun.ACTIVE).update(
        status=Status.CANCELLED, finished_at=timezone.now(), lease_expires_at=None, claim="",
        error=f"Cancelled by {who}.",
    )
    return cancelled == 1


def rerun(submissions, by=None, reason: str = "re-run") -> list[EvaluationRun]:
    """A new run for each submission without an active one; earlier runs stay in the history.

    The leaderboard keeps showing the current run until the new one succeeds.
    """
    started = []
    with transaction.atomic():
        ids = {s.pk for s in submissions}
        for submission in Submission.objects.select_for_update().select_related("benchmark").filter(pk__in=ids):
            if submission.runs.filter(status__in=EvaluationRun.ACTIVE).exists():
                continue
            started.append(start_run(submission, requested_by=by, reason=reason))
    return started


def current_verified(benchmark: Benchmark) -> QuerySet[Submission]:
    """The submissions whose current run is the verified result of `benchmark`."""
    return Submission.objects.filter(benchmark=benchmark, current_run__status=Status.SUCCEEDED)


def rerun_benchmark(benchmark: Benchmark, by=None, reason: str = "re-run of every verified result") -> list:
    return rerun(list(current_verified(benchmark)), by=by, reason=reason)


# --- reaping -------------------------------------------------------------------------


@dataclass
class Reaped:
    requeued: int = 0
    failed: int = 0
    resent: int = 0


def reap(now: dt.datetime | None = None) -> Reaped:
    """Recover runs whose worker vanished and messages the broker lost."""
    now = now or timezone.now()
    outcome = Reaped()
    expired = EvaluationRun.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
    for run in expired.select_related("submission__benchmark"):
        if run.attempts >= settings.VERIFICATION_MAX_ATTEMPTS:
            outcome.failed += _give_up(run, now)
        else:
            outcome.requeued += _requeue(run, now)
    stale = now - dt.timedelta(seconds=settings.VERIFICATION_RESEND_AFTER_SECONDS)
    for run in EvaluationRun.objects.filter(status=Status.QUEUED, enqueued_at__lt=stale).select_related(
        "submission__benchmark"
    ):
        if EvaluationRun.objects.filter(id=run.pk, status=Status.QUEUED, enqueued_at=run.enqueued_at).update(
            enqueued_at=now
        ):
            outcome.resent += send(run.pk, run.queue, run.submission.benchmark.time_limit_seconds)
    return outcome


def _requeue(run: EvaluationRun, now: dt.datetime) -> int:
    note = log_line(f"The worker {run.worker} stopped renewing its lease; queued again (attempt {run.attempts}).")
    requeued = EvaluationRun.objects.filter(
        id=run.pk, status=Status.RUNNING, claim=run.claim, lease_expires_at__lt=now
    ).update(
        status=Status.QUEUED, claim="", lease_expires_at=None, enqueued_at=now, log=run.log + note
    )
    if requeued:
        send(run.pk, run.queue, run.submission.benchmark.time_limit_seconds)
    return requeued


def _give_up(run: EvaluationRun, now: dt.datetime) -> int:
    reason = (
        f"The worker evaluating this run stopped responding {run.attempts} times (last: {run.worker}); "
        "giving up. An administrator can re-run it."
    )
    return EvaluationRun.objects.filter(
        id=run.pk, status=Status.RUNNING, claim=run.claim, lease_expires_at__lt=now
    ).update(
        status=Status.FAILED, claim="", lease_expires_at=None, finished_at=now, error=reason,
        log=run.log + log_line(f"Failed: {reason}"),
    )


def log_line(message: str) -> str:
    return f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"


def worker_name() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(run_id: int, worker: str | None = None) -> str:
    """The body of the worker's task: a fresh database connection, then `evaluate`."""
    close_old_connections()
    try:
        return evaluate(run_id, worker or worker_name())
    finally:
        close_old_connections()

"""Reads with domain rules: who may see which submission, a benchmark's public faces."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from leaderboard.verification.models import (
    Benchmark,
    BenchmarkFace,
    EvaluationRun,
    Submission,
)


def visible_submissions(user) -> QuerySet[Submission]:
    """Public submissions for everyone; private ones only for their owner and staff, each with its owner,
    benchmark and leaderboard (its runs, the current one among them, come with with_runs)."""
    submissions = Submission.objects.select_related("owner", "benchmark__leaderboard")
    if user.is_authenticated and user.is_staff:
        return submissions
    if user.is_authenticated:
        return submissions.filter(Q(private=False) | Q(owner=user))
    return submissions.filter(private=False)


# What a run's page never shows: the evaluator's full report, with every face's error.
UNSHOWN_RUN_FIELDS = ("scores",)
# What a list of submissions leaves to each submission's own page: a run's log and its CED curve
# (1001 points each way), read for one submission, never for a page of 50.
DETAIL_RUN_FIELDS = ("log", "ced")


RUN_ORDER = ("-created_at", "-id")  # a submission's runs, the latest first


def with_runs(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    runs = EvaluationRun.objects.defer(*UNSHOWN_RUN_FIELDS).order_by(*RUN_ORDER)
    return submissions.prefetch_related(Prefetch("runs", queryset=runs))


def latest_run_rows(submission_ids: list[int], columns: list[str]) -> dict[int, dict]:
    """The latest run of each of these submissions that has one, as a values() row of `columns`."""
    latest = EvaluationRun.objects.filter(submission_id=OuterRef("submission_id")).order_by(*RUN_ORDER)
    runs = EvaluationRun.objects.filter(submission_id__in=submission_ids, id=Subquery(latest.values("id")[:1]))
    return {row["submission_id"]: row for row in runs.values("submission_id", *columns)}


def latest_run(submission: Submission) -> EvaluationRun | None:
    runs = list(submission.runs.all())
    return runs[0] if runs else None


def can_manage(user, submission: Submission) -> bool:
    """Cancel its runs: the owner and staff."""
    return user.is_authenticated and (user.is_staff or submission.owner_id == user.pk)


def benchmarks() -> QuerySet[Benchmark]:
    return Benchmark.objects.select_related("leaderboard")


def public_faces(benchmark: Benchmark) -> QuerySet[BenchmarkFace]:
    return benchmark.faces.only("id", "benchmark_id", "position", "face_id", "image", "box", "subsets").order_by(
        "position"
    )

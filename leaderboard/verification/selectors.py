"""Reads with domain rules: who may see which submission, a benchmark's public faces."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

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


def with_runs(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    return submissions.prefetch_related(Prefetch("runs", queryset=EvaluationRun.objects.order_by("-created_at", "-id")))


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

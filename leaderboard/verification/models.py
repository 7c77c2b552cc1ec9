"""Benchmarks, submissions and evaluation runs of the verification service.

A benchmark's ground truth stays on the server (its official files under
``BENCHMARKS_ROOT/<slug>/``, never under MEDIA_ROOT); only face ids, images and
boxes are public.
A submission is immutable; every attempt at evaluating it is an EvaluationRun,
and the leaderboard result points at the submission whose current run succeeded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leaderboard.models import Leaderboard, Result


class Precision(models.TextChoices):
    FP32 = "fp32", "float32 (IEEE)"
    TF32 = "tf32", "TensorFloat-32 convolutions (CUDA only; float32 elsewhere)"
    BF16 = "bf16", "bfloat16 autocast"


class Benchmark(models.Model):
    class Format(models.TextChoices):
        WFLW = "wflw", "WFLW list file (98 landmarks)"
        W300 = "300w", "300W .pts files (68 landmarks)"
        COFW = "cofw", "COFW .mat file (29 landmarks)"

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    format = models.CharField(max_length=10, choices=Format.choices)
    num_landmarks = models.PositiveIntegerField()
    # The subset of the installed files this benchmark scores ("" = every face).
    split = models.CharField(max_length=50, blank=True)
    normaliser = models.CharField(max_length=50, default="inter_ocular")
    # [{"metric": "NME (inter-ocular)", "key": "nme", "scale": 100, "digits": 2}]: leaderboard columns.
    metric_columns = models.JSONField(default=list)
    subsets = models.JSONField(default=list, blank=True)
    leaderboard = models.ForeignKey(
        Leaderboard, null=True, blank=True, on_delete=models.SET_NULL, related_name="benchmarks"
    )
    files_dir = models.CharField(max_length=300)  # relative to BENCHMARKS_ROOT
    checksums = models.JSONField(default=dict)  # relative path -> sha256 of the installed official files
    face_count = models.PositiveIntegerField(default=0)
    time_limit_seconds = models.PositiveIntegerField(default=3600)
    # Checkpoint runs are verified in IEEE float32 unless the benchmark opts in to a faster precision
    # (bf16 on any device, tf32 on CUDA); the run records what the worker used.
    precision = models.CharField(max_length=10, choices=Precision.choices, default=Precision.FP32)
    daily_submission_limit = models.PositiveIntegerField(default=5)
    is_demo = models.BooleanField(default=False)
    installed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/benchmarks/{self.slug}/"


class BenchmarkFace(models.Model):
    """What a participant needs about one face: its id, image and detection box."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="faces")
    position = models.PositiveIntegerField()  # order in the official files
    face_id = models.CharField(max_length=500)
    image = models.CharField(max_length=500)  # relative to the benchmark's images
    box = models.JSONField()  # [x_min, y_min, x_max, y_max] in image pixels
    subsets = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["benchmark", "position"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "face_id"], name="unique_benchmark_face"),
            models.UniqueConstraint(fields=["benchmark", "position"], name="unique_benchmark_position"),
        ]

    def __str__(self) -> str:
        return self.face_id


class Submission(models.Model):
    """Who submitted what for which benchmark; never changed after upload."""

    class Kind(models.TextChoices):
        PREDICTIONS = "predictions", "predictions file"
        CHECKPOINT = "checkpoint", "model checkpoint"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="submissions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    artifact = models.FileField(upload_to="submissions/%Y/%m/", max_length=300)
    original_filename = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    model_name = models.CharField(max_length=300)
    paper_url = models.URLField(max_length=1000, blank=True)
    code_url = models.URLField(max_length=1000, blank=True)
    uses_additional_data = models.BooleanField(default=False)
    private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The leaderboard entry this submission verified, and the run whose numbers it shows.
    result = models.OneToOneField(
        Result, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification"
    )
    current_run = models.ForeignKey(
        "EvaluationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "benchmark", "created_at"])]

    def __str__(self) -> str:
        return f"{self.model_name} on {self.benchmark.slug} (#{self.pk})"

    def get_absolute_url(self) -> str:
        return self.url_of(self.pk)

    @staticmethod
    def url_of(pk: int) -> str:
        """A submission's page, from its id alone (lists read rows, not instances)."""
        return f"/submissions/{pk}/"


class EvaluationRun(models.Model):
    """One attempt at evaluating a submission: the first run and every re-run."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    queue = models.CharField(max_length=20)
    reason = models.CharField(max_length=300, blank=True)  # why it was started ("re-run after a metric fix")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)  # what the participant reads when it failed
    worker = models.CharField(max_length=200, blank=True)
    # The token of the remote worker holding (or that last held) the run; null for a worker on the site.
    worker_token = models.ForeignKey(
        "WorkerToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    precision = models.CharField(max_length=10, blank=True)  # what the checkpoint ran in ("" for predictions)
    device = models.CharField(max_length=100, blank=True)  # where it ran ("cpu", "cuda: NVIDIA H200")
    claim = models.CharField(max_length=64, blank=True)  # token of the worker holding the run
    attempts = models.PositiveIntegerField(default=0)  # claims so far (re-queued after a lost worker)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    evaluator_version = models.CharField(max_length=50, blank=True)
    scores = models.JSONField(null=True, blank=True)  # the evaluator's full report
    metrics = models.JSONField(null=True, blank=True)  # leaderboard column -> value string
    ced = models.JSONField(null=True, blank=True)  # {"x": [...], "y": [...]}

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"]),
            models.Index(fields=["status", "enqueued_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_done__lte=models.F("progress_total")) | Q(progress_total=0),
                name="run_progress_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of submission {self.submission_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def get_absolute_url(self) -> str:
        return f"/submissions/{self.submission_id}/#run-{self.pk}"


class WorkerToken(models.Model):
    """A remote worker's credential (`manage.py create_worker_token NAME`); only its hash is kept.

    The worker sends it with every request to the internal run endpoints; staff revoke it in the admin.
    """

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)  # sha256 hex of the token
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

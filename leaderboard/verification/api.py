"""REST API of the verification service: benchmarks, their public faces, submissions and runs."""

from __future__ import annotations

import functools

from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from leaderboard.api.base import ApiViewSetMixin
from leaderboard.api.throttling import ScopedThrottle
from leaderboard.models import Leaderboard
from leaderboard.verification import samples, selectors, services
from leaderboard.verification.models import (
    Benchmark,
    BenchmarkFace,
    EvaluationRun,
    Submission,
)
from leaderboard.verification.uploads import cap_uploads, declared_too_large, limit_text

ErrorSerializer = inline_serializer("VerificationError", fields={"error": serializers.CharField()})


class BenchmarkSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    leaderboard = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    faces_url = serializers.SerializerMethodField()
    faces_file_url = serializers.SerializerMethodField(
        help_text="The public faces file (ids, images, boxes, landmark count) for `python -m evaluator validate`"
    )
    sample_predictions_url = serializers.SerializerMethodField(
        help_text="A predictions file the server accepts (the mean-shape baseline); null when not published"
    )
    landmark_order_url = serializers.SerializerMethodField(
        help_text="An SVG of the landmarks numbered in file order; null when not published"
    )

    class Meta:
        model = Benchmark
        fields = [
            "slug", "name", "description", "format", "num_landmarks", "face_count", "normaliser", "metrics",
            "subsets", "leaderboard", "time_limit_seconds", "daily_submission_limit", "precision", "is_demo", "checksums",
            "url", "faces_url", "faces_file_url", "sample_predictions_url", "landmark_order_url",
        ]

    def get_leaderboard(self, benchmark: Benchmark) -> str | None:
        return benchmark.leaderboard.get_absolute_url() if benchmark.leaderboard else None

    def get_metrics(self, benchmark: Benchmark) -> list[str]:
        return [column["metric"] for column in benchmark.metric_columns]

    def get_faces_url(self, benchmark: Benchmark) -> str:
        return f"/api/v1/benchmarks/{benchmark.slug}/faces/"

    def get_faces_file_url(self, benchmark: Benchmark) -> str:
        return samples.links(benchmark)["faces_file"]

    def get_sample_predictions_url(self, benchmark: Benchmark) -> str | None:
        return samples.links(benchmark)["sample_predictions"]

    def get_landmark_order_url(self, benchmark: Benchmark) -> str | None:
        return samples.links(benchmark)["landmark_order"]


class FaceSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    box = serializers.ListField(child=serializers.FloatField(), help_text="x_min, y_min, x_max, y_max in pixels")
    subsets = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = BenchmarkFace
        fields = ["face_id", "position", "image_url", "box", "subsets"]

    def get_image_url(self, face: BenchmarkFace) -> str:
        return self.context["request"].build_absolute_uri(f"/benchmarks/{self.context['slug']}/images/{face.image}")


class RunSummarySerializer(serializers.ModelSerializer):
    """A run as a list of submissions shows it: everything but its log and CED curve."""

    progress = serializers.SerializerMethodField()

    class Meta:
        model = EvaluationRun
        fields = [
            "id", "status", "queue", "reason", "progress", "worker", "precision", "device", "attempts", "created_at",
            "started_at", "finished_at", "evaluator_version", "metrics", "error",
        ]

    @extend_schema_field(
        inline_serializer("RunProgress", fields={"done": serializers.IntegerField(), "total": serializers.IntegerField()})
    )
    def get_progress(self, run: EvaluationRun) -> dict:
        return {"done": run.progress_done, "total": run.progress_total}


class RunSerializer(RunSummarySerializer):
    """A run as its submission shows it, with its log and CED curve."""

    class Meta(RunSummarySerializer.Meta):
        fields = [*RunSummarySerializer.Meta.fields, *selectors.DETAIL_RUN_FIELDS]


class SubmissionSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    benchmark = serializers.CharField(source="benchmark.slug", read_only=True)
    status = serializers.SerializerMethodField()
    run = serializers.SerializerMethodField()
    runs = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id", "url", "owner", "benchmark", "kind", "model_name", "paper_url", "code_url",
            "uses_additional_data", "private", "original_filename", "sha256", "size", "created_at", "status",
            "run", "runs", "result",
        ]

    def get_status(self, submission: Submission) -> str | None:
        run = selectors.latest_run(submission)
        return run.status if run else None

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_run(self, submission: Submission) -> dict | None:
        runs = self._runs(submission)  # the latest first (selectors.with_runs): serialized once, for both fields
        return runs[0] if runs else None

    @extend_schema_field(RunSerializer(many=True))
    def get_runs(self, submission: Submission) -> list[dict]:
        return self._runs(submission)

    run_serializer = RunSerializer

    @cached_property
    def _run_serializer(self) -> RunSummarySerializer:
        # One for every submission of a list: a ModelSerializer builds its fields anew for each instance.
        return self.run_serializer(context=self.context)

    @cached_property
    def _shown_runs(self) -> dict[int, list[dict]]:
        return {}

    def _runs(self, submission: Submission) -> list[dict]:
        if submission.pk not in self._shown_runs:
            self._shown_runs[submission.pk] = [self._run_serializer.to_representation(run) for run in submission.runs.all()]
        return self._shown_runs[submission.pk]

    @extend_schema_field(
        inline_serializer(
            "VerifiedResult",
            fields={"id": serializers.IntegerField(), "run": serializers.IntegerField(allow_null=True),
                    "leaderboard": serializers.CharField(allow_null=True)},
            allow_null=True,
        )
    )
    def get_result(self, submission: Submission) -> dict | None:
        board = submission.benchmark.leaderboard
        return verified_result(submission.result_id, submission.current_run_id, board.slug if board else None)


def verified_result(result_id: int | None, run_id: int | None, board_slug: str | None) -> dict | None:
    """The leaderboard entry a submission's verified run made, if any."""
    if result_id is None:
        return None
    return {"id": result_id, "run": run_id, "leaderboard": Leaderboard.url_of(board_slug) if board_slug else None}


class SubmissionSummarySerializer(SubmissionSerializer):
    """A submission in the list: its latest run, without its log and CED curve (GET the submission for
    every run, with those)."""

    run_serializer = RunSummarySerializer

    class Meta(SubmissionSerializer.Meta):
        fields = [field for field in SubmissionSerializer.Meta.fields if field != "runs"]

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_run(self, submission: Submission) -> dict | None:
        return super().get_run(submission)


def _read_from_rows(serializer: serializers.Serializer) -> list[tuple[str, serializers.Field, str]]:
    """(name, field, values() column) of each field: a field whose source is "owner.username" reads
    the column "owner__username"; a computed one (a method, get_absolute_url) reads none."""
    return [
        (name, field, "" if isinstance(field, serializers.SerializerMethodField) or field.source == "get_absolute_url"
         else field.source.replace(".", "__"))
        for name, field in serializer.fields.items()
    ]


def _from_row(row: dict, fields: list, computed: dict) -> dict:
    """What Serializer.to_representation gives for the instance that `row` was read from."""
    shown = {}
    for name, field, column in fields:
        if not column:
            shown[name] = computed[name]()
        else:
            value = row[column]
            shown[name] = None if value is None else field.to_representation(value)
    return shown


class SubmissionListing:
    """A page of the list, as SubmissionSummarySerializer shows it, built from values() rows of the
    submissions and of their latest runs: one serializer's fields for the whole page, no model instance
    and no serializer per row (a page of 50 submissions of two runs took 13 ms in-process, nearly all of
    it the instances and serializers). A parity test holds the two to the same output."""

    def __init__(self):
        self.fields = _read_from_rows(SubmissionSummarySerializer())
        self.run_fields = _read_from_rows(RunSummarySerializer())
        self.columns = [
            "id", "result_id", "current_run_id", "benchmark__leaderboard__slug",
            *(column for _, _, column in self.fields if column),
        ]

    def show(self, rows) -> list[dict]:
        rows = list(rows)
        run_columns = ["progress_done", "progress_total", *(column for _, _, column in self.run_fields if column)]
        runs = selectors.latest_run_rows([row["id"] for row in rows], run_columns)
        return [self._submission(row, self._run(runs.get(row["id"]))) for row in rows]

    def _run(self, row: dict | None) -> dict | None:
        if row is None:
            return None
        progress = {"done": row["progress_done"], "total": row["progress_total"]}
        return _from_row(row, self.run_fields, {"progress": lambda: progress})

    def _submission(self, row: dict, run: dict | None) -> dict:
        return _from_row(row, self.fields, {
            "url": lambda: Submission.url_of(row["id"]),
            "status": lambda: run["status"] if run else None,
            "run": lambda: run,
            "result": lambda: verified_result(row["result_id"], row["current_run_id"],
                                              row["benchmark__leaderboard__slug"]),
        })


@functools.cache
def submission_listing() -> SubmissionListing:
    """One listing for every request: its fields hold no request's state."""
    return SubmissionListing()


class SubmissionInputSerializer(serializers.Serializer):
    benchmark = serializers.SlugRelatedField(slug_field="slug", queryset=Benchmark.objects.all())
    kind = serializers.ChoiceField(choices=Submission.Kind.choices)
    file = serializers.FileField(allow_empty_file=True)
    model_name = serializers.CharField(max_length=300)
    paper_url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    code_url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    uses_additional_data = serializers.BooleanField(required=False, default=False)
    private = serializers.BooleanField(required=False, default=False)


class RerunResultSerializer(serializers.Serializer):
    runs = serializers.ListField(child=serializers.IntegerField(), help_text="ids of the runs started")


def read_upload(data: dict) -> services.Upload:
    upload = data["file"]
    return services.Upload(
        kind=data["kind"],
        filename=upload.name or "upload",
        data=upload.read(),
        model_name=data["model_name"],
        paper_url=data["paper_url"],
        code_url=data["code_url"],
        uses_additional_data=data["uses_additional_data"],
        private=data["private"],
    )


class IsStaff(permissions.BasePermission):
    message = "Only staff may re-run evaluations."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


@extend_schema_view(
    list=extend_schema(summary="Benchmarks the service verifies"),
    retrieve=extend_schema(summary="A benchmark: landmark layout, metrics, subsets"),
)
class BenchmarkViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BenchmarkSerializer
    lookup_field = "slug"
    filter_backends: list = []

    def get_queryset(self):
        return selectors.benchmarks().order_by("slug")

    @extend_schema(summary="The faces to predict: id, image URL and box (never the ground truth)",
                   responses=FaceSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=FaceSerializer)
    def faces(self, request, slug=None):
        benchmark = self.get_object()
        page = self.paginate_queryset(selectors.public_faces(benchmark))
        serializer = FaceSerializer(page, many=True, context={"request": request, "slug": benchmark.slug})
        return self.get_paginated_response(serializer.data)

    @extend_schema(summary="Re-run every current verified result of the benchmark (staff)", request=None,
                   responses={202: RerunResultSerializer, 403: ErrorSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def rerun(self, request, slug=None):
        runs = services.rerun_benchmark(self.get_object(), by=request.user, reason="re-run of the benchmark")
        return Response({"runs": [run.pk for run in runs]}, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        summary="Submissions you may see (public ones, and your own)",
        description="Each submission with its latest run, without the run's log and CED curve: GET the "
        "submission for every run, with those.",
    ),
    retrieve=extend_schema(summary="A submission with its runs: status, progress, metrics, log"),
)
class SubmissionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SubmissionSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "submissions"
    filter_backends: list = []

    def get_throttles(self):
        throttles = super().get_throttles()
        return throttles + [ScopedThrottle()] if self.action == "create" else throttles

    def initialize_request(self, request, *args, **kwargs):
        cap_uploads(request)  # before DRF or the CSRF check parse the body
        return super().initialize_request(request, *args, **kwargs)

    def get_serializer_class(self):
        return SubmissionSummarySerializer if self.action == "list" else SubmissionSerializer

    def get_queryset(self):
        submissions = selectors.visible_submissions(self.request.user)
        if self.action == "list":
            if self.request.query_params.get("mine") and self.request.user.is_authenticated:
                submissions = submissions.filter(owner=self.request.user)
        else:
            submissions = selectors.with_runs(submissions)
        return submissions.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        listing = submission_listing()
        page = self.paginate_queryset(self.get_queryset().values(*listing.columns))
        return self.get_paginated_response(listing.show(page))

    @extend_schema(
        summary="Submit predictions or a checkpoint for verification",
        request={"multipart/form-data": SubmissionInputSerializer},
        description=(
            "201: a new submission, its first run queued. 200: you already submitted this very file "
            "(same sha256) to this benchmark and it has not failed or been cancelled: the answer is "
            "that earlier submission, unchanged, with its URL in the Location header; nothing is created. "
            "A file whose earlier submission failed or was cancelled is accepted again (201)."
        ),
        responses={
            201: SubmissionSerializer,
            200: OpenApiResponse(SubmissionSerializer, description="The earlier submission of the same file"),
            400: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def create(self, request, *args, **kwargs):
        if declared_too_large(request) or getattr(request._request, "upload_refused", ""):
            return Response({"error": limit_text()}, status=status.HTTP_400_BAD_REQUEST)
        form = SubmissionInputSerializer(data=request.data)
        if getattr(request._request, "upload_refused", ""):
            return Response({"error": limit_text()}, status=status.HTTP_400_BAD_REQUEST)
        form.is_valid(raise_exception=True)
        try:
            submission = services.submit(request.user, form.validated_data["benchmark"], read_upload(form.validated_data))
        except services.AlreadySubmitted as duplicate:
            return self._submission_response(duplicate.submission, status.HTTP_200_OK)
        except services.SubmissionRefused as refusal:
            return Response({"error": str(refusal)}, status=refusal.status_code)
        return self._submission_response(submission, status.HTTP_201_CREATED)

    def _submission_response(self, submission: Submission, code: int) -> Response:
        submission = selectors.with_runs(Submission.objects.filter(pk=submission.pk)).get()
        location = self.request.build_absolute_uri(f"/api/v1/submissions/{submission.pk}/")
        return Response(SubmissionSerializer(submission).data, status=code, headers={"Location": location})

    @extend_schema(summary="Re-run the submission (staff); the leaderboard switches only if it succeeds",
                   request=None, responses={202: RerunResultSerializer, 403: ErrorSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def rerun(self, request, pk=None):
        runs = services.rerun([self.get_object()], by=request.user, reason="re-run by staff")
        return Response({"runs": [run.pk for run in runs]}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Cancel the queued or running run (owner or staff)", request=None,
                   responses={200: SubmissionSerializer, 403: ErrorSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def cancel(self, request, pk=None):
        submission = self.get_object()
        if not selectors.can_manage(request.user, submission):
            raise PermissionDenied("Only the owner of a submission or staff may cancel its runs.")
        active = [run for run in submission.runs.all() if run.is_active]
        if not active or not any(services.cancel(run, by=request.user) for run in active):
            return Response({"error": "No queued or running run to cancel."}, status=status.HTTP_409_CONFLICT)
        submission = get_object_or_404(selectors.with_runs(Submission.objects.all()), pk=submission.pk)
        return Response(SubmissionSerializer(submission).data)

"""Tasks, datasets and evaluation tables (leaderboards): read anonymously, written with a token.

Beyond the old API: the ranked SotA table of a leaderboard with its
SotA-over-time series, and CSV/JSON export of it.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from leaderboard import exports, selectors, writes
from leaderboard.api import filters, inputs, serializers
from leaderboard.api.base import WriteViewSet
from leaderboard.api.catalogue import datasets, nested_list, papers, tasks
from leaderboard.api.errors import describe
from leaderboard.api.permissions import IsOwnerOrStaffOrReadOnly
from leaderboard.api.sota import SotaPageQuerySerializer, SotaQuerySerializer, sota_body
from leaderboard.cache import cached_table
from leaderboard.models import Leaderboard, Metric

NO_CONTENT = {204: OpenApiResponse(description="deleted")}


class TaskViewSet(WriteViewSet):
    """Tasks; `id` is the slug of the task page (/task/<id>)."""

    queryset = tasks()
    serializer_class = serializers.TaskSerializer
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    lookup_field = "slug"
    lookup_url_kwarg = "task_id"
    filterset_class = filters.TaskFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name"]  # unique: no tie-breaker, so the order is read from its index

    @extend_schema(request=inputs.TaskCreateSerializer, responses={201: serializers.TaskSerializer})
    def create(self, request):
        task = writes.create_task(self.actor, self.valid(inputs.TaskCreateSerializer, request))
        return Response(serializers.TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=inputs.TaskUpdateSerializer, responses=serializers.TaskSerializer)
    def partial_update(self, request, task_id=None):
        task = self.get_object()
        task = writes.update_task(self.actor, task, self.valid(inputs.TaskUpdateSerializer, request))
        return Response(serializers.TaskSerializer(task).data)

    @extend_schema(responses=NO_CONTENT)
    def destroy(self, request, task_id=None):
        writes.delete(self.actor, self.get_object(), "task")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @nested_list(serializers.TaskSerializer)
    def parents(self, request, task_id=None):
        return self.paginated(self.get_object().parents.order_by("name", "id"), serializers.TaskSerializer)

    @nested_list(serializers.TaskSerializer)
    def children(self, request, task_id=None):
        return self.paginated(self.get_object().children.order_by("name", "id"), serializers.TaskSerializer)

    @nested_list(serializers.PaperSerializer)
    def papers(self, request, task_id=None):
        items = papers().filter(tasks=self.get_object()).order_by("-published", "id")
        return self.paginated(items, serializers.PaperSerializer)

    @nested_list(serializers.EvaluationTableSerializer)
    def evaluations(self, request, task_id=None):
        items = boards().filter(task=self.get_object()).order_by("slug", "id")
        return self.paginated(items, serializers.EvaluationTableSerializer)


class DatasetViewSet(WriteViewSet):
    """Datasets; `id` is the slug of the dataset page (/dataset/<id>)."""

    queryset = datasets()
    serializer_class = serializers.DatasetSerializer
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    lookup_field = "slug"
    lookup_url_kwarg = "dataset_id"
    filterset_class = filters.DatasetFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name"]  # unique: no tie-breaker, so the order is read from its index

    @extend_schema(request=inputs.DatasetCreateSerializer, responses={201: serializers.DatasetSerializer})
    def create(self, request):
        dataset = writes.create_dataset(self.actor, self.valid(inputs.DatasetCreateSerializer, request))
        return Response(serializers.DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=inputs.DatasetUpdateSerializer, responses=serializers.DatasetSerializer)
    def partial_update(self, request, dataset_id=None):
        dataset = self.get_object()
        dataset = writes.update_dataset(self.actor, dataset, self.valid(inputs.DatasetUpdateSerializer, request))
        return Response(serializers.DatasetSerializer(dataset).data)

    @extend_schema(responses=NO_CONTENT)
    def destroy(self, request, dataset_id=None):
        writes.delete(self.actor, self.get_object(), "dataset")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @nested_list(serializers.EvaluationTableSerializer)
    def evaluations(self, request, dataset_id=None):
        items = boards().filter(dataset=self.get_object()).order_by("slug", "id")
        return self.paginated(items, serializers.EvaluationTableSerializer)


def boards():
    return Leaderboard.objects.select_related("task", "dataset", "primary_metric")


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode("utf-8")
        # An error (a dict such as {"error": …}) in CSV form, each value as plain text, never a repr.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for key, value in (data or {}).items():
            writer.writerow([key, value if isinstance(value, str) else describe(value)])
        return buffer.getvalue().encode("utf-8")


class EvaluationViewSet(WriteViewSet):
    """Evaluation tables (leaderboards = task × dataset); `id` is the slug of /sota/<id>."""

    queryset = boards()
    serializer_class = serializers.EvaluationTableSerializer
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    lookup_field = "slug"
    lookup_url_kwarg = "evaluation_id"
    filterset_class = filters.EvaluationFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["slug", "created_at", "id"]
    ordering = ["slug"]  # unique: no tie-breaker, so the order is read from its index

    @extend_schema(request=inputs.EvaluationTableCreateSerializer, responses={201: serializers.EvaluationTableSerializer})
    def create(self, request):
        board = writes.create_evaluation(self.actor, self.valid(inputs.EvaluationTableCreateSerializer, request))
        return Response(serializers.EvaluationTableSerializer(board).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=inputs.EvaluationTableUpdateSerializer, responses=serializers.EvaluationTableSerializer)
    def partial_update(self, request, evaluation_id=None):
        board = self.get_object()
        board = writes.update_evaluation(self.actor, board, self.valid(inputs.EvaluationTableUpdateSerializer, request))
        return Response(serializers.EvaluationTableSerializer(board).data)

    @extend_schema(responses=NO_CONTENT)
    def destroy(self, request, evaluation_id=None):
        writes.delete(self.actor, self.get_object(), "evaluation table")
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _export_key(self, request) -> str:
        wanted = {name: request.query_params.get(name, "") for name in ("metric", "uses_additional_data")}
        return f"api:{self.kwargs['evaluation_id']}:{wanted}"

    def _ranked(self, request):
        board = self.get_object()
        query = SotaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        columns = selectors.leaderboard_columns(board)
        metric = ranking_metric(board, query.validated_data.get("metric"), columns)
        rows = selectors.sota_table(board, metric, query.validated_data.get("uses_additional_data"))
        return board, rows, columns

    @extend_schema(parameters=[SotaPageQuerySerializer], responses=serializers.SotaTableSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def sota(self, request, evaluation_id=None):
        """The ranked table, a page of rows at a time, with the SotA-over-time series of the whole table.

        Best first in the ranking metric's direction, rows without it last; ties go to the
        earlier result (evaluation date, then the order of recording). Same rule and code as
        the leaderboard page.
        """
        query = SotaPageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            board, columns = selectors.leaderboard_page(evaluation_id)  # as the page keeps them
        except Leaderboard.DoesNotExist:
            board = self.get_object()  # answers 404 as every evaluation route does
            columns = selectors.leaderboard_columns(board)
        self.check_object_permissions(request, board)
        # Kept with the board's version, so writes to other boards leave it; the JSON is cached already rendered.
        key = f"{evaluation_id}:{data.get('metric', '')}:{data['uses_additional_data']}:{data['page']}:{data['items_per_page']}"
        metric = ranking_metric(board, data.get("metric"), columns)
        body = cached_table(key, lambda: JSONRenderer().render(sota_body(board, metric, data, columns)),
                            board=(board.task_id, board.dataset_id))
        return HttpResponse(body, content_type="application/json")

    @extend_schema(parameters=[SotaQuerySerializer], responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="export.csv", filter_backends=[], pagination_class=None,
            renderer_classes=[CSVRenderer])
    def export_csv(self, request, evaluation_id=None):
        """The ranked table as a CSV file: one row per result, one column per metric."""
        return exports.cached_response(self._export_key(request), evaluation_id, "csv",
                                       lambda: exports.response(*self._ranked(request), "csv"))

    @extend_schema(parameters=[SotaQuerySerializer], responses=serializers.ExportRowSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="export.json", filter_backends=[], pagination_class=None,
            renderer_classes=[JSONRenderer])
    def export_json(self, request, evaluation_id=None):
        """The ranked table as a JSON file: a list of rows, metrics keyed by name."""
        return exports.cached_response(self._export_key(request), evaluation_id, "json",
                                       lambda: exports.response(*self._ranked(request), "json"))


def _metric_names(board: Leaderboard) -> list[str]:
    return list(board.columns.order_by("position").values_list("metric__name", flat=True))


def ranking_metric(board: Leaderboard, wanted: str | None, columns: list[Metric] | None = None) -> Metric | None:
    if not wanted:
        return board.primary_metric
    for metric in columns if columns is not None else selectors.leaderboard_columns(board):
        if metric.name == wanted or str(metric.pk) == wanted:
            return metric
    raise ValidationError({"metric": f"“{wanted}” is not a column of “{board.slug}”; use one of {_metric_names(board)}."})

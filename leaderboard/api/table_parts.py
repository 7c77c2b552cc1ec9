"""The metrics and results of one evaluation table, and the idempotent synchronisation RPC."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard import selectors, writes
from leaderboard.api import inputs, serializers
from leaderboard.api.base import ApiViewSetMixin, WriteViewSet, path_parameter
from leaderboard.api.editable import NO_CONTENT, boards
from leaderboard.api.permissions import IsOwnerOrStaffOrReadOnly
from leaderboard.models import Metric, Result

EVALUATION = path_parameter("evaluation_id", "evaluation table id (the leaderboard's slug)")
METRIC = path_parameter("metric_id", "metric id")
RESULT = path_parameter("result_id", "result id")


class _TableViewSet(WriteViewSet):
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    filter_backends = []

    def board(self):
        return self.fetch(boards(), "evaluation table", slug=self.kwargs["evaluation_id"])


@extend_schema(parameters=[EVALUATION])
class EvaluationMetricViewSet(_TableViewSet):
    """The metric columns of a table, in order: the first one ranks the table.

    Metrics are shared by every table that has a column of the same name, so
    changing one (name, is_loss) is for its creator or staff.
    """

    serializer_class = serializers.MetricSerializer
    queryset = Metric.objects.all()

    def list(self, request, evaluation_id=None):
        board = self.board()
        items = Metric.objects.filter(columns__leaderboard=board).order_by("columns__position", "id")
        return self.paginated(items, serializers.MetricSerializer)

    def _metric(self, board, metric_id):
        return self.fetch(Metric.objects.filter(columns__leaderboard=board), "metric", pk=metric_id)

    @extend_schema(parameters=[METRIC])
    def retrieve(self, request, evaluation_id=None, metric_id=None):
        return Response(serializers.MetricSerializer(self._metric(self.board(), metric_id)).data)

    @extend_schema(request=inputs.MetricCreateSerializer, responses={201: serializers.MetricSerializer})
    def create(self, request, evaluation_id=None):
        board = self.board()
        metric = writes.add_metric(self.actor, board, self.valid(inputs.MetricCreateSerializer, request))
        return Response(serializers.MetricSerializer(metric).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[METRIC], request=inputs.MetricUpdateSerializer, responses=serializers.MetricSerializer)
    def partial_update(self, request, evaluation_id=None, metric_id=None):
        metric = self._metric(self.board(), metric_id)
        self.check_object_permissions(request, metric)
        metric = writes.update_metric(self.actor, metric, self.valid(inputs.MetricUpdateSerializer, request))
        return Response(serializers.MetricSerializer(metric).data)

    @extend_schema(parameters=[METRIC], responses=NO_CONTENT)
    def destroy(self, request, evaluation_id=None, metric_id=None):
        board = self.board()
        metric = self._metric(board, metric_id)
        self.check_object_permissions(request, board)
        writes.remove_metric(self.actor, board, metric)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[EVALUATION])
class EvaluationResultViewSet(_TableViewSet):
    """The rows of a table, ranked as on its SotA page; `best_rank` is the rank on the ranking metric."""

    serializer_class = serializers.ResultSerializer
    queryset = Result.objects.all()

    def _context(self, board, ranks: dict) -> dict:
        metric = board.primary_metric.name if board.primary_metric_id else None
        return {"ranks": ranks, "ranking_metric": metric}

    def list(self, request, evaluation_id=None):
        # Ranked and read in SQL a page at a time: a big board holds thousands of rows.
        rows = selectors.RankedResults(self.board())
        return self.paginated(rows, serializers.ResultSerializer, **self._context(rows.board, rows.ranks))

    def _one(self, board, result) -> dict:
        rank = selectors.result_rank(board, result.pk)
        return self._context(board, {} if rank is None else {result.pk: rank})

    def _result(self, board, result_id):
        return self.fetch(selectors.leaderboard_results(board), "result", pk=result_id)

    @extend_schema(parameters=[RESULT])
    def retrieve(self, request, evaluation_id=None, result_id=None):
        board = self.board()
        result = self._result(board, result_id)
        return Response(serializers.ResultSerializer(result, context=self._one(board, result)).data)

    @extend_schema(request=inputs.ResultCreateSerializer, responses={201: serializers.ResultSerializer})
    def create(self, request, evaluation_id=None):
        board = self.board()
        result = writes.add_result(self.actor, board, self.valid(inputs.ResultCreateSerializer, request))
        return self._respond(board, result.pk, status.HTTP_201_CREATED)

    @extend_schema(parameters=[RESULT], request=inputs.ResultUpdateSerializer, responses=serializers.ResultSerializer)
    def partial_update(self, request, evaluation_id=None, result_id=None):
        board = self.board()
        result = self._result(board, result_id)
        self.check_object_permissions(request, result)
        writes.update_result(self.actor, board, result, self.valid(inputs.ResultUpdateSerializer, request))
        return self._respond(board, result.pk)

    def _respond(self, board, result_id, code=status.HTTP_200_OK):
        result = self._result(board, result_id)
        return Response(serializers.ResultSerializer(result, context=self._one(board, result)).data, status=code)

    @extend_schema(parameters=[RESULT], responses=NO_CONTENT)
    def destroy(self, request, evaluation_id=None, result_id=None):
        board = self.board()
        result = self._result(board, result_id)
        self.check_object_permissions(request, result)
        writes.delete(self.actor, result, "result")
        return Response(status=status.HTTP_204_NO_CONTENT)


class EvaluationSynchronizeView(ApiViewSetMixin, APIView):
    """Find or create a table, upsert its metrics by name and its results by external_id.

    Idempotent: posting the same payload again changes nothing. Results that
    carry no external_id are added on every call.
    """

    @extend_schema(
        request=inputs.EvaluationTableSyncSerializer, responses=inputs.EvaluationTableSyncResponseSerializer
    )
    def post(self, request):
        serializer = inputs.EvaluationTableSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        board, synced = writes.synchronize(writes.Actor(request.user, request.path), data)
        columns = board.columns.select_related("metric").order_by("position")
        rows = selectors.leaderboard_results(board).filter(pk__in=[r.pk for r in synced])
        by_id = {row.pk: row for row in rows}
        body = {
            "id": board.slug,
            "task": board.task.slug,
            "dataset": board.dataset.slug,
            "description": board.description,
            "mirror_url": data.get("mirror_url"),
            "external_id": data.get("external_id") or "",
            "metrics": [
                {"name": c.metric.name, "description": c.metric.description, "is_loss": c.metric.is_loss}
                for c in columns
            ],
            "results": [_sync_row(by_id[r.pk]) for r in synced],
        }
        return Response(inputs.EvaluationTableSyncResponseSerializer(body).data)


def _sync_row(result: Result) -> dict:
    return {
        "id": str(result.pk),
        "metrics": {value.metric.name: value.raw for value in result.values.all()},
        "methodology": result.model_name,
        "paper": result.paper.slug if result.paper else None,
        "uses_additional_data": result.uses_additional_data,
        "external_id": result.external_id or "",
        "evaluated_on": result.evaluated_on,
        "external_source_url": result.external_source_url or None,
    }

"""Request bodies of the write endpoints (PWC_API.md §7).

The official client sends every key, with null for "not set"; update
bodies therefore treat null as "leave unchanged" (leaderboard.writes.supplied).
"""

from __future__ import annotations

from rest_framework import serializers

_TEXT = {"max_length": 300, "allow_blank": False}
_URL = {"max_length": 1000, "allow_null": True, "required": False, "allow_blank": True}


class MetricValuesField(serializers.DictField):
    """{metric name: value}; values are published strings ("85.1%") or numbers."""

    child = serializers.JSONField()

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        for name, value in data.items():
            if not isinstance(name, str) or not name.strip() or len(name) > 300:
                raise serializers.ValidationError("Metric names must be non-empty strings of at most 300 characters.")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 200:
                raise serializers.ValidationError(
                    f"The value of metric “{name}” must be a string or a number (at most 200 characters)."
                )
        return data


class TaskCreateSerializer(serializers.Serializer):
    name = serializers.CharField(**_TEXT)
    description = serializers.CharField(allow_blank=True, required=False, default="", max_length=20000)
    area = serializers.CharField(allow_null=True, required=False, max_length=200, help_text="area id or name")
    parent_task = serializers.CharField(allow_null=True, required=False, max_length=300, help_text="task id")


class TaskUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True, required=False, **_TEXT)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=20000)
    area = serializers.CharField(allow_null=True, required=False, max_length=200, help_text="area id or name")
    parent_task = serializers.CharField(allow_null=True, required=False, max_length=300, help_text="task id")


class DatasetCreateSerializer(serializers.Serializer):
    name = serializers.CharField(**_TEXT)
    full_name = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=500)
    url = serializers.URLField(**_URL)


class DatasetUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True, required=False, **_TEXT)
    url = serializers.URLField(**_URL)


class EvaluationTableCreateSerializer(serializers.Serializer):
    task = serializers.CharField(max_length=300, help_text="task id")
    dataset = serializers.CharField(max_length=300, help_text="dataset id")
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False, default="", max_length=20000)
    mirror_url = serializers.URLField(**_URL)


class EvaluationTableUpdateSerializer(serializers.Serializer):
    task = serializers.CharField(allow_null=True, required=False, max_length=300, help_text="task id")
    dataset = serializers.CharField(allow_null=True, required=False, max_length=300, help_text="dataset id")
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False, max_length=20000)
    mirror_url = serializers.URLField(**_URL)


class MetricCreateSerializer(serializers.Serializer):
    name = serializers.CharField(**_TEXT)
    description = serializers.CharField(allow_blank=True, required=False, default="", max_length=20000)
    is_loss = serializers.BooleanField(required=False, default=False)


class MetricUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True, required=False, **_TEXT)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=20000)
    is_loss = serializers.BooleanField(allow_null=True, required=False)


class ResultCreateSerializer(serializers.Serializer):
    metrics = MetricValuesField(allow_empty=False)
    methodology = serializers.CharField(max_length=500)
    uses_additional_data = serializers.BooleanField(required=False, default=False)
    paper = serializers.CharField(
        allow_null=True, allow_blank=True, required=False, max_length=1000,
        help_text="paper id, arXiv id or URL, or a paper URL; empty for none",
    )
    evaluated_on = serializers.DateField(allow_null=True, required=False)
    external_source_url = serializers.URLField(**_URL)


class ResultUpdateSerializer(serializers.Serializer):
    metrics = MetricValuesField(allow_null=True, required=False)
    methodology = serializers.CharField(allow_null=True, required=False, max_length=500)
    uses_additional_data = serializers.BooleanField(allow_null=True, required=False)
    paper = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=1000)
    evaluated_on = serializers.DateField(allow_null=True, required=False)
    external_source_url = serializers.URLField(**_URL)
    code_links = serializers.ListField(
        child=serializers.URLField(max_length=1000), allow_null=True, required=False, max_length=20,
        help_text="the URLs of the result's code; the only field of a verified result its owner may change "
        "besides external_source_url",
    )


class SyncMetricSerializer(serializers.Serializer):
    name = serializers.CharField(**_TEXT)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False, default="", max_length=20000)
    is_loss = serializers.BooleanField(required=False, default=True)


class SyncResultSerializer(ResultCreateSerializer):
    external_id = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=300)


class EvaluationTableSyncSerializer(serializers.Serializer):
    task = serializers.CharField(max_length=300, help_text="task id or name (the task must exist)")
    dataset = serializers.CharField(max_length=300, help_text="dataset id or name (created when unknown)")
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False, default="", max_length=20000)
    mirror_url = serializers.URLField(**_URL)
    external_id = serializers.CharField(allow_null=True, allow_blank=True, required=False, max_length=300)
    metrics = SyncMetricSerializer(many=True, required=False, default=list)
    results = SyncResultSerializer(many=True, required=False, default=list)


class SyncMetricOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    is_loss = serializers.BooleanField()


class SyncResultOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    metrics = serializers.DictField(child=serializers.CharField())
    methodology = serializers.CharField()
    paper = serializers.CharField(allow_null=True)
    uses_additional_data = serializers.BooleanField()
    external_id = serializers.CharField()
    evaluated_on = serializers.DateField(allow_null=True)
    external_source_url = serializers.CharField(allow_null=True)


class EvaluationTableSyncResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    task = serializers.CharField()
    dataset = serializers.CharField()
    description = serializers.CharField()
    mirror_url = serializers.CharField(allow_null=True)
    external_id = serializers.CharField()
    metrics = SyncMetricOutSerializer(many=True)
    results = SyncResultOutSerializer(many=True)

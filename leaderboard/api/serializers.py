"""Read serializers: the contract's field names, types and non-null rules (PWC_API.md §5).

Strings the client requires non-null are sent as "" when unknown; dates are
plain YYYY-MM-DD; ids are slugs (papers, tasks, datasets, …) or stringified
primary keys (metrics, results).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leaderboard import claims
from leaderboard.models import Result


def _or_none(text: str | None) -> str | None:
    return text or None


class PaperSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    arxiv_id = serializers.CharField(allow_null=True)
    nips_id = serializers.SerializerMethodField()
    url_abs = serializers.CharField()
    url_pdf = serializers.CharField()
    title = serializers.CharField()
    abstract = serializers.CharField()
    authors = serializers.SerializerMethodField()
    published = serializers.DateField(allow_null=True)
    conference = serializers.SerializerMethodField()
    conference_url_abs = serializers.SerializerMethodField()
    conference_url_pdf = serializers.SerializerMethodField()
    proceeding = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_nips_id(self, paper) -> str | None:
        return None

    def get_authors(self, paper) -> list[str]:
        return [authorship.author.name for authorship in paper.authorships.all()]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_conference(self, paper) -> str | None:
        return paper.proceeding.conference.slug if paper.proceeding_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_conference_url_abs(self, paper) -> str | None:
        return _or_none(paper.conference_url_abs)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_conference_url_pdf(self, paper) -> str | None:
        return _or_none(paper.conference_url_pdf)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_proceeding(self, paper) -> str | None:
        return paper.proceeding.slug if paper.proceeding_id else None


class RepositorySerializer(serializers.Serializer):
    url = serializers.CharField()
    owner = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    stars = serializers.IntegerField()
    framework = serializers.SerializerMethodField()
    is_official = serializers.SerializerMethodField()

    def get_framework(self, repo) -> str:
        return repo.framework or "none"

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_is_official(self, repo) -> bool | None:
        return getattr(repo, "is_official", None)


class PaperRepoSerializer(serializers.Serializer):
    """A search hit: the paper, its best repository (official first) and whether that one is official."""

    paper = PaperSerializer()
    repository = RepositorySerializer(allow_null=True)
    is_official = serializers.BooleanField()


class AuthorSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    full_name = serializers.CharField(source="name")


class ConferenceSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()


class ProceedingSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    year = serializers.IntegerField(allow_null=True)
    month = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_month(self, proceeding) -> int | None:
        return None


class AreaSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()


class TaskSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()
    description = serializers.CharField()


class DatasetSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()
    full_name = serializers.CharField(allow_null=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, dataset) -> str | None:
        return _or_none(dataset.homepage)


class MethodSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()
    full_name = serializers.CharField()
    description = serializers.CharField()
    paper = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_paper(self, method) -> str | None:
        return method.paper.slug if method.paper_id else None


class EvaluationTableSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    task = serializers.CharField(source="task.slug")
    dataset = serializers.CharField(source="dataset.slug")
    description = serializers.CharField()
    mirror_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_mirror_url(self, board) -> str | None:
        return None


class MetricSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk")
    name = serializers.CharField()
    description = serializers.CharField()
    is_loss = serializers.BooleanField()


class ResultSerializer(serializers.Serializer):
    """A leaderboard row. `best_rank` is its rank on the table's ranking metric when the
    table is known (evaluation endpoints), null elsewhere."""

    id = serializers.CharField(source="pk")
    best_rank = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    methodology = serializers.CharField(source="model_name")
    uses_additional_data = serializers.BooleanField()
    paper = serializers.SerializerMethodField()
    best_metric = serializers.SerializerMethodField()
    evaluated_on = serializers.DateField(allow_null=True)
    external_source_url = serializers.SerializerMethodField()
    external_id = serializers.CharField(allow_null=True)
    provenance = serializers.ChoiceField(choices=Result.Provenance.choices)
    verified = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_best_rank(self, result) -> int | None:
        return self.context.get("ranks", {}).get(result.pk)

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_metrics(self, result) -> dict:
        return {value.metric.name: value.raw for value in result.values.all()}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_paper(self, result) -> str | None:
        paper = claims.linked_paper(result) if result.paper_id else None
        return paper.slug if paper else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_best_metric(self, result) -> str | None:
        if result.pk in self.context.get("ranks", {}):
            return self.context.get("ranking_metric")
        return None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_external_source_url(self, result) -> str | None:
        return _or_none(result.external_source_url)

    def get_verified(self, result) -> bool:
        return result.provenance == Result.Provenance.VERIFIED


# --- the SotA table (beyond the old API) -------------------------------------------------


class SotaPaperSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    title = serializers.CharField()


class SotaVerificationSerializer(serializers.Serializer):
    submission = serializers.IntegerField()
    run = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()


class SotaRowSerializer(serializers.Serializer):
    """One row of a SotA table (built by leaderboard.api.sota; this class documents its shape)."""

    rank = serializers.IntegerField(allow_null=True)
    result = serializers.CharField(source="result.pk")
    methodology = serializers.CharField(source="result.model_name")
    paper = SotaPaperSerializer(source="result.paper", allow_null=True)
    metrics = serializers.SerializerMethodField()
    values = serializers.SerializerMethodField()
    uses_additional_data = serializers.BooleanField(source="result.uses_additional_data")
    evaluated_on = serializers.DateField(source="result.evaluated_on", allow_null=True)
    provenance = serializers.ChoiceField(source="result.provenance", choices=Result.Provenance.choices)
    verified = serializers.SerializerMethodField()
    verification = SotaVerificationSerializer(allow_null=True, help_text="the verified submission and its run")
    code_links = serializers.JSONField(source="result.code_links")
    external_source_url = serializers.CharField(source="result.external_source_url")

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_metrics(self, row) -> dict:
        return {name: value.raw for name, value in row.values.items()}

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_values(self, row) -> dict:
        return {name: None if v.value is None else float(v.value) for name, v in row.values.items()}

    def get_verified(self, row) -> bool:
        return row.result.provenance == Result.Provenance.VERIFIED


class SotaPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    model_name = serializers.CharField()
    value = serializers.FloatField()
    best = serializers.FloatField()
    result_id = serializers.IntegerField()


class SotaColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    is_loss = serializers.BooleanField()


class SotaTableSerializer(serializers.Serializer):
    evaluation = EvaluationTableSerializer()
    ranking_metric = SotaColumnSerializer(allow_null=True)
    metrics = SotaColumnSerializer(many=True)
    tie_rule = serializers.CharField()
    count = serializers.IntegerField(help_text="rows in the table (after the extra-data filter)")
    ranked = serializers.IntegerField(help_text="rows that have the ranking metric")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    rows = SotaRowSerializer(many=True)
    sota_over_time = SotaPointSerializer(many=True)


class ExportRowSerializer(serializers.Serializer):
    """One row of the JSON export of a leaderboard."""

    rank = serializers.IntegerField(allow_null=True)
    model = serializers.CharField()
    paper = serializers.CharField(allow_null=True)
    paper_title = serializers.CharField(allow_null=True)
    metrics = serializers.DictField(child=serializers.CharField())
    uses_additional_data = serializers.BooleanField()
    evaluated_on = serializers.DateField(allow_null=True)
    provenance = serializers.ChoiceField(choices=Result.Provenance.choices)
    verified = serializers.BooleanField()
    external_source_url = serializers.CharField()

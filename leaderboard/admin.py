"""Admin for the whole knowledge base, with search and filters.

Every change made here is in the audit log with its user (source "admin"),
the object before and after; a new row belongs to the staff member who added
it. A verified result's frozen fields (leaderboard.ownership) are read-only
here too: they change only when staff re-run its submission.
"""

from django import forms
from django.contrib import admin

from leaderboard import claims, writes
from leaderboard import models as m
from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.errors import Conflict
from leaderboard.ownership import is_verified

ADMIN = AuditEntry.Source.ADMIN


class AuditedAdmin(admin.ModelAdmin):
    """Logs every save and delete with the user; stamps created_by on rows that have it."""

    def save_model(self, request, obj, form, change):
        old = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        obj._audit_before = audit.snapshot(old) if old is not None else None
        if not change and hasattr(obj, "created_by_id") and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance  # logged once its inlines are saved: a result's snapshot has its values
        before = getattr(obj, "_audit_before", None)
        action = AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE
        audit.record(request.user, action, obj, before=before, path=request.path, source=ADMIN)

    def delete_model(self, request, obj):
        audit.record_delete(request.user, obj, path=request.path, source=ADMIN)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record_delete(request.user, obj, path=request.path, source=ADMIN)
        super().delete_queryset(request, queryset)


class UniqueNameForm(forms.ModelForm):
    """Tasks, datasets and methods: a name that another row has, ignoring case and spacing, is refused."""

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        try:
            writes.require_name_free(self._meta.model, name, self.instance.pk)
        except Conflict as conflict:
            raise forms.ValidationError(conflict.message) from conflict
        return name


class TaskAliasInline(admin.TabularInline):
    model = m.TaskAlias
    extra = 0


@admin.register(m.Area)
class AreaAdmin(AuditedAdmin):
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(m.Task)
class TaskAdmin(AuditedAdmin):
    form = UniqueNameForm
    list_display = ["name", "slug"]
    search_fields = ["name", "aliases__name"]
    list_filter = ["areas"]
    filter_horizontal = ["parents", "areas"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TaskAliasInline]


class DatasetAliasInline(admin.TabularInline):
    model = m.DatasetAlias
    extra = 0


@admin.register(m.Dataset)
class DatasetAdmin(AuditedAdmin):
    form = UniqueNameForm
    list_display = ["name", "full_name", "introduced_date"]
    search_fields = ["name", "full_name", "aliases__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["paper"]
    filter_horizontal = ["tasks"]
    inlines = [DatasetAliasInline]


@admin.register(m.DatasetAlias)
class DatasetAliasAdmin(AuditedAdmin):
    list_display = ["name", "dataset", "uses_additional_data"]
    search_fields = ["name", "dataset__name"]
    list_filter = ["uses_additional_data"]
    autocomplete_fields = ["dataset"]


@admin.register(m.Metric)
class MetricAdmin(AuditedAdmin):
    list_display = ["name", "higher_is_better", "direction_source", "unit"]
    list_editable = ["higher_is_better"]
    list_filter = ["higher_is_better", "direction_source"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        if "higher_is_better" in form.changed_data:
            obj.direction_source = m.Metric.DirectionSource.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(m.Author)
class AuthorAdmin(AuditedAdmin):
    search_fields = ["name"]


@admin.register(m.Conference)
class ConferenceAdmin(AuditedAdmin):
    search_fields = ["name"]


@admin.register(m.Proceeding)
class ProceedingAdmin(AuditedAdmin):
    list_display = ["name", "conference", "year"]
    list_filter = ["year"]
    search_fields = ["name"]


@admin.register(m.Method)
class MethodAdmin(AuditedAdmin):
    form = UniqueNameForm
    list_display = ["name", "full_name", "introduced_year"]
    search_fields = ["name", "full_name"]
    list_filter = ["introduced_year"]
    autocomplete_fields = ["paper"]


class PaperAuthorInline(admin.TabularInline):
    model = m.PaperAuthor
    extra = 0
    autocomplete_fields = ["author"]


class PaperRepositoryInline(admin.TabularInline):
    model = m.PaperRepository
    extra = 0
    autocomplete_fields = ["repository"]


@admin.register(m.Paper)
class PaperAdmin(AuditedAdmin):
    list_display = ["title", "published", "arxiv_id", "proceeding"]
    search_fields = ["title", "arxiv_id", "slug"]
    list_filter = ["proceeding__conference", "published"]
    date_hierarchy = "published"
    autocomplete_fields = ["proceeding", "tasks", "methods"]
    inlines = [PaperAuthorInline, PaperRepositoryInline]


@admin.register(m.Repository)
class RepositoryAdmin(AuditedAdmin):
    list_display = ["url", "framework", "stars"]
    search_fields = ["url", "owner", "name"]
    list_filter = ["framework"]


@admin.register(m.Model)
class ModelAdmin(AuditedAdmin):
    list_display = ["name", "paper"]
    search_fields = ["name", "paper__title"]
    autocomplete_fields = ["paper"]


class LeaderboardMetricInline(admin.TabularInline):
    model = m.LeaderboardMetric
    extra = 0
    autocomplete_fields = ["metric"]


@admin.register(m.Leaderboard)
class LeaderboardAdmin(AuditedAdmin):
    list_display = ["slug", "task", "dataset", "primary_metric"]
    search_fields = ["slug", "task__name", "dataset__name"]
    autocomplete_fields = ["task", "dataset", "primary_metric"]
    inlines = [LeaderboardMetricInline]


class MetricValueInline(admin.TabularInline):
    model = m.MetricValue
    extra = 0
    autocomplete_fields = ["metric"]

    # A verified result's numbers change only through a staff re-run of its submission.
    def has_add_permission(self, request, obj=None):
        return not (obj is not None and is_verified(obj)) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and is_verified(obj)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and is_verified(obj)) and super().has_delete_permission(request, obj)


class ResultTaskInline(admin.TabularInline):
    model = m.ResultTask
    extra = 0
    autocomplete_fields = ["task"]


@admin.register(m.Result)
class ResultAdmin(AuditedAdmin):
    list_display = ["model_name", "dataset_name", "paper", "evaluated_on", "provenance", "uses_additional_data"]
    list_filter = ["provenance", "uses_additional_data", "dataset"]
    search_fields = ["model_name", "paper__title", "dataset__name"]
    autocomplete_fields = ["paper", "model", "dataset"]
    list_select_related = ["paper"]
    inlines = [MetricValueInline, ResultTaskInline]
    # The model fields behind ownership.FROZEN_RESULT_FIELDS, and the provenance itself.
    frozen_fields = ["paper", "model", "model_name", "dataset", "dataset_name", "uses_additional_data",
                     "evaluated_on", "provenance"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self.frozen_fields if obj is not None and is_verified(obj) else fields


# --- paper claims and paper links of verified results (leaderboard.claims) -------------------


@admin.register(m.PaperClaim)
class PaperClaimAdmin(admin.ModelAdmin):
    """Claims are decided with the actions, which also confirm the claimant's verified results."""

    list_display = ["user", "paper", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "paper__title", "paper__slug"]
    list_select_related = ["user", "paper", "decided_by"]
    autocomplete_fields = ["paper"]
    raw_id_fields = ["user"]
    readonly_fields = ["status", "decided_by", "decided_at"]
    actions = ["approve", "reject"]

    @admin.action(description="Approve the selected claims (their verified results join the paper)")
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected claims")
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)

    def _decide(self, request, queryset, approve: bool) -> None:
        for claim in queryset.select_related("paper"):
            claims.decide_claim(claim, request.user, approve)
        self.message_user(request, f"{'Approved' if approve else 'Rejected'} {queryset.count()} claim(s).")


@admin.action(description="Confirm the paper link of the selected results (list them on their papers)")
def confirm_paper_links(modeladmin, request, queryset):
    changed = claims.confirm_links(queryset)
    modeladmin.message_user(request, f"Confirmed the paper link of {changed} result(s).")


ResultAdmin.actions = [*(ResultAdmin.actions or []), confirm_paper_links]
ResultAdmin.list_filter = [*ResultAdmin.list_filter, "paper_link_confirmed"]

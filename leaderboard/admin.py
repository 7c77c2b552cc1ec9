"""Admin for the whole knowledge base, with search and filters."""

from django.contrib import admin

from leaderboard import claims
from leaderboard import models as m


class TaskAliasInline(admin.TabularInline):
    model = m.TaskAlias
    extra = 0


@admin.register(m.Area)
class AreaAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(m.Task)
class TaskAdmin(admin.ModelAdmin):
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
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "full_name", "introduced_date"]
    search_fields = ["name", "full_name", "aliases__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["paper"]
    filter_horizontal = ["tasks"]
    inlines = [DatasetAliasInline]


@admin.register(m.DatasetAlias)
class DatasetAliasAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "uses_additional_data"]
    search_fields = ["name", "dataset__name"]
    list_filter = ["uses_additional_data"]
    autocomplete_fields = ["dataset"]


@admin.register(m.Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["name", "higher_is_better", "direction_source", "unit"]
    list_editable = ["higher_is_better"]
    list_filter = ["higher_is_better", "direction_source"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        if "higher_is_better" in form.changed_data:
            obj.direction_source = m.Metric.DirectionSource.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(m.Author)
class AuthorAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(m.Conference)
class ConferenceAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(m.Proceeding)
class ProceedingAdmin(admin.ModelAdmin):
    list_display = ["name", "conference", "year"]
    list_filter = ["year"]
    search_fields = ["name"]


@admin.register(m.Method)
class MethodAdmin(admin.ModelAdmin):
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
class PaperAdmin(admin.ModelAdmin):
    list_display = ["title", "published", "arxiv_id", "proceeding"]
    search_fields = ["title", "arxiv_id", "slug"]
    list_filter = ["proceeding__conference", "published"]
    date_hierarchy = "published"
    autocomplete_fields = ["proceeding", "tasks", "methods"]
    inlines = [PaperAuthorInline, PaperRepositoryInline]


@admin.register(m.Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["url", "framework", "stars"]
    search_fields = ["url", "owner", "name"]
    list_filter = ["framework"]


@admin.register(m.Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["name", "paper"]
    search_fields = ["name", "paper__title"]
    autocomplete_fields = ["paper"]


class LeaderboardMetricInline(admin.TabularInline):
    model = m.LeaderboardMetric
    extra = 0
    autocomplete_fields = ["metric"]


@admin.register(m.Leaderboard)
class LeaderboardAdmin(admin.ModelAdmin):
    list_display = ["slug", "task", "dataset", "primary_metric"]
    search_fields = ["slug", "task__name", "dataset__name"]
    autocomplete_fields = ["task", "dataset", "primary_metric"]
    inlines = [LeaderboardMetricInline]


class MetricValueInline(admin.TabularInline):
    model = m.MetricValue
    extra = 0
    autocomplete_fields = ["metric"]


class ResultTaskInline(admin.TabularInline):
    model = m.ResultTask
    extra = 0
    autocomplete_fields = ["task"]


@admin.register(m.Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ["model_name", "dataset_name", "paper", "evaluated_on", "provenance", "uses_additional_data"]
    list_filter = ["provenance", "uses_additional_data", "dataset"]
    search_fields = ["model_name", "paper__title", "dataset__name"]
    autocomplete_fields = ["paper", "model", "dataset"]
    list_select_related = ["paper"]
    inlines = [MetricValueInline, ResultTaskInline]


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

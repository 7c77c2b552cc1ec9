"""Admin: benchmarks, submissions and runs, with re-run and cancel actions.

Edits, deletes and the runs the actions start or cancel are in the audit log with the staff user.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from leaderboard.admin import ADMIN, AuditedAdmin
from leaderboard.audit import services as audit
from leaderboard.audit.models import AuditEntry
from leaderboard.verification import remote, services
from leaderboard.verification.models import (
    Benchmark,
    EvaluationRun,
    Submission,
    WorkerToken,
)


class RunInline(admin.TabularInline):
    model = EvaluationRun
    fields = ["id", "status", "reason", "progress_done", "progress_total", "worker", "precision", "attempts", "started_at",
              "finished_at", "metrics", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


def _log_runs(request, action: str, runs) -> None:
    for run in runs:
        audit.record(request.user, action, run, path=request.path, source=ADMIN)


def _cancel(request, runs) -> int:
    cancelled = 0
    for run in runs:
        before = audit.snapshot(run)
        if services.cancel(run, by=request.user):
            run.refresh_from_db()
            audit.record(request.user, AuditEntry.Action.UPDATE, run, before=before, path=request.path, source=ADMIN)
            cancelled += 1
    return cancelled


def _report(modeladmin, request, runs, skipped: int) -> None:
    _log_runs(request, AuditEntry.Action.CREATE, runs)
    modeladmin.message_user(request, f"Queued {len(runs)} re-run(s).", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, f"{skipped} skipped: a run is already queued or running.", messages.WARNING)


@admin.register(Benchmark)
class BenchmarkAdmin(AuditedAdmin):
    list_display = ["slug", "name", "format", "face_count", "leaderboard", "time_limit_seconds", "is_demo"]
    readonly_fields = ["format", "num_landmarks", "split", "files_dir", "checksums", "face_count", "installed_at"]
    actions = ["rerun_verified"]

    @admin.action(description="Re-run every current verified result (after a metric fix)")
    def rerun_verified(self, request, queryset):
        for benchmark in queryset:
            candidates = services.current_verified(benchmark).count()
            runs = services.rerun_benchmark(benchmark, by=request.user, reason="re-run of every verified result")
            _report(self, request, runs, candidates - len(runs))


@admin.register(Submission)
class SubmissionAdmin(AuditedAdmin):
    list_display = ["id", "model_name", "benchmark", "owner", "kind", "private", "created_at", "result"]
    list_filter = ["benchmark", "kind", "private"]
    search_fields = ["model_name", "owner__username", "sha256"]
    list_select_related = ["benchmark", "owner", "result"]
    # Uploads are never served under MEDIA_URL (private submissions): the artefact is
    # downloaded through the admin, by staff who may view submissions.
    exclude = ["artifact"]
    readonly_fields = ["owner", "benchmark", "kind", "artifact_download", "original_filename", "sha256", "size",
                       "created_at", "result", "current_run"]
    inlines = [RunInline]
    actions = ["rerun", "cancel_active"]

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_artifact)
        return [path("<int:pk>/artifact/", download, name="verification_submission_artifact"), *super().get_urls()]

    @admin.display(description="Artifact")
    def artifact_download(self, submission: Submission) -> str:
        if not submission.pk or not submission.artifact:
            return "—"
        url = reverse("admin:verification_submission_artifact", args=[submission.pk])
        return format_html('<a href="{}">Download {}</a>', url, submission.original_filename)

    def download_artifact(self, request, pk: int):
        submission = get_object_or_404(Submission, pk=pk)
        if not self.has_view_permission(request, submission):
            raise PermissionDenied
        try:
            handle = submission.artifact.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404("The uploaded file is no longer stored.") from None
        return FileResponse(handle, as_attachment=True, filename=submission.original_filename)

    @admin.action(description="Re-run the selected submissions")
    def rerun(self, request, queryset):
        runs = services.rerun(list(queryset), by=request.user, reason="re-run from the admin")
        _report(self, request, runs, queryset.count() - len(runs))

    @admin.action(description="Cancel their queued or running runs")
    def cancel_active(self, request, queryset):
        runs = EvaluationRun.objects.filter(submission__in=queryset, status__in=EvaluationRun.ACTIVE)
        self.message_user(request, f"Cancelled {_cancel(request, runs)} run(s).")


@admin.register(EvaluationRun)
class EvaluationRunAdmin(AuditedAdmin):
    list_display = ["id", "submission", "status", "queue", "progress_done", "progress_total", "attempts", "worker",
                    "created_at", "finished_at"]
    list_filter = ["status", "queue"]
    list_select_related = ["submission__benchmark"]
    readonly_fields = [f.name for f in EvaluationRun._meta.fields]
    actions = ["rerun", "cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Re-run the submissions of the selected runs")
    def rerun(self, request, queryset):
        submissions = {run.submission for run in queryset.select_related("submission__benchmark")}
        runs = services.rerun(list(submissions), by=request.user, reason="re-run from the admin")
        _report(self, request, runs, len(submissions) - len(runs))

    @admin.action(description="Cancel the selected queued or running runs")
    def cancel(self, request, queryset):
        self.message_user(request, f"Cancelled {_cancel(request, queryset)} run(s).")


@admin.register(WorkerToken)
class WorkerTokenAdmin(AuditedAdmin):
    """Tokens are made with `manage.py create_worker_token NAME` (the key is shown only there); revoke here."""

    list_display = ["name", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    readonly_fields = ["name", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens (their workers are refused at once)")
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        befores = {token.pk: audit.snapshot(token) for token in tokens}
        revoked = remote.revoke(queryset)
        for token in WorkerToken.objects.filter(pk__in=befores):
            audit.record(request.user, AuditEntry.Action.UPDATE, token, before=befores[token.pk], path=request.path,
                         source=ADMIN)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)

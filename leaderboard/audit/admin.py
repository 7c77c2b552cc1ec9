"""The audit log in the admin: read it, and revert vandalism with one action."""

from django.contrib import admin, messages

from leaderboard.audit import services
from leaderboard.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "source", "action", "model", "object_repr", "reverted_at"]
    list_filter = ["source", "action", "model", "reverted_at"]
    search_fields = ["object_repr", "object_pk", "user__username", "path"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    actions = ["revert_entries"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revert the selected changes (newest first)")
    def revert_entries(self, request, queryset):
        reverted = 0
        imports = queryset.filter(action=AuditEntry.Action.IMPORT).count()
        if imports:
            self.message_user(
                request, f"Skipped {imports} import(s): an import is undone by importing the previous file.",
                messages.WARNING,
            )
        for entry in queryset.filter(reverted_at=None).exclude(action=AuditEntry.Action.IMPORT).order_by("-id"):
            services.revert(entry, by=request.user)
            reverted += 1
        self.message_user(request, f"Reverted {reverted} change(s).", messages.SUCCESS)

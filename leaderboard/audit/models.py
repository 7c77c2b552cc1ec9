"""Every write to the knowledge base, with the object before and after, so it can be reverted.

Writes come from the API, the admin, the services (the verification service
publishing a result) and the importers; an import is one entry per file, its
summary counts in `after`, and cannot be reverted.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "created"
        UPDATE = "update", "updated"
        DELETE = "delete", "deleted"
        IMPORT = "import", "imported"

    class Source(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "admin"
        SERVICE = "service", "service"
        IMPORT = "import", "import"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    model = models.CharField(max_length=100)  # "leaderboard.result"
    object_pk = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    path = models.CharField(max_length=500, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["model", "object_pk", "action"]),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.model} {self.object_repr}"

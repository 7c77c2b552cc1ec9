from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "leaderboard.audit"
    label = "audit"
    verbose_name = "Audit log of API writes"

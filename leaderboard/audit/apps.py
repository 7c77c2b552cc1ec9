from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "leaderboard.audit"
    label = "audit"
    verbose_name = "Audit log of API writes"

    def ready(self) -> None:
        # Every process that can write (web, worker, shell) must expire cached SotA tables.
        from leaderboard import cache

        cache.connect()

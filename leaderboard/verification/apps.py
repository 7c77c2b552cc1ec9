from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "leaderboard.verification"
    label = "verification"
    verbose_name = "Verification"

"""Recover evaluation runs: the same work as the Celery beat schedule's `reap-runs`."""

from django.core.management.base import BaseCommand

from leaderboard.verification.services import reap


class Command(BaseCommand):
    help = "Re-queue runs whose worker stopped renewing its lease (up to the retry limit), re-send lost messages."

    def handle(self, *args, **options):
        outcome = reap()
        self.stdout.write(
            f"requeued {outcome.requeued}, failed {outcome.failed} past the retry limit, re-sent {outcome.resent}"
        )

"""Install the tiny demo benchmarks (WFLW, 300W, COFW samples) so `make run` can verify end to end."""

from django.core.management.base import BaseCommand

from leaderboard.verification.demo import load_demo_benchmarks


class Command(BaseCommand):
    help = "Install the demo benchmarks built from real samples (skips those already installed)."

    def handle(self, *args, **options):
        installed = load_demo_benchmarks()
        self.stdout.write(f"Installed {', '.join(installed)}." if installed else "Demo benchmarks already installed.")

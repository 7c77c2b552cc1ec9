"""Install a benchmark from its official files: ground truth kept on the server, checksums recorded."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leaderboard.verification import evaluation
from leaderboard.verification.presets import PRESETS
from leaderboard.verification.services import install_benchmark


class Command(BaseCommand):
    help = (
        "Install a face-alignment benchmark from its official files. Ready slugs: "
        + ", ".join(PRESETS)
        + " (300W common/challenging are the subsets of the folder of LFPW, HELEN and iBUG test images)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=evaluation.FORMATS)
        parser.add_argument("--path", required=True, type=Path, help="the official file or folder")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", default=None)
        parser.add_argument("--split", default=None, help="score only this subset of the files")
        parser.add_argument("--dataset", default=None, help="the dataset whose leaderboard it feeds")
        parser.add_argument("--time-limit", type=int, default=None, help="seconds a run may take")
        parser.add_argument("--daily-limit", type=int, default=None, help="submissions per user per day")

    def handle(self, *args, **options):
        if not options["path"].exists():
            raise CommandError(f"--path {options['path']} does not exist.")
        try:
            benchmark = install_benchmark(
                options["format"], options["path"], options["slug"], name=options["name"], split=options["split"],
                dataset=options["dataset"], time_limit_seconds=options["time_limit"],
                daily_submission_limit=options["daily_limit"],
            )
        except ValueError as error:  # BenchmarkError and bad limits are ValueErrors with a clear message
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Installed {benchmark.slug}: {benchmark.face_count} faces, {len(benchmark.checksums)} files checksummed, "
            f"feeding {benchmark.leaderboard}."
        )

from pathlib import Path

from django.core.management.base import BaseCommand

from leaderboard.importers.export import export_archive


class Command(BaseCommand):
    help = "Write the knowledge base as the five Papers With Code dump files, in the archive's schema."

    def add_arguments(self, parser):
        parser.add_argument("outdir", type=Path)
        parser.add_argument("--gzip", action="store_true", help="write .json.gz files")

    def handle(self, *args, **options):
        counts = export_archive(options["outdir"], gzipped=options["gzip"])
        for kind, count in counts.items():
            self.stdout.write(f"{kind}: {count} records")

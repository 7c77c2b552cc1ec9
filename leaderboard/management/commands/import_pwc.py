import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from leaderboard.importers import (
    KINDS,
    DumpError,
    Rejects,
    default_rejects_path,
    import_file,
    kind_of,
)

# Papers before the catalogues that cite them (methods, datasets), datasets (and their
# variants) before the tables that list them; any order works, this one links the most.
ORDER = (
    "papers-with-abstracts",
    "links-between-papers-and-code",
    "methods",
    "datasets",
    "evaluation-tables",
)


class Command(BaseCommand):
    help = (
        "Import Papers With Code archive dumps (.json or .json.gz). Each file's kind comes from its name "
        f"({', '.join(KINDS)}) or --kind. Files are imported papers, links, methods, datasets, then tables, each in one transaction; "
        "importing a file again changes nothing, a newer dump updates records in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="dump files")
        parser.add_argument(
            "--kind",
            choices=KINDS,
            help="the kind of every file given (when names do not say)",
        )
        parser.add_argument(
            "--rejects",
            type=Path,
            help="JSON-lines report of rejected records (default under var/)",
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar even on a terminal",
        )

    def handle(self, *args, **options):
        kind = options["kind"]
        paths = sorted(
            options["paths"],
            key=lambda p: (
                ORDER.index(kind or kind_of(p)) if (kind or kind_of(p)) else -1
            ),
        )
        rejects = Rejects(options["rejects"] or default_rejects_path())
        show = not options["no_progress"] and sys.stderr.isatty()
        failed, totals, started = (
            [],
            dict.fromkeys(("read", "created", "updated", "unchanged", "rejected"), 0),
            time.monotonic(),
        )
        for path in paths:
            with tqdm(
                desc=path.name, unit=" records", disable=not show, file=sys.stderr
            ) as bar:
                try:
                    stats = import_file(path, kind, rejects=rejects, progress=bar)
                except DumpError as error:
                    failed.append(path)
                    self.stderr.write(
                        self.style.ERROR(
                            f"{error}. Nothing from this file was imported."
                        )
                    )
                    continue
            self.stdout.write(stats.summary())
            for key in totals:
                totals[key] += getattr(stats, key)
        rejects.close()
        self.stdout.write(
            f"Total: {totals['read']} read, {totals['created']} created, {totals['updated']} updated, "
            f"{totals['unchanged']} unchanged, {totals['rejected']} rejected in {time.monotonic() - started:.1f}s"
            + (f"; rejects report: {rejects.path}" if rejects.count else "")
        )
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(paths)} files failed: {', '.join(map(str, failed))}"
            )

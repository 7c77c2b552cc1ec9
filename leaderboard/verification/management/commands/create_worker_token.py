"""Issue a token for a remote GPU worker: printed once, only its hash is stored."""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.verification import remote


class Command(BaseCommand):
    help = (
        "Create a worker token for a remote worker (workers/remote.py) and print it once; "
        "staff revoke tokens in the admin (Worker tokens)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the worker or node the token is for, e.g. lab-gpu-1")

    def handle(self, *args, name: str, **options):
        try:
            _, key = remote.create_worker_token(name)
        except remote.BadReport as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"Worker token for {name} (shown once; give it to the node as WORKER_TOKEN):")
        self.stdout.write(key)

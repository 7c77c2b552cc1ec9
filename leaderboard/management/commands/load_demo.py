from django.core.management.base import BaseCommand

from leaderboard.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo knowledge base (the AWing paper and the face-alignment leaderboards)."

    def handle(self, *args, **options) -> None:
        if load_demo():
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Demo data already present; nothing to do.")

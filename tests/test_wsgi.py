"""The WSGI entry point gunicorn serves."""

import subprocess
import sys

PROBE = """
import gc, sys
import leaderboard.wsgi
print(gc.get_freeze_count(), "leaderboard.api.urls" in sys.modules)
"""


def test_the_site_is_loaded_and_frozen_out_of_the_garbage_collectors_sight_before_the_first_request():
    """A full collection walks every tracked object; the code loaded at start need never be walked."""
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    frozen, views_loaded = probe.stdout.split()
    assert views_loaded == "True"
    assert int(frozen) > 50_000

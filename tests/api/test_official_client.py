"""The unmodified official client (paperswithcode-client==0.3.1) against a live server.

The client pins old httpx and pydantic, so it lives in its own virtual
environment (created once under var/client-venv, from PyPI). A pydantic
validation error on its side would mean the server broke the contract.
"""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest
from django.conf import settings

from leaderboard.models import Method
from tests.api.conftest import AWING, make_user

CLIENT = "paperswithcode-client==0.3.1"
SCRIPT = Path(__file__).with_name("official_client_script.py")


def client_python() -> Path:
    home = Path(settings.BASE_DIR) / "var" / "client-venv"
    python = home / "bin" / "python"
    marker = home / f".installed-{CLIENT}"
    if not marker.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", CLIENT],
                       check=True, timeout=600)
        marker.touch()
    return python


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_official_client_reads_writes_and_syncs_without_validation_errors(demo, live_server, transactional_db):
    # The demo's methods include the one the AWing paper introduced.
    assert Method.objects.filter(slug="adaptive-wing-loss", paper__slug=AWING).exists()
    token = make_user("client-staff", staff=True).auth_token.key
    run = subprocess.run([str(client_python()), str(SCRIPT), live_server.url, token],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["paper_by_arxiv"] == AWING and seen["paper_published"] == "2019-04-16"
    assert seen["papers_page2"] == 5 and seen["paper_repositories"] == [True]
    assert "face-alignment" in seen["paper_tasks"]
    assert seen["best_rank_1"] == 1 and seen["owner_repositories"] == 1
    assert seen["task_description"] == "updated"
    assert seen["result_after_update"] == ["Client Model", {"Client Acc": "86"}, AWING]
    first_table, first_row, second_row = seen["sync_ids"]
    assert first_table == "face-alignment-on-client-competition" and first_row == second_row
    assert seen["anonymous_write"] == 401

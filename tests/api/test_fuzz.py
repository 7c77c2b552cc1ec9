"""Schema-driven fuzzing of every endpoint of this API: no 500s, responses match the schema.

Each generated request is sent twice: as generated (mostly unknown ids), and
with its path parameters replaced by ids of the demo data, so that detail,
nested and write endpoints are exercised on real rows too. Writes carry a
staff token. Bounded: a few examples per operation, no deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.api.conftest import AWING, BOARD, make_user

COMMITTED = Path(__file__).resolve().parents[2] / "schema" / "openapi.yaml"
# The verification service's endpoints are fuzzed by its own tests.
OTHERS = r"^/api/v1/(submissions|benchmarks)"

schema = schemathesis.openapi.from_dict(yaml.safe_load(COMMITTED.read_text())).exclude(path_regex=OTHERS)
schema.app = get_wsgi_application()
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def known_ids() -> dict[str, str]:
    from leaderboard.models import Leaderboard, Result

    board = Leaderboard.objects.get(slug=BOARD)
    return {
        "paper_id": AWING, "task_id": "face-alignment", "dataset_id": "wflw", "evaluation_id": BOARD,
        "metric_id": str(board.primary_metric_id), "result_id": str(Result.objects.filter(dataset__slug="wflw").first().pk),
        "author_id": "xinyao-wang", "conference_id": "iccv", "proceeding_id": "iccv-2019",
        "area_id": "computer-vision", "method_id": "none", "owner": "protossw512", "name": "AdaptiveWingLoss",
    }


@pytest.fixture
def world(demo):
    # The WSGI handler closes the connection after each request; in a test that would close
    # the test transaction (Django's test client disconnects this signal the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"token": make_user("fuzzer", staff=True).auth_token.key, "ids": known_ids()}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_it_never_fails_and_answers_as_documented(case, world):
    from django.core.cache import cache

    cache.clear()  # throttling is tested elsewhere
    headers = {"Authorization": f"Token {world['token']}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
    if case.path_parameters:
        case.path_parameters = {key: world["ids"].get(key, value) for key, value in case.path_parameters.items()}
        case.call_and_validate(headers=headers, checks=CHECKS)

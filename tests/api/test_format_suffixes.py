"""A `.json`-style suffix on an API path is no route: the official client never sends one, and the
router's suffix routes broke every extra action (`/sota.json` reached the view with an argument it
does not take: a 500). `?format=` still picks a renderer."""

from __future__ import annotations

import pytest

from tests.api.conftest import AWING, BOARD

pytestmark = pytest.mark.django_db

SUFFIXED = [f"/api/v1/evaluations/{BOARD}/sota.json", f"/api/v1/evaluations/{BOARD}/export.csv.csv",
            f"/api/v1/papers/{AWING}/results.json", "/api/v1/areas/computer-vision/tasks.json",
            f"/api/v1/papers/{AWING}.json", "/api/v1/papers.json"]


@pytest.mark.parametrize("path", SUFFIXED)
def test_a_format_suffix_is_a_clear_404_never_a_500(demo, anon, path):
    response = anon.get(path, follow=True)  # a detail path may first get its trailing slash
    assert response.status_code == 404, (path, response.status_code)
    assert "error" in response.json()


def test_the_format_query_parameter_still_picks_the_renderer(demo, anon):
    response = anon.get(f"/api/v1/evaluations/{BOARD}/sota/?format=json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")

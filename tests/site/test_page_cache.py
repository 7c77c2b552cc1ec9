"""A visitor's read of a web page is kept in the generation cache: a repeat costs no query, a write shows at once."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leaderboard import services

from .conftest import AWING, WFLW


@pytest.fixture(autouse=True)
def caching_on(settings):
    settings.API_CACHE_SECONDS = 30


PAGES = [
    "/",
    "/about/",
    "/tasks/",
    "/task/face-alignment",
    WFLW,
    f"{WFLW}?page=2",
    "/datasets/",
    "/dataset/wflw",
    "/papers/",
    "/papers/?page=2",
    AWING,
    "/methods/",
    "/method/adaptive-wing-loss",
    "/author/xinyao-wang",
    "/search/?q=wflw",
    "/benchmarks/",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_visitors_repeated_read_is_the_same_page_drawn_once(client, demo, url, django_assert_num_queries):
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert first.templates and not again.templates  # no template drawn again
    assert again["Content-Type"] == first["Content-Type"]
    assert again["X-Frame-Options"] == first["X-Frame-Options"]  # middleware still answers every request


def test_a_write_shows_in_the_next_visitors_read(client, wflw):
    assert "Cached-Net" not in client.get(WFLW).content.decode()
    services.record_result(wflw, model_name="Cached-Net", metrics={"NME (inter-ocular)": "0.25"})
    assert "Cached-Net" in client.get(WFLW).content.decode()


def test_a_signed_in_page_is_drawn_for_its_user_and_never_kept_for_visitors(client, demo):
    visitor = client.get(AWING).content.decode()
    user = get_user_model().objects.create_user("carol", password="pw-12345678")
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        mine = client.get(AWING).content.decode()
    assert queries.captured_queries
    assert "I am an author of this paper" in mine and "csrfmiddlewaretoken" in mine
    client.logout()
    again = client.get(AWING).content.decode()
    assert again == visitor and "csrfmiddlewaretoken" not in again


def test_a_page_with_a_message_is_not_kept(client, wflw):
    """The warning is this request's: the page that carries it is drawn each time, the plain one is kept."""
    url = f"{WFLW}?metric=no-such-metric"
    for _ in range(2):
        response = client.get(url)
        assert "has no metric" in response.content.decode()
        assert response.context is not None  # drawn by the view, not taken from the cache


def test_a_visitor_with_a_message_waiting_gets_it(client, demo):
    """A message left for a visitor (after a redirect) is shown, not the kept page without it."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse
    from django.test import RequestFactory

    plain = client.get("/papers/").content.decode()
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(constants.SUCCESS, "Signed out. See you soon.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[storage.cookie_name] = carrier.cookies[storage.cookie_name].value
    html = client.get("/papers/").content.decode()
    assert "Signed out. See you soon." in html and "Signed out" not in plain
    assert client.get("/papers/").content.decode() == plain  # read once, then the kept page again

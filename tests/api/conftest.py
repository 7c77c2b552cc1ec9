"""A small named world for the API tests: the demo knowledge base, three users and their tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leaderboard import services
from leaderboard.models import Leaderboard, Method, Paper

BOARD = "face-alignment-on-wflw"
AWING = "adaptive-wing-loss-for-robust-face-alignment"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Throttle counters live in the cache; every test starts with a full allowance."""
    cache.clear()
    yield
    cache.clear()


def make_user(username: str, *, staff: bool = False):
    # No password: hashing one costs more than the test; the API authenticates by token.
    user = get_user_model().objects.create_user(username, f"{username}@example.org", None, is_staff=staff)
    Token.objects.create(user=user)
    return user


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def staff(db):
    return make_user("stella", staff=True)


@pytest.fixture
def anon():
    return APIClient()


def grow(n: int, tag: str = "extra") -> None:
    """Add `n` more of everything the list endpoints show, linked the way real data is."""
    board = Leaderboard.objects.get(slug=BOARD)
    area = services.area_named("Computer Vision")
    parent = services.task_named("Face Alignment")
    for i in range(n):
        name = f"{tag} {i}"
        paper = services.save_paper(
            title=f"Paper {name}",
            abstract=f"Face alignment study {name}",
            published=dt.date(2020, 1, 1 + i % 28),
            proceeding="CONFX 2000",
            authors=["Shared Author", f"Author {name}"],
            tasks=["Face Alignment"],
        )
        services.link_repository(paper, f"https://github.com/ownerx/{tag}-repo-{i}", is_official=i % 2 == 0)
        method = Method.objects.create(name=f"Method {name}", slug=f"method-{tag}-{i}", paper=paper)
        paper.methods.add(method)
        task = services.task_named(f"Task {name}")
        task.areas.add(area)
        services.add_task_parents(task, [parent])
        dataset, _ = services.dataset_named(f"Dataset {name}")
        services.leaderboard_for(task, dataset, ["Accuracy"])
        services.record_result(
            board,
            model_name=f"Model {name}",
            metrics={"NME (inter-ocular)": f"{5 + i / 10:.2f}", "AUC@10 (inter-ocular)": "50.1"},
            paper=Paper.objects.get(slug="adaptive-wing-loss-for-robust-face-alignment"),
            evaluated_on=dt.date(2022, 1, 1 + i % 28),
        )

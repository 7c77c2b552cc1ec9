import pytest

from leaderboard.models import Leaderboard

WFLW = "/sota/face-alignment-on-wflw"
AWING = "/paper/adaptive-wing-loss-for-robust-face-alignment"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The home page caches its notable boards; every test starts from an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def wflw(demo) -> Leaderboard:
    return Leaderboard.objects.select_related("task", "dataset", "primary_metric").get(slug="face-alignment-on-wflw")

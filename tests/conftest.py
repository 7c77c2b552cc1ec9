import pytest


@pytest.fixture
def demo(db):
    """The demo knowledge base: the AWing paper and 120 face-alignment rows."""
    from leaderboard.demo import load_demo

    load_demo()

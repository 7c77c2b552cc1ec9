"""Pages whose lists grow with the archive show a bounded part of them, and show a write at once."""

import pytest

from leaderboard import cache as generation
from leaderboard import selectors, services
from leaderboard.models import Area, Task


@pytest.fixture
def crowded_area(demo, monkeypatch):
    monkeypatch.setattr(selectors, "BROWSE_TASKS_PER_AREA", 2)
    area = Area.objects.get(name="Computer Vision")
    for i in range(3):
        Task.objects.create(name=f"Crowded task {i}", slug=f"crowded-task-{i}").areas.add(area)
    return area


def test_the_browse_page_shows_each_areas_first_tasks_and_links_to_all_of_them(client, crowded_area):
    html = client.get("/tasks/").content.decode()
    total = crowded_area.tasks.count()
    assert total > 2
    assert f'href="/tasks/?area={crowded_area.slug}"' in html and f"All {total} tasks" in html
    section = html.split(f'id="{crowded_area.slug}"')[1].split("</section>")[0]
    assert section.count('href="/task/') == 2
    # The tasks with the most leaderboards come first.
    assert 'href="/task/face-alignment"' in section


def test_one_area_lists_all_its_tasks(client, crowded_area):
    response = client.get("/tasks/", {"area": crowded_area.slug})
    html = response.content.decode()
    for task in crowded_area.tasks.all():
        assert f'href="/task/{task.slug}"' in html
    assert client.get("/tasks/", {"area": "no-such-area"}).status_code == 404


def test_the_home_page_shows_a_new_best_at_once(client, wflw, settings):
    settings.API_CACHE_SECONDS = 300
    before = {item.board.slug: item for item in client.get("/").context["notable"]}[wflw.slug]
    services.record_result(wflw, model_name="Newest best", metrics={"NME (inter-ocular)": "0.5"})
    after = {item.board.slug: item for item in client.get("/").context["notable"]}[wflw.slug]
    assert (after.best_model, after.best_value) == ("Newest best", "0.5")
    assert after.result_count == before.result_count + 1


def test_board_summaries_take_a_fixed_number_of_queries(wflw, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        selectors.best_of_boards([wflw])
    more = [*selectors.dataset_page("wflw")[1], *selectors.task_page("face-alignment")[1]]
    assert len(more) > 1
    with django_assert_max_num_queries(3):
        selectors.best_of_boards([item.board for item in more])


def test_a_task_and_a_dataset_show_their_first_boards_and_point_to_the_rest(client, demo, monkeypatch):
    monkeypatch.setattr(selectors, "BOARDS_SHOWN", 1)
    task = client.get("/task/face-alignment")
    assert len(task.context["boards"]) == 1 and task.context["boards_more"]
    assert 'href="/api/v1/tasks/face-alignment/evaluations/"' in task.content.decode()
    dataset = client.get("/dataset/wflw")  # its one board: nothing left out
    assert len(dataset.context["boards"]) == 1 and not dataset.context["boards_more"]
    monkeypatch.setattr(selectors, "BOARDS_SHOWN", 100)
    generation.bump()  # pages drawn before the change stay until the next write (or API_CACHE_SECONDS)
    assert not client.get("/task/face-alignment").context["boards_more"]


def test_the_notable_boards_are_chosen_again_when_the_boards_are_made_anew(demo):
    """A database reloaded under a cache that outlived it: the boards' ids change, the choice follows."""
    from leaderboard.models import Leaderboard

    before = [(board.task_id, board.dataset_id) for board in selectors.notable_leaderboards()]
    assert before
    copies = list(Leaderboard.objects.all())
    Leaderboard.objects.all().delete()
    for board in copies:
        board.pk = None
        board.save()
    assert [(board.task_id, board.dataset_id) for board in selectors.notable_leaderboards()] == before


def _age_the_notable_choice(seconds: float) -> None:
    from django.core.cache import cache

    key = selectors.notable_key(8)
    kept = cache.get(key)
    cache.set(key, {**kept, "at": kept["at"] - seconds}, timeout=None)


def _queued(queue: str) -> int:
    from workers.app import app

    with app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        try:
            return simple.qsize()
        finally:
            simple.close()


def test_an_old_choice_of_notable_boards_is_shown_while_a_worker_makes_the_next(client, demo, settings):
    """Choosing the notable boards scans every listing; after NOTABLE_CACHE_SECONDS a worker does it, not a visitor."""
    import uuid

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.VERIFICATION_QUEUES = {"cpu": f"cpu-notable-{uuid.uuid4().hex[:8]}", "gpu": "gpu"}
    first = [board.slug for board in selectors.notable_leaderboards()]
    _age_the_notable_choice(selectors.NOTABLE_CACHE_SECONDS + 1)
    for _ in range(3):  # pages drawn afresh (as after a write), each with the old choice
        generation.bump()
        with CaptureQueriesContext(connection) as queries:
            shown = [item.board.slug for item in client.get("/").context["notable"]]
        assert shown == first
        assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"] and "resulttask" in q["sql"]]
    assert _queued(settings.VERIFICATION_QUEUES["cpu"]) == 1  # one new choice, however many visitors


def test_a_new_board_is_chosen_by_a_worker_while_visitors_keep_the_choice(demo, settings):
    """A board made changes the set of boards: a worker chooses again (queued once); visitors do not wait."""
    import uuid

    from leaderboard.models import Dataset, Leaderboard, Task
    from workers.tasks import refresh_notable_boards

    settings.VERIFICATION_QUEUES = {"cpu": f"cpu-notable-{uuid.uuid4().hex[:8]}", "gpu": "gpu"}
    before = selectors.notable_leaderboards()
    task, dataset = Task.objects.get(slug="face-alignment"), Dataset.objects.create(name="Crowded", slug="crowded")
    board = Leaderboard.objects.create(task=task, dataset=dataset, slug="face-alignment-on-crowded")
    for i in range(60):
        services.record_result(board, model_name=f"Model {i}", metrics={"NME (inter-ocular)": f"{i + 1}"})
    assert selectors.notable_leaderboards() == selectors.notable_leaderboards() == before
    assert _queued(settings.VERIFICATION_QUEUES["cpu"]) == 1
    refresh_notable_boards()  # what the worker runs
    assert selectors.notable_leaderboards()[0] == board



def test_a_task_page_shows_its_first_parents_and_subtasks_and_points_to_the_rest(client, demo, monkeypatch):
    hub = Task.objects.create(name="Hub task", slug="hub-task")
    for i in range(3):
        Task.objects.create(name=f"Sub {i}", slug=f"sub-{i}").parents.add(hub)
        Task.objects.create(name=f"Parent {i}", slug=f"parent-{i}").children.add(hub)
    monkeypatch.setattr(selectors, "RELATED_TASKS_SHOWN", 2)
    html = client.get("/task/hub-task").content.decode()
    assert 'href="/task/sub-0"' in html and 'href="/task/sub-1"' in html and 'href="/task/sub-2"' not in html
    assert 'href="/task/parent-1"' in html and 'href="/task/parent-2"' not in html
    assert 'href="/api/v1/tasks/hub-task/children/"' in html and 'href="/api/v1/tasks/hub-task/parents/"' in html
    monkeypatch.setattr(selectors, "RELATED_TASKS_SHOWN", 3)
    generation.bump()  # pages drawn before the change stay until the next write (or API_CACHE_SECONDS)
    html = client.get("/task/hub-task").content.decode()
    assert 'href="/task/sub-2"' in html and 'href="/task/parent-2"' in html
    assert "/api/v1/tasks/hub-task/children/" not in html and "/api/v1/tasks/hub-task/parents/" not in html

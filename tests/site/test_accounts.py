"""Sign up, log in and out, the profile page and API tokens."""

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token


def sign_up(client, username="ada", password="a-long-passphrase-42"):
    return client.post(
        "/accounts/signup/", {"username": username, "email": "", "password1": password, "password2": password}
    )


def test_it_signs_up_and_logs_the_new_user_in(client, db):
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert User.objects.filter(username="ada").exists()
    profile = client.get("/accounts/profile/")
    assert profile.status_code == 200
    assert "<h1>ada</h1>" in profile.content.decode()


def test_it_shows_field_errors_next_to_the_field(client, db):
    User.objects.create_user("ada", password="x")
    response = client.post("/accounts/signup/", {"username": "ada", "password1": "short", "password2": "other"})
    assert response.status_code == 400
    html = response.content.decode()
    username_field = html.index('id="id_username"')
    assert html.index('id="id_username_errors"') > username_field
    assert "A user with that username already exists." in html
    assert 'id="id_password2_errors"' in html and "didn" in html
    assert '<label for="id_username">' in html


def test_it_logs_in_and_out_with_a_post(client, db):
    User.objects.create_user("ada", password="a-long-passphrase-42")
    response = client.post("/accounts/login/", {"username": "ada", "password": "a-long-passphrase-42"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert "Log out" in client.get("/").content.decode()
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/accounts/profile/")["Location"].startswith("/accounts/login/?next=")


def test_it_says_what_was_wrong_with_a_bad_login(client, db):
    response = client.post("/accounts/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_creates_regenerates_and_revokes_the_api_token(client, db):
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    client.force_login(user)
    assert "You have no API token." in client.get("/accounts/profile/").content.decode()
    assert client.post("/accounts/token/")["Location"] == "/accounts/profile/#api-token"
    first = Token.objects.get(user=user).key
    assert first in client.get("/accounts/profile/").content.decode()
    client.post("/accounts/token/")
    second = Token.objects.get(user=user).key
    assert second != first
    client.post("/accounts/token/revoke/")
    assert not Token.objects.filter(user=user).exists()
    assert "API token revoked." in client.get("/accounts/profile/").content.decode()


def test_it_changes_tokens_only_with_a_post_from_a_logged_in_user(client, db):
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    assert client.post("/accounts/token/")["Location"].startswith("/accounts/login/")
    client.force_login(user)
    assert client.get("/accounts/token/").status_code == 405
    assert not Token.objects.exists()


def test_the_token_authenticates_api_requests(client, db):
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    client.force_login(user)
    client.post("/accounts/token/")
    key = Token.objects.get(user=user).key
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.test import APIRequestFactory

    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}")
    assert TokenAuthentication().authenticate(request)[0] == user


def test_its_profile_query_count_is_bounded(client, db, django_assert_max_num_queries):
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    client.force_login(user)
    with django_assert_max_num_queries(8):
        assert client.get("/accounts/profile/").status_code == 200


def make_submission(owner, board, number: int, result=None):
    from django.core.files.base import ContentFile

    from leaderboard.verification.models import Benchmark, EvaluationRun, Submission

    benchmark, _ = Benchmark.objects.get_or_create(
        slug="wflw-test",
        defaults={"name": "WFLW test", "format": "wflw", "num_landmarks": 98, "files_dir": "b", "leaderboard": board},
    )
    submission = Submission.objects.create(
        owner=owner,
        benchmark=benchmark,
        kind="predictions",
        artifact=ContentFile(b"x", name=f"p{number}.txt"),
        original_filename=f"p{number}.txt",
        sha256="0" * 64,
        size=1,
        model_name=f"MyNet-{number}",
        result=result,
    )
    submission.current_run = EvaluationRun.objects.create(submission=submission, queue="cpu", status="succeeded")
    submission.save()
    return submission


def test_it_lists_ones_submissions_on_the_profile_without_a_query_per_row(
    client, wflw, settings, tmp_path, django_assert_max_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    client.force_login(user)
    make_submission(user, wflw, 0)
    with django_assert_max_num_queries(8) as before:
        html = client.get("/accounts/profile/").content.decode()
    assert "MyNet-0" in html and "WFLW test" in html
    for number in range(1, 6):
        make_submission(user, wflw, number)
    with django_assert_max_num_queries(len(before.captured_queries)):
        html = client.get("/accounts/profile/").content.decode()
    assert html.index("MyNet-5") < html.index("MyNet-0")


def test_it_links_a_verified_result_to_its_evaluation(client, wflw, settings, tmp_path):
    from leaderboard.models import Result

    settings.MEDIA_ROOT = tmp_path
    user = User.objects.create_user("ada", password="a-long-passphrase-42")
    result = Result.objects.get(dataset=wflw.dataset, model_name="SLPT")
    result.provenance = Result.Provenance.VERIFIED
    result.save()
    submission = make_submission(user, wflw, 0, result=result)
    html = client.get("/sota/face-alignment-on-wflw").content.decode()
    assert f'href="{submission.get_absolute_url()}">evaluation</a>' in html
    assert f'href="{submission.get_absolute_url()}">evaluation</a>' in client.get("/").content.decode()

"""The admin's link to a submission's uploaded file downloads it, for staff only."""

from leaderboard.verification import services
from leaderboard.verification.models import Submission
from tests.verification.conftest import make_user, predictions_json


def submission(benchmark) -> Submission:
    owner = make_user("grace")
    data = predictions_json(benchmark)
    return services.submit(owner, benchmark, services.Upload("predictions", "mine.json", data, "MyNet"))


def test_the_artifact_link_downloads_the_uploaded_file(admin_client, wflw):
    uploaded = submission(wflw)
    page = admin_client.get(f"/admin/verification/submission/{uploaded.pk}/change/").content.decode()
    link = f"/admin/verification/submission/{uploaded.pk}/artifact/"
    assert f'href="{link}"' in page and "Download mine.json" in page
    assert "/media/" not in page  # uploads are not served as media
    response = admin_client.get(link)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="mine.json"'
    assert b"".join(response.streaming_content) == predictions_json(wflw)


def test_only_staff_may_download_an_artifact(client, wflw):
    uploaded = submission(wflw)
    link = f"/admin/verification/submission/{uploaded.pk}/artifact/"
    assert client.get(link).status_code == 302  # to the admin's sign-in
    client.force_login(make_user("mallory"))
    assert client.get(link).status_code == 302
    staff = make_user("trainee", staff=True)  # staff without the view permission
    client.force_login(staff)
    assert client.get(link).status_code == 403


def test_a_missing_artifact_is_a_404(admin_client, wflw):
    uploaded = submission(wflw)
    uploaded.artifact.delete(save=False)
    assert admin_client.get(f"/admin/verification/submission/{uploaded.pk}/artifact/").status_code == 404
    assert admin_client.get("/admin/verification/submission/999999/artifact/").status_code == 404

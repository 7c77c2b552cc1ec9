"""What a first-time participant gets: the sign-in explanation, the faces file, the
sample predictions and landmark figure, the form, and a repeated upload that links back."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from evaluator.faces import parse_faces
from evaluator.predictions import parse_predictions
from evaluator.scoring import score
from leaderboard.verification.models import EvaluationRun, Submission
from tests.verification.conftest import (
    ROOT,
    api_client,
    install_demo,
    make_user,
    post_submission,
    predictions_json,
    truth,
    upload,
)
from tests.verification.test_submissions import evaluate_latest

NEXT = "next=%2Fsubmit%2F%3Fbenchmark%3Dwflw-demo"


@pytest.fixture
def alice(db):
    return make_user("alice")


def web_submit(client, benchmark, data: bytes, name: str = "pred.json", **fields):
    payload = {"benchmark": benchmark.slug, "kind": "predictions", "file": upload(name, data), "model_name": "MyNet"}
    return client.post("/submit/", {**payload, **fields})


def test_it_puts_the_benchmarks_in_the_navigation(client, db):
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', client.get("/benchmarks/").content.decode(), re.DOTALL)
    assert nav and '<a href="/benchmarks/">Benchmarks</a>' in nav.group(1)


def test_it_tells_an_anonymous_visitor_why_and_how_to_sign_in(client, wflw):
    response = client.get("/submit/?benchmark=wflw-demo")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in to submit to WFLW demo (4 faces)" in page
    for reason in ("tied to an account", "shared compute", "can be private"):
        assert reason in page
    assert f'href="/accounts/login/?{NEXT}"' in page and f'href="/accounts/signup/?{NEXT}"' in page
    assert 'id="submit-form"' not in page


def test_it_saves_nothing_an_anonymous_visitor_posts(client, wflw):
    response = web_submit(client, wflw, predictions_json(wflw))
    assert response.status_code == 403 and "Sign in to submit" in response.content.decode()
    assert Submission.objects.count() == 0


def test_it_brings_a_new_account_back_to_the_submit_page(client, wflw):
    signup = client.get(f"/accounts/signup/?{NEXT}").content.decode()
    assert 'name="next" value="/submit/?benchmark=wflw-demo"' in signup
    assert f'href="/accounts/login/?{NEXT}"' in signup
    form = {"username": "newcomer", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    response = client.post("/accounts/signup/", {**form, "next": "/submit/?benchmark=wflw-demo"})
    assert response.status_code == 302 and response["Location"] == "/submit/?benchmark=wflw-demo"
    assert 'id="submit-form"' in client.get(response["Location"]).content.decode()


def test_it_never_sends_a_new_account_to_another_site(client, db):
    form = {"username": "newcomer", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    response = client.post("/accounts/signup/", {**form, "next": "https://evil.example/submit/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"


def test_it_serves_the_public_faces_without_ground_truth(client, wflw):
    response = client.get("/benchmarks/wflw-demo/faces.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = response.json()
    assert set(document) == {"benchmark", "format", "num_landmarks", "face_count", "faces", "images"}
    assert {key for face in document["faces"] for key in face} == {"face_id", "image", "box"}
    gt = truth(wflw)
    faces = parse_faces(response.content)
    assert faces.face_ids == gt.face_ids and faces.num_landmarks == 98 and document["face_count"] == 4
    np.testing.assert_allclose(faces.boxes, gt.boxes, atol=1e-3)
    assert client.get("/benchmarks/nothing-here/faces.json").status_code == 404


def test_the_sample_parses_with_the_server_parser_and_scores(client, wflw):
    response = client.get("/benchmarks/wflw-demo/sample-predictions.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="wflw-demo-mean-shape.json"'
    gt = truth(wflw)
    pred = parse_predictions(response.content, "sample.json", gt)
    report = score(pred, gt, "inter_ocular")
    # The mean shape is a baseline, neither the ground truth nor garbage.
    assert 0.01 < report["overall"]["nme"] < 0.5


def test_an_uploaded_sample_is_accepted_and_verified(client, wflw, alice):
    sample = client.get("/benchmarks/wflw-demo/sample-predictions.json").content
    client.force_login(alice)
    response = web_submit(client, wflw, sample, name="wflw-demo-mean-shape.json", model_name="Mean shape")
    assert response.status_code == 302, response.content.decode()[-2000:]
    submission = Submission.objects.get()
    assert response["Location"] == submission.get_absolute_url()
    run = evaluate_latest(submission.pk)
    assert run.status == "succeeded", run.log
    expected = score(parse_predictions(sample, "s.json", truth(wflw)), truth(wflw), "inter_ocular")
    assert run.metrics["NME (inter-ocular)"] == f"{expected['overall']['nme'] * 100:.2f}"


def test_the_landmark_figure_numbers_every_point_in_file_order(client, wflw):
    response = client.get("/benchmarks/wflw-demo/landmarks.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.count("<circle") == 98
    assert sorted(int(n) for n in re.findall(r'fill="#1d2330">(\d+)</text>', svg)) == list(range(98))
    page = client.get("/benchmarks/wflw-demo/").content.decode()
    assert 'src="/benchmarks/wflw-demo/landmarks.svg"' in page and 'href="/benchmarks/wflw-demo/faces.json"' in page
    assert "python -m evaluator validate --faces http://testserver/benchmarks/wflw-demo/faces.json" in page


def test_it_keeps_the_mean_shape_of_a_small_real_benchmark_to_itself(client, storage, db):
    install_demo(is_demo=False)  # four faces: their mean shape would give them away
    for name in ("sample-predictions.json", "landmarks.svg"):
        assert client.get(f"/benchmarks/wflw-demo/{name}").status_code == 404
    assert client.get("/benchmarks/wflw-demo/faces.json").status_code == 200
    body = api_client().get("/api/v1/benchmarks/wflw-demo/").json()
    assert body["faces_file_url"] == "/benchmarks/wflw-demo/faces.json"
    assert body["sample_predictions_url"] is None and body["landmark_order_url"] is None
    assert 'id="sample-link"' not in client.get("/benchmarks/wflw-demo/").content.decode()


def test_the_api_links_the_files_to_start_from(wflw):
    body = api_client().get("/api/v1/benchmarks/wflw-demo/").json()
    assert body["sample_predictions_url"] == "/benchmarks/wflw-demo/sample-predictions.json"
    assert body["landmark_order_url"] == "/benchmarks/wflw-demo/landmarks.svg"


def test_the_form_has_clear_labels_help_and_required_markers(client, wflw, alice):
    client.force_login(alice)
    page = client.get("/submit/?benchmark=wflw-demo").content.decode()
    for label in ("Paper URL (arXiv or PDF)", "Code URL (repository)", "Model name", "What you upload",
                  "Trained with additional data", "Private submission"):
        assert label in page
    assert "Paper url" not in page and "Code url" not in page
    assert page.count("(required)</span>") == 4  # benchmark, kind, file, model name
    assert re.search(r'<input[^>]*name="model_name"[^>]*required', page)
    assert re.search(r'<option value="wflw-demo" selected>', page)
    assert 'aria-describedby="id_model_name_helptext"' in page and 'id="id_model_name_helptext"' in page


def test_a_repeated_web_upload_links_to_the_first_submission(client, wflw, alice):
    client.force_login(alice)
    data = predictions_json(wflw)
    first = web_submit(client, wflw, data)
    again = web_submit(client, wflw, data, model_name="Renamed")
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Submission.objects.count() == 1 and EvaluationRun.objects.count() == 1
    page = client.get(again["Location"]).content.decode()
    assert "You already submitted this file to wflw-demo as &#x27;MyNet&#x27;" in page


def test_a_repeated_api_upload_answers_the_first_submission(wflw, alice):
    client, data = api_client(alice), predictions_json(wflw)
    first = post_submission(client, wflw, data)
    again = post_submission(client, wflw, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["sha256"] == first.json()["sha256"]
    assert again["Location"] == f"http://testserver/api/v1/submissions/{first.json()['id']}/"
    assert Submission.objects.count() == 1

    # Another person's copy, another file or a failed earlier try make a new submission.
    assert post_submission(api_client(make_user("bob")), wflw, data).status_code == 201
    assert post_submission(client, wflw, predictions_json(wflw, seed=1)).status_code == 201
    EvaluationRun.objects.filter(submission_id=first.json()["id"]).update(status="failed")
    retried = post_submission(client, wflw, data)
    assert retried.status_code == 201 and retried.json()["id"] != first.json()["id"]


def test_private_submissions_are_marked_in_the_profile_and_on_their_page(client, wflw, alice):
    api = api_client(alice)
    shown = post_submission(api, wflw, predictions_json(wflw, seed=1), model_name="PublicNet").json()
    hidden = post_submission(api, wflw, predictions_json(wflw, seed=2), model_name="SecretNet", private="true").json()
    client.force_login(alice)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>", client.get("/accounts/profile/").content.decode(), re.DOTALL)
    marked = {re.sub(r"<[^>]+>", "", row).split()[0]: 'class="badge private"' in row for row in rows}
    assert marked == {"PublicNet": False, "SecretNet": True}
    assert 'class="badge private"' in client.get(hidden["url"]).content.decode()
    assert 'class="badge private"' not in client.get(shown["url"]).content.decode()


def test_the_token_has_a_copy_button_and_stays_selectable(client, alice):
    client.force_login(alice)
    page = client.get("/accounts/profile/").content.decode()
    field = re.search(r'<input id="token-key"[^>]*>', page).group()
    assert "readonly" in field and f'value="{alice.auth_token.key}"' in field
    assert '<button type="button" class="copy-button" data-copy="token-key" hidden>Copy</button>' in page
    assert re.search(r'<script src="/static/js/copy\.js(\?[^"]*)?" defer>', page)


@pytest.mark.slow
def test_validate_reads_the_faces_file_from_the_live_site(live_server, settings, tmp_path, transactional_db):
    settings.MEDIA_ROOT, settings.BENCHMARKS_ROOT = tmp_path / "media", tmp_path / "benchmarks"
    benchmark = install_demo()
    url = f"{live_server.url}/benchmarks/wflw-demo/faces.json"
    sample = tmp_path / "sample.json"
    sample.write_bytes(api_client().get("/benchmarks/wflw-demo/sample-predictions.json").content)
    broken = tmp_path / "broken.json"
    document = json.loads(predictions_json(benchmark))
    document["nobody.jpg#7"] = document.pop(truth(benchmark).face_ids[1])
    broken.write_text(json.dumps(document))

    def validate(path):
        command = [sys.executable, "-m", "evaluator", "validate", "--faces", url, str(path)]
        return subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)

    good, bad = validate(sample), validate(broken)
    assert good.returncode == 0, good.stderr
    assert "OK, 4 faces of benchmark wflw-demo with 98 landmarks each" in good.stdout
    assert bad.returncode == 1
    assert "face 'nobody.jpg#7': unknown face id" in bad.stderr and "1 face(s) have no prediction" in bad.stderr

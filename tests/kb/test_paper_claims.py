"""Paper claims: a verified result counts as a paper's only once its link is confirmed.

A submitter names a paper with the submission's paper URL. Until the submitter is a
confirmed author of that paper (an approved claim) or staff confirm the link, the
paper page, the paper's API results and the board's best entry leave the paper out,
and the leaderboard and the home page show the submitter instead.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.core.cache import cache

from leaderboard import claims
from leaderboard.errors import NotAllowed
from leaderboard.models import Paper, PaperClaim, Result
from leaderboard.verification import services
from leaderboard.verification.models import EvaluationRun
from tests.kb.test_paper_page import PAPER_URL, SOURCE_ROWS, result_rows
from tests.verification.conftest import (
    api_client,
    install_demo,
    make_user,
    predictions_json,
)

AWING_ARXIV = "https://arxiv.org/abs/1904.07399"
SLUG = "adaptive-wing-loss-for-robust-face-alignment"
TITLE = "Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression"
CLAIMS_API = f"/api/v1/papers/{SLUG}/claims/"


@pytest.fixture
def wflw(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BENCHMARKS_ROOT = tmp_path / "benchmarks"
    cache.clear()  # API throttles and page caches count per id, which test databases reuse
    yield install_demo()
    cache.clear()


@pytest.fixture
def paper(wflw):
    return Paper.objects.get(slug=SLUG)


def verify(benchmark, owner, paper_url: str = AWING_ARXIV, model_name: str = "Junk baseline") -> Result:
    """Submit predictions far off the truth naming `paper_url`, and evaluate them as a worker would."""
    upload = services.Upload(
        kind="predictions",
        filename="pred.json",
        data=predictions_json(benchmark, offset=60.0),
        model_name=model_name,
        paper_url=paper_url,
    )
    submission = services.submit(owner, benchmark, upload)
    run = EvaluationRun.objects.get(submission=submission)
    assert services.evaluate(run.pk, "test-worker") == "succeeded"
    submission.refresh_from_db()
    return submission.result


def board_row(html: str, result: Result) -> str:
    match = re.search(rf'<tr [^>]*data-id="{result.pk}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row for result {result.pk}"
    return match.group(1)


def approved_author(paper: Paper, username: str):
    user = make_user(username)
    PaperClaim.objects.create(paper=paper, user=user, status=PaperClaim.Status.APPROVED)
    return user


# --- the defect: a stranger's verified result joined the AWing paper ------------------------


def test_a_strangers_verified_result_leaves_the_paper_page_at_its_60_source_rows(client, wflw, paper):
    result = verify(wflw, make_user("stranger"))
    assert result.provenance == "verified" and result.paper == paper

    rows = result_rows(client.get(PAPER_URL).content.decode())
    assert len(rows) == 60
    assert Counter(map(tuple, rows)) == Counter(map(tuple, SOURCE_ROWS))
    assert result.paper_link_confirmed is False


def test_a_strangers_result_is_not_the_papers_in_the_api(wflw, paper):
    result = verify(wflw, make_user("stranger"))
    body = api_client().get(f"/api/v1/papers/{SLUG}/results/").json()
    assert str(result.pk) not in {item["id"] for item in body["results"]}
    assert body["count"] == Result.objects.filter(paper=paper, provenance="archive").count()
    sota = api_client().get(f"/api/v1/evaluations/{wflw.leaderboard.slug}/sota/").json()
    row = next(row for row in sota["rows"] if row["result"] == str(result.pk))
    assert row["paper"] is None and row["verified"] is True
    listed = api_client().get(f"/api/v1/evaluations/{wflw.leaderboard.slug}/results/").json()["results"]
    assert next(item for item in listed if item["id"] == str(result.pk))["paper"] is None


def test_the_leaderboard_shows_the_submitter_and_paper_link_unconfirmed(client, wflw, paper):
    result = verify(wflw, make_user("stranger"))
    row = board_row(client.get(wflw.leaderboard.get_absolute_url()).content.decode(), result)
    assert "stranger" in row and "paper link unconfirmed" in row
    assert "verified" in row
    assert TITLE not in row and paper.get_absolute_url() not in row


def test_the_home_page_shows_the_submitter_never_the_unconfirmed_paper(client, wflw, paper):
    verify(wflw, make_user("stranger"))
    html = client.get("/").content.decode()
    verified = html[html.index("Recently verified results"):]
    verified = verified[: verified.index("</ul>")]
    assert "Junk baseline" in verified and "stranger" in verified and "paper link unconfirmed" in verified
    assert TITLE[:40] not in verified and paper.get_absolute_url() not in verified


def test_the_exports_leave_the_unconfirmed_paper_out(client, wflw, paper):
    result = verify(wflw, make_user("stranger"))
    board = wflw.leaderboard
    for url in (f"{board.get_absolute_url()}?format=json", f"/api/v1/evaluations/{board.slug}/export.json/"):
        body = client.get(url).json()
        rows = body if isinstance(body, list) else body["rows"]
        (row,) = [r for r in rows if r["model"] == "Junk baseline"]
        assert row["paper"] is None and row["paper_title"] is None and row["verified"] is True, url
    csv_text = client.get(f"{board.get_absolute_url()}?format=csv").content.decode()
    (line,) = [line for line in csv_text.splitlines() if line.startswith(("1,Junk", ",Junk")) or ",Junk baseline," in line]
    assert TITLE not in line and SLUG not in line
    assert result.paper_id == paper.pk  # the submitter's word is kept, only not counted


def test_the_board_summary_does_not_link_the_unconfirmed_paper(wflw, paper):
    from leaderboard.selectors import best_of_boards

    result = verify(wflw, make_user("stranger"))
    Result.objects.exclude(pk=result.pk).filter(dataset=wflw.leaderboard.dataset).delete()
    (summary,) = best_of_boards([wflw.leaderboard])
    assert summary.best_model == "Junk baseline" and summary.best_paper_slug is None


# --- confirmed links -----------------------------------------------------------------------


def test_a_confirmed_author_or_staff_links_a_verified_result_at_once(client, wflw, paper):
    author = approved_author(paper, "author")
    staff = make_user("editor", staff=True)
    mine = verify(wflw, author, model_name="Author net")
    theirs = verify(wflw, staff, model_name="Staff net")
    assert mine.paper_link_confirmed and theirs.paper_link_confirmed
    models = {row[-1] for row in result_rows(client.get(PAPER_URL).content.decode())}
    assert {"Author net", "Staff net"} <= models


def test_a_claim_approved_by_staff_puts_the_result_on_the_paper_page(client, admin_client, wflw, paper):
    stranger = make_user("stranger")
    result = verify(wflw, stranger)

    client.force_login(stranger)
    response = client.post(f"{PAPER_URL}/claim/")
    assert response.status_code == 302 and response["Location"].endswith("#claim")
    claim = PaperClaim.objects.get(paper=paper, user=stranger)
    assert claim.status == "pending"
    assert "is <strong>pending</strong>" in client.get(PAPER_URL).content.decode()

    response = admin_client.post(
        "/admin/leaderboard/paperclaim/", {"action": "approve", "_selected_action": [claim.pk]}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    result.refresh_from_db()
    assert claim.status == "approved" and claim.decided_by.is_staff and claim.decided_at
    assert result.paper_link_confirmed

    rows = result_rows(client.get(PAPER_URL).content.decode())
    assert len(rows) > 60 and "Junk baseline" in {row[-1] for row in rows}
    board = client.get(wflw.leaderboard.get_absolute_url()).content.decode()
    assert TITLE in board_row(board, result) and "paper link unconfirmed" not in board_row(board, result)


def test_staff_confirm_a_results_paper_link_in_the_admin(client, admin_client, wflw, paper):
    result = verify(wflw, make_user("stranger"))
    response = admin_client.post(
        "/admin/leaderboard/result/", {"action": "confirm_paper_links", "_selected_action": [result.pk]}
    )
    assert response.status_code == 302
    result.refresh_from_db()
    assert result.paper_link_confirmed
    assert "Junk baseline" in {row[-1] for row in result_rows(client.get(PAPER_URL).content.decode())}


def test_a_confirmed_author_approves_another_claim_in_the_api(wflw, paper):
    author = approved_author(paper, "author")
    coauthor = make_user("coauthor")
    result = verify(wflw, coauthor)

    response = api_client(coauthor).post(CLAIMS_API)
    assert response.status_code == 201, response.json()
    claim_id = response.json()["id"]
    assert response.json()["status"] == "pending" and response.json()["user"] == "coauthor"

    listed = api_client(author).get(CLAIMS_API).json()
    assert [item["id"] for item in listed["results"]] == [claim_id] + [
        c.pk for c in PaperClaim.objects.filter(paper=paper).exclude(pk=claim_id).order_by("-created_at", "-id")
    ]

    response = api_client(author).post(f"{CLAIMS_API}{claim_id}/approve/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved" and response.json()["decided_by"] == "author"
    result.refresh_from_db()
    assert result.paper_link_confirmed


def test_a_non_author_cannot_approve_a_claim(wflw, paper):
    claimant, other = make_user("claimant"), make_user("other")
    claim_id = api_client(claimant).post(CLAIMS_API).json()["id"]
    api_client(other).post(CLAIMS_API)  # a pending claim of one's own confirms nothing

    for user in (other, claimant):
        response = api_client(user).post(f"{CLAIMS_API}{claim_id}/approve/")
        assert response.status_code == 403
        assert "Only staff or an author" in response.json()["error"]
    assert PaperClaim.objects.get(pk=claim_id).status == "pending"
    assert api_client().post(f"{CLAIMS_API}{claim_id}/approve/").status_code == 401
    with pytest.raises(NotAllowed):
        claims.decide_claim(PaperClaim.objects.get(pk=claim_id), other, approve=True)


def test_staff_reject_a_claim_and_the_link_stays_unconfirmed(wflw, paper):
    stranger = make_user("stranger")
    result = verify(wflw, stranger)
    claim_id = api_client(stranger).post(CLAIMS_API).json()["id"]
    response = api_client(make_user("editor", staff=True)).post(f"{CLAIMS_API}{claim_id}/reject/")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    result.refresh_from_db()
    assert not result.paper_link_confirmed


def test_a_second_claim_by_the_same_user_is_not_duplicated(client, wflw, paper):
    user = make_user("claimant")
    first = api_client(user).post(CLAIMS_API)
    second = api_client(user).post(CLAIMS_API)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    client.force_login(user)
    client.post(f"{PAPER_URL}/claim/")
    assert PaperClaim.objects.filter(paper=paper, user=user).count() == 1
    assert claims.claim_paper(user, paper) == (PaperClaim.objects.get(paper=paper, user=user), False)


def test_claims_need_a_signed_in_user_and_a_known_paper(client, wflw):
    assert api_client().post(CLAIMS_API).status_code == 401
    response = api_client(make_user("claimant")).post("/api/v1/papers/no-such-paper/claims/")
    assert response.status_code == 404 and "No paper" in response.json()["error"]
    response = client.post(f"{PAPER_URL}/claim/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not PaperClaim.objects.exists()
    assert "Sign in</a> to claim this paper" in client.get(PAPER_URL).content.decode()


def test_unconfirmed_rows_add_no_queries_to_the_leaderboard_page(client, wflw):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as context:
            assert client.get(wflw.leaderboard.get_absolute_url()).status_code == 200
        return len(context)

    verify(wflw, make_user("first"))
    queries()  # the first request after a write also reads what the cache clear dropped
    one = queries()
    verify(wflw, make_user("second"), model_name="Second junk")
    verify(wflw, make_user("third"), model_name="Third junk")
    html = client.get(wflw.leaderboard.get_absolute_url()).content.decode()
    assert html.count("paper link unconfirmed") == 3
    assert queries() == one

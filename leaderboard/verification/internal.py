"""HTTP endpoints for remote workers (`workers/remote.py`); the rules are in `remote.py`.

Every run endpoint needs the worker token (`Authorization: Bearer …`); after the claim, also the run
token it returned (`X-Run-Token`). Refusals are JSON `{"error": …}`: 403 for a bad credential or link,
409 for a run the caller no longer holds, 400 for a malformed request.
"""

from __future__ import annotations

import functools
import json

from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from leaderboard.verification import remote

REFUSALS = {remote.AccessRefused: 403, remote.RunLost: 409, remote.BadReport: 400}


def _refusing(view):
    """Token authentication, then the view; domain refusals become their status with the reason."""

    @functools.wraps(view)
    def wrapped(request, run_id: int):
        try:
            worker = remote.authenticate(request.headers.get("Authorization", ""))
            return view(request, run_id, worker)
        except tuple(REFUSALS) as refusal:
            return JsonResponse({"error": str(refusal)}, status=REFUSALS[type(refusal)])

    return csrf_exempt(wrapped)  # no cookies: the tokens are the credentials


def _json(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise remote.BadReport(f"The request body is not JSON ({type(error).__name__}).") from None
    if not isinstance(body, dict):
        raise remote.BadReport("The request body must be a JSON object.")
    return body


def _run_token(request) -> str:
    return request.headers.get("X-Run-Token", "")


@require_POST
@_refusing
def claim(request, run_id: int, worker):
    name = str(_json(request).get("worker", ""))[:150]
    return JsonResponse(remote.claim(run_id, worker, name))


@require_GET
@_refusing
def checkpoint(request, run_id: int, worker):
    submission = remote.checkpoint(run_id, request.GET.get("signature", ""), _run_token(request), worker)
    response = FileResponse(submission.artifact.open("rb"), content_type="application/octet-stream")
    response["X-Checkpoint-Sha256"] = submission.sha256
    return response


@require_POST
@_refusing
def heartbeat(request, run_id: int, worker):
    body = _json(request)
    try:
        done, total = int(body.get("done", 0)), int(body.get("total", 0))
    except (TypeError, ValueError):
        raise remote.BadReport("done and total must be integers.") from None
    lines = body.get("log", [])
    if not isinstance(lines, list):
        raise remote.BadReport("log must be a list of lines.")
    remote.heartbeat(run_id, _run_token(request), worker, done, total, lines)
    return JsonResponse({"held": True})


@require_POST
@_refusing
def predictions(request, run_id: int, worker):
    """The body is a JSON prediction file, as a participant would upload."""
    limit = settings.MAX_UPLOAD_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise remote.BadReport(f"The predictions are larger than MAX_UPLOAD_BYTES ({limit} bytes).")
    data = request.read(limit + 1)
    if len(data) > limit:
        raise remote.BadReport(f"The predictions are larger than MAX_UPLOAD_BYTES ({limit} bytes).")
    outcome = remote.accept_predictions(
        run_id, _run_token(request), worker, data, request.GET.get("precision", ""), request.GET.get("device", "")
    )
    return JsonResponse({"status": outcome})


@require_POST
@_refusing
def fail(request, run_id: int, worker):
    remote.fail(run_id, _run_token(request), worker, str(_json(request).get("error", "")))
    return JsonResponse({"status": "failed"})


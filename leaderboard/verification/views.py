"""Web pages of the verification service: submit, follow a submission, browse benchmarks."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from leaderboard.cache import for_visitors
from leaderboard.verification import evaluation, samples, selectors, services
from leaderboard.verification.forms import SubmissionForm
from leaderboard.verification.models import Benchmark, EvaluationRun
from leaderboard.verification.uploads import cap_uploads, declared_too_large, limit_text

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")


@csrf_exempt  # only so the size cap is installed before the CSRF check reads the body
def submit(request):
    if not request.user.is_authenticated:
        return _sign_in_first(request)
    cap_uploads(request)
    if request.method == "POST" and declared_too_large(request):
        # Answered without reading the body, where the CSRF token is: nothing is done but
        # showing the form again, with the reason.
        return _too_large(request)
    return _submit(request)


def _sign_in_first(request):
    """Why submitting needs an account, with ways in that come back here; nothing is read or saved."""
    wanted = request.GET.get("benchmark", "")
    # Only a slug is looked up: PostgreSQL refuses a NUL in a query.
    benchmark = selectors.benchmarks().filter(slug=wanted).first() if SLUG.fullmatch(wanted) else None
    back = "/submit/" + (f"?{urlencode({'benchmark': benchmark.slug})}" if benchmark else "")
    context = {
        "benchmark": benchmark,
        "login_url": f"{reverse('login')}?{urlencode({'next': back})}",
        "signup_url": f"{reverse('signup')}?{urlencode({'next': back})}",
    }
    status = 403 if request.method == "POST" else 200
    return render(request, "verification/sign_in_to_submit.html", context, status=status)


@login_required
def _too_large(request):
    return _refuse(request, SubmissionForm(), limit_text())


@csrf_protect
@login_required
def _submit(request):
    if request.method != "POST":
        return render(request, "verification/submit.html", {"form": SubmissionForm(initial=request.GET)})
    if request.upload_refused:
        return _refuse(request, SubmissionForm(initial=request.POST.dict()), limit_text())
    form = SubmissionForm(request.POST, request.FILES)
    if request.upload_refused:
        return _refuse(request, SubmissionForm(initial=request.POST.dict()), limit_text())
    if not form.is_valid():
        return render(request, "verification/submit.html", {"form": form}, status=400)
    data = form.cleaned_data
    upload = services.Upload(
        kind=data["kind"], filename=data["file"].name, data=data["file"].read(), model_name=data["model_name"],
        paper_url=data["paper_url"], code_url=data["code_url"],
        uses_additional_data=data["uses_additional_data"], private=data["private"],
    )
    try:
        submission = services.submit(request.user, data["benchmark"], upload)
    except services.AlreadySubmitted as duplicate:
        messages.info(request, f"{duplicate} Here it is.")
        return redirect(duplicate.submission)
    except services.SubmissionRefused as refusal:
        return _refuse(request, form, str(refusal), refusal.status_code)
    messages.success(request, "Submitted: the evaluation is queued.")
    return redirect(submission)


def _refuse(request, form, message: str, status: int = 400):
    """The form again with `message` above it; `form` may be unbound (an upload never read)."""
    return render(request, "verification/submit.html", {"form": form, "refusal": message}, status=status)


def submission_detail(request, pk: int):
    submission = get_object_or_404(selectors.with_runs(selectors.visible_submissions(request.user)), pk=pk)
    runs = list(submission.runs.all())
    context = {
        "submission": submission,
        "runs": runs,
        "current": next((run for run in runs if run.pk == submission.current_run_id), None),
        "latest": selectors.latest_run(submission),
        "can_manage": selectors.can_manage(request.user, submission),
    }
    return render(request, "verification/submission_detail.html", context)


@require_POST
def cancel(request, pk: int):
    submission = get_object_or_404(selectors.with_runs(selectors.visible_submissions(request.user)), pk=pk)
    if not selectors.can_manage(request.user, submission):
        return HttpResponseForbidden("Only the owner of a submission or staff may cancel its runs.")
    cancelled = [run for run in submission.runs.all() if run.is_active and services.cancel(run, by=request.user)]
    messages.info(request, "Cancelled." if cancelled else "No queued or running run to cancel.")
    return redirect(submission)


@require_POST
def rerun(request, pk: int):
    if not request.user.is_staff:
        return HttpResponseForbidden("Only staff may re-run evaluations.")
    submission = get_object_or_404(selectors.visible_submissions(request.user), pk=pk)
    started = services.rerun([submission], by=request.user, reason="re-run by staff")
    messages.info(request, "Re-run queued." if started else "A run is already queued or running.")
    return redirect(submission)


def run_ced(request, pk: int, run_id: int):
    """The run's CED curve as SVG, drawn by the evaluator from the kept curve."""
    submission = get_object_or_404(selectors.visible_submissions(request.user), pk=pk)
    run = get_object_or_404(EvaluationRun, pk=run_id, submission=submission, ced__isnull=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ced.svg"
        evaluation.ced_plot_svg(run.ced, path, title=f"CED of run {run.pk}: {submission.model_name}")
        return HttpResponse(path.read_bytes(), content_type="image/svg+xml")


@for_visitors
def benchmark_list(request):
    return render(request, "verification/benchmark_list.html", {"benchmarks": selectors.benchmarks()})


@for_visitors
def benchmark_detail(request, slug: str):
    benchmark = get_object_or_404(selectors.benchmarks(), slug=slug)
    context = {
        "benchmark": benchmark,
        "faces": selectors.public_faces(benchmark)[:200],
        "links": samples.links(benchmark),
        "validate_command": _validate_command(request, benchmark),
    }
    return render(request, "verification/benchmark_detail.html", context)


def _validate_command(request, benchmark: Benchmark) -> str:
    faces = request.build_absolute_uri(samples.links(benchmark)["faces_file"])
    return f"python -m evaluator validate --faces {faces} predictions.json"


def benchmark_faces(request, slug: str):
    """The public faces file: ids, images, boxes and the landmark count; never the ground truth."""
    benchmark = get_object_or_404(Benchmark, slug=slug)
    response = JsonResponse(samples.faces_document(benchmark))
    response["Content-Disposition"] = f'inline; filename="{benchmark.slug}-faces.json"'
    return response


def _mean_shape_benchmark(slug: str) -> Benchmark:
    benchmark = get_object_or_404(Benchmark, slug=slug)
    if not samples.publishes_mean_shape(benchmark):
        raise Http404(
            f"{benchmark.name} has too few faces to publish their mean shape without revealing them "
            f"(at least {samples.MIN_FACES_FOR_MEAN_SHAPE} are needed)."
        )
    return benchmark


def sample_predictions(request, slug: str):
    """The mean-shape baseline: a predictions file the server accepts, to start from."""
    benchmark = _mean_shape_benchmark(slug)
    response = HttpResponse(samples.sample_predictions(benchmark), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{samples.sample_filename(benchmark)}"'
    return response


def landmark_order(request, slug: str):
    """The benchmark's landmarks numbered in the order a predictions file lists them (SVG)."""
    return HttpResponse(samples.landmark_order(_mean_shape_benchmark(slug)), content_type="image/svg+xml")


def benchmark_image(request, slug: str, path: str):
    """A face image of the benchmark (public); nothing else under its folder is served."""
    benchmark = get_object_or_404(Benchmark, slug=slug)
    # PostgreSQL refuses a NUL in a query; no image name holds one.
    if "\x00" in path or not benchmark.faces.filter(image=path).exists():
        raise Http404("No such benchmark image.")
    return FileResponse(open(services.benchmark_dir(benchmark) / path, "rb"))

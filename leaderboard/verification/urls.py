"""Web pages of the verification service (submit, submission status, benchmarks)."""

from django.urls import path

from leaderboard.verification import internal, views

urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/cancel/", views.cancel, name="submission-cancel"),
    path("submissions/<int:pk>/rerun/", views.rerun, name="submission-rerun"),
    path("submissions/<int:pk>/runs/<int:run_id>/ced.svg", views.run_ced, name="run-ced"),
    path("benchmarks/", views.benchmark_list, name="benchmarks"),
    path("benchmarks/<slug:slug>/", views.benchmark_detail, name="benchmark"),
    path("benchmarks/<slug:slug>/faces.json", views.benchmark_faces, name="benchmark-faces"),
    path("benchmarks/<slug:slug>/sample-predictions.json", views.sample_predictions, name="benchmark-sample"),
    path("benchmarks/<slug:slug>/landmarks.svg", views.landmark_order, name="benchmark-landmarks"),
    path("benchmarks/<slug:slug>/images/<path:path>", views.benchmark_image, name="benchmark-image"),
    # Remote workers (workers/remote.py): token-authenticated, no cookies.
    path("internal/runs/<int:run_id>/claim", internal.claim, name="internal-claim"),
    path("internal/runs/<int:run_id>/checkpoint", internal.checkpoint, name="internal-checkpoint"),
    path("internal/runs/<int:run_id>/heartbeat", internal.heartbeat, name="internal-heartbeat"),
    path("internal/runs/<int:run_id>/predictions", internal.predictions, name="internal-predictions"),
    path("internal/runs/<int:run_id>/fail", internal.fail, name="internal-fail"),
]

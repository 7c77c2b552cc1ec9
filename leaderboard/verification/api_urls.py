"""API routes of the verification service (submissions, benchmarks), under /api/v1/."""

from rest_framework.routers import SimpleRouter

from leaderboard.verification.api import BenchmarkViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("benchmarks", BenchmarkViewSet, basename="benchmark")
router.register("submissions", SubmissionViewSet, basename="submission")

urlpatterns = router.urls

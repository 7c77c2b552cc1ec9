"""API routes of the verification service (submissions, benchmarks), under /api/v1/."""

urlpatterns: list = []

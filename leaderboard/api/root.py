"""GET /api/v1/: where the API starts, with links to its collections and its documentation."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Name shown -> URL name of the collection.
COLLECTIONS = {
    "papers": "paper-list",
    "authors": "author-list",
    "conferences": "conference-list",
    "areas": "area-list",
    "tasks": "task-list",
    "datasets": "dataset-list",
    "evaluations": "evaluation-list",
    "methods": "method-list",
    "repositories": "repository-list",
    "search": "api-search",
    "benchmarks": "benchmark-list",
    "submissions": "submission-list",
}


class ApiRoot(APIView):
    """The Papers With Code 2 API, version 1.

    Read anonymously; write with `Authorization: Token <key>` (create a token on your
    profile page). The documentation lists every endpoint with its parameters.
    """

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, format=None):
        return Response(
            {
                "documentation": reverse("api-docs", request=request, format=format),
                "schema": reverse("api-schema", request=request, format=format),
                **{name: reverse(url, request=request, format=format) for name, url in COLLECTIONS.items()},
            }
        )

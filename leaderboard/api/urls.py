"""The REST API v1 routes: the old paperswithcode.com API plus SotA tables, export and the schema."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leaderboard.api import catalogue, claims, editable, table_parts
from leaderboard.api.root import ApiRoot

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `<path>.json` twins: the API contract has none, and on every extra action (`/sota.json`, …) they
# passed the view a `format` argument it does not take (a 500). `?format=` still picks the renderer.
router.include_format_suffixes = False
router.register("papers", catalogue.PaperViewSet, basename="paper")
router.register("authors", catalogue.AuthorViewSet, basename="author")
router.register("conferences", catalogue.ConferenceViewSet, basename="conference")
router.register("areas", catalogue.AreaViewSet, basename="area")
router.register("methods", catalogue.MethodViewSet, basename="method")
router.register("tasks", editable.TaskViewSet, basename="task")
router.register("datasets", editable.DatasetViewSet, basename="dataset")
router.register("evaluations", editable.EvaluationViewSet, basename="evaluation")

SEGMENT = "[^/]+"


class SchemaResponse(Response):
    """The schema, rendered once per process for each version, language and format."""

    rendered: dict = {}

    @property
    def rendered_content(self):
        key = (*self.schema_key, self.accepted_renderer.format)
        if key not in self.rendered:
            content = super().rendered_content
            self.rendered[key] = (content, self["Content-Type"])
        content, self["Content-Type"] = self.rendered[key]
        return content


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema. It depends on the code only: building and rendering it took ~0.5 s a request."""

    built: dict = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, request.GET.get("lang"))
        if key not in self.built:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            self.built[key] = generator.get_schema(request=request, public=self.serve_public)
        response = SchemaResponse(
            data=self.built[key],
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
        response.schema_key = key
        return response


repositories = catalogue.RepositoryViewSet.as_view({"get": "list"})
owner_repositories = catalogue.RepositoryViewSet.as_view({"get": "owner_list"})
repository = catalogue.RepositoryViewSet.as_view({"get": "retrieve"})
repository_papers = catalogue.RepositoryViewSet.as_view({"get": "papers"})
proceedings = catalogue.ProceedingViewSet.as_view({"get": "list"})
proceeding = catalogue.ProceedingViewSet.as_view({"get": "retrieve"})
proceeding_papers = catalogue.ProceedingViewSet.as_view({"get": "papers"})
metrics = table_parts.EvaluationMetricViewSet.as_view({"get": "list", "post": "create"})
metric = table_parts.EvaluationMetricViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
results = table_parts.EvaluationResultViewSet.as_view({"get": "list", "post": "create"})
result = table_parts.EvaluationResultViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
paper_claims = claims.PaperClaimViewSet.as_view({"get": "list", "post": "create"})
claim_approve = claims.PaperClaimViewSet.as_view({"post": "approve"})
claim_reject = claims.PaperClaimViewSet.as_view({"post": "reject"})

urlpatterns = [
    path("", ApiRoot.as_view(), name="api-root"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("search/", catalogue.SearchView.as_view(), name="api-search"),
    path("rpc/evaluation-synchronize/", table_parts.EvaluationSynchronizeView.as_view(), name="api-sync"),
    path("repositories/", repositories, name="repository-list"),
    # The official client asks for /repositories/{owner} without the trailing slash.
    re_path(rf"^repositories/(?P<owner>{SEGMENT})/?$", owner_repositories, name="repository-owner-list"),
    re_path(rf"^repositories/(?P<owner>{SEGMENT})/(?P<name>{SEGMENT})/$", repository, name="repository-detail"),
    re_path(rf"^repositories/(?P<owner>{SEGMENT})/(?P<name>{SEGMENT})/papers/$", repository_papers,
            name="repository-papers"),
    re_path(rf"^conferences/(?P<conference_id>{SEGMENT})/proceedings/$", proceedings, name="proceeding-list"),
    re_path(rf"^conferences/(?P<conference_id>{SEGMENT})/proceedings/(?P<proceeding_id>{SEGMENT})/$", proceeding,
            name="proceeding-detail"),
    re_path(rf"^conferences/(?P<conference_id>{SEGMENT})/proceedings/(?P<proceeding_id>{SEGMENT})/papers/$",
            proceeding_papers, name="proceeding-papers"),
    re_path(rf"^evaluations/(?P<evaluation_id>{SEGMENT})/metrics/$", metrics, name="evaluation-metric-list"),
    re_path(rf"^evaluations/(?P<evaluation_id>{SEGMENT})/metrics/(?P<metric_id>{SEGMENT})/$", metric,
            name="evaluation-metric-detail"),
    re_path(rf"^evaluations/(?P<evaluation_id>{SEGMENT})/results/$", results, name="evaluation-result-list"),
    re_path(rf"^evaluations/(?P<evaluation_id>{SEGMENT})/results/(?P<result_id>{SEGMENT})/$", result,
            name="evaluation-result-detail"),
    re_path(rf"^papers/(?P<paper_id>{SEGMENT})/claims/$", paper_claims, name="paper-claim-list"),
    re_path(rf"^papers/(?P<paper_id>{SEGMENT})/claims/(?P<claim_id>[0-9]+)/approve/$", claim_approve,
            name="paper-claim-approve"),
    re_path(rf"^papers/(?P<paper_id>{SEGMENT})/claims/(?P<claim_id>[0-9]+)/reject/$", claim_reject,
            name="paper-claim-reject"),
    path("", include(router.urls)),
]

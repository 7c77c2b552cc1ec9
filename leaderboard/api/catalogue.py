"""Read endpoints of the catalogue: papers, repositories, authors, conferences, areas, methods, search."""

from __future__ import annotations

from django.db.models import F, Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from leaderboard import claims, search
from leaderboard.api import filters, serializers
from leaderboard.api.base import (
    ApiViewSetMixin,
    PlainViewSet,
    ReadOnlyViewSet,
    path_parameter,
)
from leaderboard.models import (
    Area,
    Author,
    Conference,
    Dataset,
    Method,
    MetricValue,
    Paper,
    PaperAuthor,
    PaperRepository,
    Proceeding,
    Repository,
    Result,
    Task,
)


def papers():
    # Authors by position only: PaperAuthor's default ordering joins every paper of the table.
    authorships = PaperAuthor.objects.select_related("author").order_by("paper_id", "position")
    return Paper.objects.select_related("proceeding__conference").prefetch_related(
        Prefetch("authorships", queryset=authorships)
    )


def results():
    return Result.objects.select_related("paper").prefetch_related(
        Prefetch("values", queryset=MetricValue.objects.select_related("metric").order_by("id"))
    )


def tasks():
    return Task.objects.only("slug", "name", "description")


def datasets():
    return Dataset.objects.only("slug", "name", "full_name", "homepage")


def methods():
    return Method.objects.select_related("paper").only(
        "slug", "name", "full_name", "description", "paper__slug", "paper_id"
    )


def _nested(serializer, **kwargs):
    return action(detail=True, methods=["get"], filter_backends=[], **kwargs), extend_schema(
        responses=serializer(many=True)
    )


def nested_list(serializer, **kwargs):
    """A paginated list under a detail route, e.g. /papers/{id}/tasks/."""
    act, schema = _nested(serializer, **kwargs)
    return lambda fn: schema(act(fn))


class PaperViewSet(ReadOnlyViewSet):
    """Papers; `id` is the slug of the paper page (/paper/<id>)."""

    queryset = papers()
    serializer_class = serializers.PaperSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "paper_id"
    filterset_class = filters.PaperFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["published", "title", "id"]
    ordering = ["-published", "id"]

    @nested_list(serializers.DatasetSerializer)
    def datasets(self, request, paper_id=None):
        paper = self.get_object()
        # One IN over a UNION of two index look-ups; an OR across the join scanned every dataset.
        with_results = Result.objects.filter(claims.confirmed(), paper=paper).values("dataset_id").order_by()
        introduced = Dataset.objects.filter(paper=paper).values("id").order_by()
        items = datasets().filter(pk__in=with_results.union(introduced)).order_by("name", "id")
        return self.paginated(items, serializers.DatasetSerializer)

    @nested_list(serializers.RepositorySerializer)
    def repositories(self, request, paper_id=None):
        paper = self.get_object()
        items = (
            Repository.objects.filter(paper_links__paper=paper)
            .annotate(is_official=F("paper_links__is_official"))
            .order_by("-is_official", "-stars", "id")
        )
        return self.paginated(items, serializers.RepositorySerializer)

    @nested_list(serializers.TaskSerializer)
    def tasks(self, request, paper_id=None):
        paper = self.get_object()
        return self.paginated(tasks().filter(papers=paper).order_by("name", "id"), serializers.TaskSerializer)

    @nested_list(serializers.MethodSerializer)
    def methods(self, request, paper_id=None):
        paper = self.get_object()
        return self.paginated(methods().filter(papers=paper).order_by("name", "id"), serializers.MethodSerializer)

    @nested_list(serializers.ResultSerializer)
    def results(self, request, paper_id=None):
        paper = self.get_object()
        items = results().filter(claims.confirmed(), paper=paper).order_by("id")
        return self.paginated(items, serializers.ResultSerializer)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "q",
            str,
            description=(
                "Words of a paper's title or abstract, in websearch syntax: \"a phrase\", or, -word. "
                "Papers are ranked by relevance: an exact title first, then papers with a model of that "
                "name, then title words above abstract words. A broad query ranks the first "
                f"{search.TITLE_CANDIDATES} title matches and {search.PAPER_CANDIDATES} title-or-abstract "
                "matches the indexes give, so `count` is at most "
                f"{search.TITLE_CANDIDATES + search.PAPER_CANDIDATES + search.NAME_COUNT_CAP}. "
                "Without q: all papers, newest first."
            ),
        )
    ]
)
class SearchView(ApiViewSetMixin, generics.ListAPIView):
    """Ranked search of papers (the site's /search/ ranking), each with its best code repository."""

    serializer_class = serializers.PaperRepoSerializer
    filter_backends = []

    def get_queryset(self):
        links = PaperRepository.objects.select_related("repository").order_by("-is_official", "-repository__stars", "id")
        return papers().prefetch_related(Prefetch("code_links", queryset=links)).order_by("-published", "id")

    def list(self, request, *args, **kwargs):
        text = search.clean(request.query_params.get("q", ""))
        if text:
            ids = self.paginate_queryset(search.find_papers(text).ids)
            page = search.in_order(self.get_queryset(), list(ids))
        else:
            page = self.paginate_queryset(self.get_queryset())
        hits = []
        for paper in page:
            link = next(iter(paper.code_links.all()), None)
            repository = link.repository if link else None
            if repository is not None:
                repository.is_official = link.is_official
            hits.append({"paper": paper, "repository": repository, "is_official": bool(link and link.is_official)})
        return self.get_paginated_response(self.get_serializer(hits, many=True).data)


OWNER = path_parameter("owner", "repository owner (GitHub user or organisation)")
REPOSITORY_NAME = path_parameter("name", "repository name")


class RepositoryViewSet(PlainViewSet):
    """Code repositories, addressed by owner and name as on GitHub."""

    queryset = Repository.objects.all()
    serializer_class = serializers.RepositorySerializer
    filterset_class = filters.RepositoryFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["stars", "url", "id"]
    ordering = ["-stars", "id"]

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), serializers.RepositorySerializer)

    @extend_schema(operation_id="repositories_owner_list", parameters=[OWNER], responses=serializers.RepositorySerializer(many=True))
    def owner_list(self, request, owner=None):
        items = self.filter_queryset(self.get_queryset()).filter(owner=owner)
        return self.paginated(items, serializers.RepositorySerializer)

    def _repository(self, owner, name):
        repository = Repository.objects.filter(owner=owner, name=name).order_by("-stars", "id").first()
        if repository is None:
            raise NotFound(f"No repository “{owner}/{name}”.")
        return repository

    @extend_schema(parameters=[OWNER, REPOSITORY_NAME])
    def retrieve(self, request, owner=None, name=None):
        return Response(serializers.RepositorySerializer(self._repository(owner, name)).data)

    @extend_schema(parameters=[OWNER, REPOSITORY_NAME], responses=serializers.PaperSerializer(many=True))
    def papers(self, request, owner=None, name=None):
        repository = self._repository(owner, name)
        items = papers().filter(code_links__repository=repository).order_by("-published", "id")
        return self.paginated(items, serializers.PaperSerializer)


class AuthorViewSet(ReadOnlyViewSet):
    queryset = Author.objects.all()
    serializer_class = serializers.AuthorSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "author_id"
    filterset_class = filters.AuthorFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

    @nested_list(serializers.PaperSerializer)
    def papers(self, request, author_id=None):
        author = self.get_object()
        items = papers().filter(authorships__author=author).order_by("-published", "id")
        return self.paginated(items, serializers.PaperSerializer)


class ConferenceViewSet(ReadOnlyViewSet):
    queryset = Conference.objects.all()
    serializer_class = serializers.ConferenceSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "conference_id"
    filterset_class = filters.ConferenceFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name"]  # unique: no tie-breaker, so the order is read from its index


@extend_schema(parameters=[path_parameter("conference_id", "conference id")])
class ProceedingViewSet(PlainViewSet):
    """Proceedings of a conference (e.g. eccv-2018 of eccv)."""

    queryset = Proceeding.objects.all()
    serializer_class = serializers.ProceedingSerializer
    filter_backends = []

    def _conference(self, conference_id):
        return self.fetch(Conference.objects.all(), "conference", slug=conference_id)

    def list(self, request, conference_id=None):
        conference = self._conference(conference_id)
        items = conference.proceedings.order_by("-year", "id")
        return self.paginated(items, serializers.ProceedingSerializer)

    def _proceeding(self, conference_id, proceeding_id):
        conference = self._conference(conference_id)
        return self.fetch(conference.proceedings.all(), "proceeding", slug=proceeding_id)

    @extend_schema(parameters=[path_parameter("proceeding_id", "proceeding id")])
    def retrieve(self, request, conference_id=None, proceeding_id=None):
        return Response(serializers.ProceedingSerializer(self._proceeding(conference_id, proceeding_id)).data)

    @extend_schema(
        parameters=[path_parameter("proceeding_id", "proceeding id")], responses=serializers.PaperSerializer(many=True)
    )
    def papers(self, request, conference_id=None, proceeding_id=None):
        proceeding = self._proceeding(conference_id, proceeding_id)
        items = papers().filter(proceeding=proceeding).order_by("-published", "id")
        return self.paginated(items, serializers.PaperSerializer)


class AreaViewSet(ReadOnlyViewSet):
    queryset = Area.objects.all()
    serializer_class = serializers.AreaSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "area_id"
    filterset_class = filters.AreaFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name"]  # unique: no tie-breaker, so the order is read from its index

    @nested_list(serializers.TaskSerializer)
    def tasks(self, request, area_id=None):
        area = self.get_object()
        return self.paginated(tasks().filter(areas=area).order_by("name", "id"), serializers.TaskSerializer)


class MethodViewSet(ReadOnlyViewSet):
    queryset = methods()
    serializer_class = serializers.MethodSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "method_id"
    filterset_class = filters.MethodFilter
    filter_backends = [filters.DjangoFilterBackend, filters.StableOrderingFilter]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

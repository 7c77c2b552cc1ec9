"""What every API view shares: rate-limit headers, cached anonymous reads, paging of nested lists,
path parameters in the schema."""

from __future__ import annotations

import functools

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from leaderboard import cache
from leaderboard.api.throttling import add_rate_limit_headers
from leaderboard.writes import Actor

SLUG = "[^/]+"


def path_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


class ApiViewSetMixin:
    lookup_value_regex = SLUG
    # PATCH only: the official client never sends PUT.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttles: every request
        handler = getattr(self, "get", None)
        if handler is not None and request.method == "GET" and not request.user.is_authenticated:
            # An anonymous read depends on its URL alone: its answer is kept until the next write.
            self.get = functools.partial(self._cached_read, handler)

    def _cached_read(self, handler, request, *args, **kwargs):
        return cache.kept_or_built(
            f"api-read:{request.accepted_renderer.format}:{request.build_absolute_uri()}",  # links carry the host
            lambda: handler(request, *args, **kwargs),
            _kept_answer,
            _answer,
        )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_rate_limit_headers(request, response)
        return response

    def paginated(self, items, serializer_class, **context):
        """A paginated response of `items` (a queryset or a list), as the contract's envelope."""
        page = self.paginate_queryset(items)
        serializer = serializer_class(page, many=True, context={**self.get_serializer_context(), **context})
        return self.get_paginated_response(serializer.data)

    def fetch(self, queryset, what: str, **lookup):
        try:
            return get_object_or_404(queryset, **lookup)
        except Http404 as exc:  # the contract's 404, saying what was missing
            value = next(iter(lookup.values()), "")
            raise NotFound(f"No {what} with the id “{value}”.") from exc


def _kept_answer(response):
    """What an anonymous read's answer keeps: its data, or its body when the view rendered it (SotA);
    nothing for an error or an answer with headers of its own (downloads, redirects)."""
    if response.status_code != 200 or {name.lower() for name, _ in response.items()} - {"content-type"}:
        return None
    if type(response) is Response:
        return ("data", response.data)
    if type(response) is HttpResponse:
        return ("body", response.content, response["Content-Type"])
    return None


def _answer(kept):
    return Response(kept[1]) if kept[0] == "data" else HttpResponse(kept[1], content_type=kept[2])


class ReadOnlyViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class WriteViewSet(ApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve; subclasses add create, partial_update and destroy (no PUT)."""

    def valid(self, serializer_class, request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @property
    def actor(self) -> Actor:
        return Actor(self.request.user, self.request.path)


class PlainViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    pass

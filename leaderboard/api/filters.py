"""FilterSets of the list endpoints: the client's query parameters (q, name, title, …) and more.

`q` searches the main text fields; name-like filters are "part of"
(case-insensitive contains); ids are exact. Orderings always end in a unique
column so that pages never overlap.
"""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter

from leaderboard import search
from leaderboard.models import (
    Area,
    Author,
    Conference,
    Dataset,
    Leaderboard,
    Method,
    Paper,
    Repository,
    Task,
)

__all__ = ["DjangoFilterBackend", "StableOrderingFilter", "search_papers"]


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with a unique tie-breaker appended (the primary key)."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not any(_unique(queryset.model, field.lstrip("-")) for field in ordering):
            ordering.append("id")
        return ordering


def _unique(model, name: str) -> bool:
    """Whether ordering by `name` alone is stable: the primary key or a unique column.

    A unique column needs no tie-breaker, and one would keep PostgreSQL from reading the
    order from that column's index (a page 40 deep then sorts the whole table).
    """
    if name in ("id", "pk"):
        return True
    try:
        return model._meta.get_field(name).unique
    except Exception:  # noqa: BLE001 - FieldDoesNotExist, or a path through a relation
        return False


def search_papers(queryset, text: str):
    """The papers of `queryset` whose title or abstract match `text` (leaderboard.search: websearch
    syntax on PostgreSQL, every word contained on SQLite); the list keeps its own ordering."""
    return search.paper_matches(queryset, text)


class PaperFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="search in title and abstract")
    arxiv_id = django_filters.CharFilter(field_name="arxiv_id")
    title = django_filters.CharFilter(field_name="title", lookup_expr="icontains")
    abstract = django_filters.CharFilter(field_name="abstract", lookup_expr="icontains")
    published_after = django_filters.DateFilter(field_name="published", lookup_expr="gte")
    published_before = django_filters.DateFilter(field_name="published", lookup_expr="lte")
    task = django_filters.CharFilter(field_name="tasks__slug", label="task id")

    class Meta:
        model = Paper
        fields = ["q", "arxiv_id", "title", "abstract", "published_after", "published_before", "task"]

    def filter_q(self, queryset, name, value):
        return search_papers(queryset, value)


class RepositoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="search in url and description")
    owner = django_filters.CharFilter(field_name="owner")
    name = django_filters.CharFilter(field_name="name")
    stars = django_filters.NumberFilter(field_name="stars", lookup_expr="gte", label="minimum stars")
    framework = django_filters.CharFilter(field_name="framework")

    class Meta:
        model = Repository
        fields = ["q", "owner", "name", "stars", "framework"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(url__icontains=value) | queryset.filter(description__icontains=value)


class _NamedFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="search in the name")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")


class AuthorFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="search in the name")
    full_name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Author
        fields = ["q", "full_name"]


class ConferenceFilter(_NamedFilter):
    class Meta:
        model = Conference
        fields = ["q", "name"]


class AreaFilter(_NamedFilter):
    class Meta:
        model = Area
        fields = ["q", "name"]


class TaskFilter(_NamedFilter):
    area = django_filters.CharFilter(field_name="areas__slug", label="area id")

    class Meta:
        model = Task
        fields = ["q", "name", "area"]


class DatasetFilter(_NamedFilter):
    full_name = django_filters.CharFilter(field_name="full_name", lookup_expr="icontains")

    class Meta:
        model = Dataset
        fields = ["q", "name", "full_name"]


class MethodFilter(_NamedFilter):
    full_name = django_filters.CharFilter(field_name="full_name", lookup_expr="icontains")

    class Meta:
        model = Method
        fields = ["q", "name", "full_name"]


class EvaluationFilter(django_filters.FilterSet):
    task = django_filters.CharFilter(field_name="task__slug", label="task id")
    dataset = django_filters.CharFilter(field_name="dataset__slug", label="dataset id")

    class Meta:
        model = Leaderboard
        fields = ["task", "dataset"]

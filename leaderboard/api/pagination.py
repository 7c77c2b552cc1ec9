"""The contract's pagination: `page` and `items_per_page`, answering count/next/previous/results."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from leaderboard.api.cache import cached_count


class ItemsPerPagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "items_per_page"
    max_page_size = 500


class CountCachingPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        if hasattr(self.object_list, "query"):
            return cached_count(self.object_list)
        return len(self.object_list)


class CachedCountPagination(ItemsPerPagePagination):
    """For the lists whose COUNT(*) scans a big table (papers): the count comes from the cache."""

    django_paginator_class = CountCachingPaginator

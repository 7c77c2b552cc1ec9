"""The contract's pagination: `page` and `items_per_page`, answering count/next/previous/results."""

from rest_framework.pagination import PageNumberPagination


class ItemsPerPagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "items_per_page"
    max_page_size = 500

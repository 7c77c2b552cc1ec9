"""Pagination of every list, web pages and API alike: bounded counts and a bounded depth.

Counting a list of the whole archive (576k papers, 2M authors) costs a scan on
every request, and a page 2,000 deep costs a walk over every row before it. So:

* a list is counted exactly up to EXACT_COUNT_LIMIT rows; a longer one takes
  the planner's estimate (PostgreSQL; SQLite counts), flagged `estimated`;
* a page is read with one row more than it shows, so `next` is right whatever
  the estimate says, and the last page fixes the count exactly; a first page
  that holds the whole list gives the count without counting;
* a deep page reads its keys first, then its rows;
* pages start no deeper than MAX_ROWS rows into a list. The API answers a
  deeper page with a 400 that says how to narrow the list; a web page shows
  the deepest page it serves.

The API keeps the contract's `page`, `items_per_page`, `count`, `next`,
`previous` and `results`.
"""

from __future__ import annotations

import json
import math

from django.core.paginator import EmptyPage, InvalidPage, Paginator
from django.db import connections
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination

EXACT_COUNT_LIMIT = 1000
MAX_ROWS = 10_000
# From this many rows deep, a page reads its keys first (BoundedPaginator.rows).
KEYS_FIRST_FROM = 500


class PageTooDeep(EmptyPage):
    """The page starts past MAX_ROWS rows of a list that is longer than that."""


def planner_estimate(queryset) -> int:
    """PostgreSQL's estimate of the rows of `queryset` (EXPLAIN, no execution); other databases count."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(items) -> tuple[int, bool]:
    """(number of rows, whether it is an estimate): exact up to EXACT_COUNT_LIMIT, estimated above."""
    if not hasattr(items, "query"):
        return len(items), False
    counted = items.order_by()[: EXACT_COUNT_LIMIT + 1].count()
    if counted <= EXACT_COUNT_LIMIT:
        return counted, False
    return max(counted, planner_estimate(items)), True


class BoundedPaginator(Paginator):
    """A Paginator whose count is bounded_count() and whose pages start at most MAX_ROWS deep."""

    max_rows = MAX_ROWS

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return bounded_count(self.object_list)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def estimated(self) -> bool:
        """Whether `count` is the planner's estimate (a list longer than EXACT_COUNT_LIMIT)."""
        return self._counted[1] and not getattr(self, "_end_seen", False)

    @property
    def max_pages(self) -> int:
        return max(1, math.ceil(self.max_rows / self.per_page))

    @cached_property
    def num_pages(self) -> int:
        return min(super().num_pages, self.max_pages)

    def validate_number(self, number):
        if _is_one(number) and self.allow_empty_first_page:
            return 1  # the first page is always there (empty for an empty list): nothing to count
        try:
            return super().validate_number(number)
        except EmptyPage:
            wanted = int(number)
            if wanted < 1:
                raise
            if wanted > self.max_pages:
                if self.count > self.max_rows:
                    raise PageTooDeep(
                        f"Page {wanted} starts past row {self.max_rows:,}, the deepest a list is served. "
                        "Narrow the list with a filter, or sort it the other way to reach its far end."
                    ) from None
                raise
            if self.estimated:
                return wanted  # the estimate may fall short of the list: reading the page tells
            raise

    def get_page(self, number):
        try:
            return super().get_page(number)
        except EmptyPage:  # the estimate promised rows that are not there
            return self.page(1)

    def fetch(self, rows) -> list:
        """The rows of a page (a sliced queryset); subclasses may cache them."""
        return list(rows)

    def rows(self, bottom: int, top: int) -> list:
        """Rows bottom..top of the list. Deep in a queryset, the keys of the page come first (the
        ORDER BY's index alone, no joins, no wide rows to step over), then those rows."""
        items = self.object_list
        if bottom < KEYS_FIRST_FROM or not hasattr(items, "values_list"):
            return self.fetch(items[bottom:top])
        keys = list(items.values_list("pk", flat=True)[bottom:top])
        found = {row.pk: row for row in self.fetch(items.filter(pk__in=keys))}
        return [found[key] for key in keys if key in found]

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        first = None
        if number == 1 and "_counted" not in self.__dict__:
            # One row more than the first page shows: when they are all there is, their number is
            # the count, and the list is not counted (most lists of one paper, user or board).
            first = self.rows(0, self.per_page + 1)
            if len(first) <= self.per_page:
                self.__dict__["_counted"] = (len(first), False)
                return self._get_page(first, 1, self)
        if not self._counted[1]:
            top = min(bottom + self.per_page, self.count)
            rows = first[:top] if first is not None else self.rows(bottom, top)
            return self._get_page(rows, number, self)
        # One row more than the page shows: whether another page follows, whatever the estimate said.
        rows = first if first is not None else self.rows(bottom, bottom + self.per_page + 1)
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        if len(rows) > self.per_page:
            self.count = max(self.count, bottom + self.per_page + 1)
        else:
            self.count = bottom + len(rows)
            self._end_seen = True
        self.__dict__.pop("num_pages", None)
        return self._get_page(rows[: self.per_page], number, self)


def _is_one(number) -> bool:
    try:
        return not (isinstance(number, float) and not number.is_integer()) and int(number) == 1
    except (TypeError, ValueError):
        return False


class ItemsPerPagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "items_per_page"
    max_page_size = 500
    django_paginator_class = BoundedPaginator

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator = self.django_paginator_class(queryset, page_size)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except PageTooDeep as exc:
            raise ValidationError({"page": [str(exc)]}) from exc
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
        return list(self.page)

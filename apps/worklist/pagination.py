"""Paging of `GET /work-items/` with a bounded count (docs/api-notes.md, "Work item counts").

An inbox can hold 100,000 items; counting them all costs a scan of every one on each request, while
the page itself is read from an index in list order. So, like GitHub's and Jira's "1,000+", the
count is exact up to `COUNT_CAP` and says so: `count_exact` is `false` when more items match, and
`count` is then `COUNT_CAP` (a lower bound). `?exact_count=true` asks for the exact count whatever
it costs. Links and page checks never depend on the count: a page is read with one extra row to
know whether another follows, and a page past the end is still a 404 (`Invalid page.`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from apps.core.pagination import StandardPagination
from apps.worklist.selectors import COUNT_CAP, capped_count

EXACT_COUNT_PARAM = "exact_count"


class CappedCountPagination(StandardPagination):
    """Page-number paging (as `StandardPagination`) whose `count` is exact up to `COUNT_CAP`."""

    count_cap = COUNT_CAP

    def paginate_queryset(  # type: ignore[override]  # a queryset only: it must be counted with SQL
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.url = request.build_absolute_uri()
        size = self.get_page_size(request) or 1
        self.number = self._page_number(request)
        offset = (self.number - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        self.has_next = len(rows) > size
        rows = rows[:size]
        if not rows and self.number > 1:
            raise NotFound("Invalid page.")
        self.count, self.count_exact = self._count(queryset, request, seen=offset + len(rows))
        return rows

    def _page_number(self, request: Request) -> int:
        raw = request.query_params.get(self.page_query_param) or "1"
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound("Invalid page.")
        return number

    def _count(self, queryset: QuerySet[Any], request: Request, *, seen: int) -> tuple[int, bool]:
        if request.query_params.get(EXACT_COUNT_PARAM, "").lower() in ("true", "1"):
            return queryset.count(), True
        if not self.has_next:
            return seen, True  # this page reached the end: nothing more to count
        return capped_count(queryset, cap=self.count_cap)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        if self.number == 2:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({
            "count": self.count,
            "count_exact": self.count_exact,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["count"]["description"] = (
            f"Items matching: exact when `count_exact`, otherwise {COUNT_CAP} (more match)."
        )
        paged["properties"]["count_exact"] = {
            "type": "boolean",
            "description": f"False when more than {COUNT_CAP} items match (ask `?{EXACT_COUNT_PARAM}=true`).",
        }
        paged["required"] = [*paged.get("required", []), "count_exact"]
        return paged

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [*super().get_schema_operation_parameters(view), {
            "name": EXACT_COUNT_PARAM, "required": False, "in": "query",
            "description": f"`true`: count every matching item (the count is otherwise exact up to {COUNT_CAP}).",
            "schema": {"type": "boolean"},
        }]

"""Paging for every list endpoint: `?page=` and `?page_size=` (capped)."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-number paging with a client-chosen page size up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500

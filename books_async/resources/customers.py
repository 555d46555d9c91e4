"""``books.customers``: the generated operations plus ``iter()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Customer, CustomerType
from books_async._generated.resources.customers import CustomersResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Customers"]


class Customers(CustomersResource):
    """B2B and B2C customers: list, create, and fetch with an invoicing summary."""

    def iter(
        self,
        *,
        type: CustomerType | NotGiven = NOT_GIVEN,  # the API's own filter name
        search: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Customer]:
        """Yield every matching customer, following pages until the last (100 per request)."""
        return iterate_pages(
            lambda page: self.list(
                type=type,
                search=search,
                page=page,
                limit=MAX_PAGE_SIZE,
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
            )
        )

"""``books.products``: the generated operations plus ``iter()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Product
from books_async._generated.resources.products import ProductsResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Products"]


class Products(ProductsResource):
    """The products (goods with HSN codes and stock): list, create, get, update and delete."""

    def iter(
        self,
        *,
        search: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Product]:
        """Yield every matching item, following pages until the last (100 per request)."""
        return iterate_pages(
            lambda page: self.list(
                search=search,
                page=page,
                limit=MAX_PAGE_SIZE,
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
            )
        )

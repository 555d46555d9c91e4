"""``books.services``: the generated operations plus ``iter()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Service
from books_async._generated.resources.services import ServicesResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Services"]


class Services(ServicesResource):
    """The catalogue services with SAC codes: list, create, get, update and delete."""

    def iter(
        self,
        *,
        search: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Service]:
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

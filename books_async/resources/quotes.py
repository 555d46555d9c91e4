"""``books.quotes``: the generated operations plus ``iter()`` and typed bulk ``create``."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import overload

from books_async._generated.models import Quote, QuoteCreate, QuoteStatus
from books_async._generated.resources.quotes import QuotesResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Quotes"]


class Quotes(QuotesResource):
    """Quotes (estimates): list, create (one or bulk), PDF, send, and convert into a draft invoice."""

    @overload
    async def create(self, body: QuoteCreate, /, *, timeout: TimeoutArg = ...) -> Quote: ...
    @overload
    async def create(
        self, body: Sequence[QuoteCreate], /, *, timeout: TimeoutArg = ...
    ) -> builtins.list[Quote]: ...
    async def create(
        self, body: QuoteCreate | Sequence[QuoteCreate], /, *, timeout: TimeoutArg = NOT_GIVEN
    ) -> Quote | builtins.list[Quote]:
        """Create one quote (returns it) or many atomically (returns them in order)."""
        return await super().create(body, timeout=timeout)

    def iter(
        self,
        *,
        status: QuoteStatus | NotGiven = NOT_GIVEN,
        customer_id: str | NotGiven = NOT_GIVEN,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Quote]:
        """Yield every matching quote, following pages until the last (100 per request)."""
        return iterate_pages(
            lambda page: self.list(
                status=status, customer_id=customer_id, page=page, limit=MAX_PAGE_SIZE, timeout=timeout
            )
        )

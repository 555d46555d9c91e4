"""``books.quotes``: the generated operations plus ``iter()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Quote, QuoteStatus
from books_async._generated.resources.quotes import QuotesResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Quotes"]


class Quotes(QuotesResource):
    """Quotes (estimates): list, create (one or bulk), PDF, send, and convert into a draft invoice."""

    def iter(
        self,
        *,
        status: QuoteStatus | NotGiven = NOT_GIVEN,
        customer_id: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Quote]:
        """Yield every matching quote, following pages until the last (100 per request)."""
        return iterate_pages(
            lambda page: self.list(
                status=status,
                customer_id=customer_id,
                page=page,
                limit=MAX_PAGE_SIZE,
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
            )
        )

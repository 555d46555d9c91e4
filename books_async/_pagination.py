"""Following list pages: what every resource's ``iter()`` is built on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["MAX_PAGE_SIZE", "iterate_pages"]

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

MAX_PAGE_SIZE = 100
"""The largest ``limit`` the API accepts (the spec's `Limit` parameter). ``iter()`` always asks for it:
fewer pages means fewer of the organisation's 100 requests a minute."""


class _PaginationLike(Protocol):
    @property
    def page(self) -> int: ...
    @property
    def pages(self) -> int: ...


class PageLike(Protocol[T_co]):
    """Any generated ``*List`` model: one page of items and where it stands."""

    @property
    def data(self) -> Sequence[T_co]: ...
    @property
    def pagination(self) -> _PaginationLike: ...


async def iterate_pages(fetch: Callable[[int], Awaitable[PageLike[T]]]) -> AsyncIterator[T]:
    """Yield every item of every page, fetching page 1, 2, ... until the last one.

    Pages are fetched one at a time, as the caller consumes them: breaking out of the loop early spends no
    further requests.
    """
    page_number = 1
    while True:
        page = await fetch(page_number)
        for item in page.data:
            yield item
        # An empty page also ends it: a list shrinking under us must not loop forever.
        if not page.data or page.pagination.page >= page.pagination.pages:
            return
        page_number = page.pagination.page + 1

"""Following list pages: what every resource's ``iter()`` is built on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["MAX_PAGE_SIZE", "iterate_pages"]


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T", bound=_Identified)

MAX_PAGE_SIZE = 100
"""The largest ``limit`` the API accepts (the spec's `Limit` parameter). ``iter()`` always asks for it:
fewer pages means fewer of the organisation's 100 requests a minute."""


class _PaginationLike(Protocol):
    @property
    def page(self) -> int: ...
    @property
    def pages(self) -> int: ...


class PageLike(Protocol[T_co]):
    """Any generated ``*List`` model: one page of items and, if the server says, where it stands."""

    @property
    def data(self) -> Sequence[T_co]: ...
    @property
    def pagination(self) -> _PaginationLike | None: ...


async def iterate_pages(
    fetch: Callable[[int], Awaitable[PageLike[T]]], *, page_size: int = MAX_PAGE_SIZE
) -> AsyncIterator[T]:
    """Yield every item of every page once, fetching page 1, 2, ... until the last one.

    Pages are fetched one at a time, as the caller consumes them: breaking out of the loop early spends no
    further requests. How the live API pages is a guess, so the walk also ends, rather than loop or crash,
    when a page brings no item not already yielded (an empty page, or a server that ignores ``page``), when
    the server reports a page number that did not advance to the one asked for, or, without a
    ``pagination`` object, after a page shorter than ``page_size``. Items are told apart by id, so a row
    that moves to the next page while writes land is yielded once.
    """
    seen: set[str] = set()
    page_number = 1
    while True:
        page = await fetch(page_number)
        fresh = 0
        for item in page.data:
            if item.id in seen:
                continue
            seen.add(item.id)
            fresh += 1
            yield item
        if not fresh:
            return
        where = page.pagination
        if where is None:
            if len(page.data) < page_size:
                return
        elif where.page < page_number or where.page >= where.pages:
            return
        page_number += 1

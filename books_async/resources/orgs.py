"""``books.orgs``: the generated operations plus ``iter()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Organization
from books_async._generated.resources.orgs import OrgsResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, TimeoutArg

__all__ = ["Orgs"]


class Orgs(OrgsResource):
    """The organisations the key's account can see; updating one needs an owner's key."""

    def iter(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Organization]:
        """Yield every organisation the key can see, following pages until the last."""
        return iterate_pages(
            lambda page: self.list(
                page=page,
                limit=MAX_PAGE_SIZE,
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
            )
        )

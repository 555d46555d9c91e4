"""``books.orgs``: the generated operations (with ``iter()``); nothing hand-written to add yet."""

from __future__ import annotations

from books_async._generated.resources.orgs import OrgsResource

__all__ = ["Orgs"]


class Orgs(OrgsResource):
    """The organisations the key's account can see; updating one needs an owner's key."""

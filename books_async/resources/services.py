"""``books.services``: the generated operations (with ``iter()``); nothing hand-written to add yet."""

from __future__ import annotations

from books_async._generated.resources.services import ServicesResource

__all__ = ["Services"]


class Services(ServicesResource):
    """The catalogue services with SAC codes: list, create, get, update and delete."""

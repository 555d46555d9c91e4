"""``books.quotes``: the generated operations (with ``iter()``); nothing hand-written to add yet."""

from __future__ import annotations

from books_async._generated.resources.quotes import QuotesResource

__all__ = ["Quotes"]


class Quotes(QuotesResource):
    """Quotes (estimates): list, create (one or bulk), PDF, send, and convert into a draft invoice."""

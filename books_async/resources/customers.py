"""``books.customers``: the generated operations (with ``iter()``); nothing hand-written to add yet."""

from __future__ import annotations

from books_async._generated.resources.customers import CustomersResource

__all__ = ["Customers"]


class Customers(CustomersResource):
    """B2B and B2C customers: list, create, and fetch with an invoicing summary."""

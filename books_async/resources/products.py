"""``books.products``: the generated operations (with ``iter()``); nothing hand-written to add yet."""

from __future__ import annotations

from books_async._generated.resources.products import ProductsResource

__all__ = ["Products"]


class Products(ProductsResource):
    """The products (goods with HSN codes and stock): list, create, get, update and delete."""

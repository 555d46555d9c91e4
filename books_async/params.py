"""Every request body as a ``TypedDict`` (generated from ``openapi/books.yaml``): import them from here.

Each operation that takes a request model also takes its ``...Param`` dict, in wire keys:
``books.invoices.create({"customer_id": ..., "invoice_date": date(...), "line_items": [...]})``. A dict is
checked before it is sent exactly like the model, so the value types are the same strict ones: money is
``Decimal`` (or an ``int``), never a ``float``; enums are their member or one of the spec's strings.
"""

from books_async._generated.params import *  # noqa: F403  # the generated module's __all__ is the list
from books_async._generated.params import __all__ as __all__

"""Every model of the API (generated from ``openapi/books.yaml``): import them from here.

They are frozen, keyword-only attrs classes. Money, quantities and rates are ``Decimal``; ids are
ObjectId strings under ``id`` (``_id`` on the wire).
"""

from books_async._generated.models import *  # noqa: F403  # the generated module's __all__ is the list

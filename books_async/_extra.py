"""Keys the server sent that the spec does not list, kept on every model instead of dropped.

The live API's field set is inferred; a key it adds (or one the spec names differently) is data the user may
need today, before books-async learns it. Each model keeps such keys, with their JSON values (numbers as
``Decimal``), in a slot of its base class :class:`BooksModel`: not an attrs field, so it takes no part in
``==``, hashing, ``repr`` or ``__init__`` (a well-formed answer never fills it, at no cost); :func:`extra`
reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["NO_EXTRA", "BooksModel", "extra"]

NO_EXTRA: Final[Mapping[str, object]] = MappingProxyType({})
"""What a model holds when the server sent only keys the spec lists (shared, read-only)."""


class BooksModel:
    """The base of every generated model: one slot, filled by the decoder only when the server sent keys
    the spec does not list (or values it could not read)."""

    __slots__ = ("_extra",)


def extra(model: object) -> Mapping[str, object]:
    """Return the keys of ``model``'s JSON that the spec does not list, and values it could not read.

    ``books_async.extra(invoice)["irn"]`` reads a field the live API sends and this version of the SDK
    does not know yet. A value the server sent for a known key that could not be read as its declared
    type (tolerant reading then gives ``None``) is here too, under its wire key. Empty for models built in
    code.
    """
    found = getattr(model, "_extra", NO_EXTRA)
    return found if isinstance(found, Mapping) else NO_EXTRA

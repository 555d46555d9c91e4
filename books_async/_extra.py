"""Keys the server sent that the spec does not list, kept on every model instead of dropped.

The live API's field set is inferred; a key it adds (or one the spec names differently) is data the user may
need today, before books-async learns it. Each model keeps such keys, with their JSON values (numbers as
``Decimal``), in a slot of its base class :class:`BooksModel`: not an attrs field, so it takes no part in
``==``, hashing, ``repr`` or ``__init__`` (a well-formed answer never fills it, at no cost); :func:`extra`
reads it.

The base class also carries what every model does outside the SDK (:mod:`books_async._travel`:
``to_dict``/``to_json``; :mod:`books_async._pydantic`: pydantic and FastAPI support). Both are imported
on first use, so neither this module nor ``import books_async`` loads pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

    from books_async._types import JSON

__all__ = ["NO_EXTRA", "BooksModel", "extra"]

NO_EXTRA: Final[Mapping[str, object]] = MappingProxyType({})
"""What a model holds when the server sent only keys the spec lists (shared, read-only)."""


class BooksModel:
    """The base of every generated model: one slot, filled by the decoder only when the server sent keys
    the spec does not list (or values it could not read)."""

    __slots__ = ("_extra",)

    def to_dict(self, *, by_alias: bool = True, include_extra: bool = True) -> dict[str, JSON]:
        """Return the model as the API writes it: a dict ready for JSON, money as exact ``Decimal``.

        Keys are the wire names (``_id``, ``createdAt``), or the attribute names with ``by_alias=False``.
        Dates are ISO strings and enums their values. A field the server may omit is left out when
        ``None``; a key it is meant to send (``X | None`` without a default) is written, ``None`` when
        unknown. Keys the server sent that the spec does not list (:func:`books_async.extra`) are put
        back, in nested objects too, unless ``include_extra=False``; a value that could not be read is
        not (the model holds ``None`` there). Reading the dict back gives an equal model.
        """
        from books_async._travel import to_dict

        return to_dict(self, by_alias=by_alias, include_extra=include_extra)

    def to_json(self, *, by_alias: bool = True, include_extra: bool = True, indent: int | None = 2) -> str:
        """Return :meth:`to_dict` as JSON text, every ``Decimal`` an exact JSON number (``1500.00``).

        Indented by 2 (as openai-python's ``to_json``), or compact with ``indent=None``.

        Raises:
            ValueError: ``indent`` is neither 2 nor None.
        """
        from books_async._travel import to_json

        return to_json(self, by_alias=by_alias, include_extra=include_extra, indent=indent)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Make the model a pydantic type (a FastAPI return type, ``response_model`` or body).

        pydantic validates with the SDK's converter and serialises with :meth:`to_dict`, money as decimal
        strings in JSON (``"1500.00"``): see :mod:`books_async._pydantic`.
        """
        from books_async._pydantic import core_schema_for

        return core_schema_for(cls, handler)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Describe the model to pydantic (and an app's OpenAPI document) with the spec's own schema."""
        from books_async._pydantic import json_schema_for

        return json_schema_for(cls, schema, handler)


def extra(model: object) -> Mapping[str, object]:
    """Return the keys of ``model``'s JSON that the spec does not list, and values it could not read.

    ``books_async.extra(invoice)["irn"]`` reads a field the live API sends and this version of the SDK
    does not know yet. A value the server sent for a known key that could not be read as its declared
    type (tolerant reading then gives ``None``) is here too, under its wire key. Empty for models built in
    code.
    """
    found = getattr(model, "_extra", NO_EXTRA)
    return found if isinstance(found, Mapping) else NO_EXTRA

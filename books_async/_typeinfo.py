"""What the serde and the request checks both need to know about types and values, without cattrs.

Messages name a value's JSON type (``received``) or a type's short name (``type_name``), never the value
itself, which may be a GSTIN or an email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableSequence, Sequence
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs

__all__ = [
    "is_list_type",
    "is_optional",
    "is_union",
    "json_type",
    "received",
    "type_name",
    "wire_key",
    "without_none",
]

_LIST_ORIGINS: Final = (list, Sequence, MutableSequence)
_QUALIFIER: Final = re.compile(r"\b(?:\w+\.)+(?=\w)")


def json_type(value: object) -> str:
    """Name ``value``'s JSON type as a schema would (``integer`` for whole numbers), never the value itself.

    Anything JSON has no type for is named by its class.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def received(value: object) -> str:
    """Name a value's JSON-ish type for messages, never the value itself (it may be a GSTIN).

    Numbers are named by their Python type (``int``, ``float``): a decode error is about which one arrived.
    """
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return type(value).__name__
    return json_type(value)


def wire_key(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("json", field.name))


def is_union(tp: object) -> bool:
    return get_origin(tp) in (Union, UnionType)


def is_list_type(tp: object) -> bool:
    return get_origin(tp) in _LIST_ORIGINS


def is_optional(tp: object) -> bool:
    """``X | None`` with a single ``X``: by far the commonest union in the models."""
    if not is_union(tp):
        return False
    args = get_args(tp)
    return len(args) == 2 and NoneType in args


def without_none(tp: object) -> Any:
    (inner,) = (a for a in get_args(tp) if a is not NoneType)
    return inner


def type_name(tp: object) -> str:
    # "list[books_async._generated.models.Invoice]" -> "list[Invoice]"
    return tp.__name__ if isinstance(tp, type) else _QUALIFIER.sub("", str(tp))

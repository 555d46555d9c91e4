"""Models out of the SDK: the wire dict and JSON behind ``BooksModel.to_dict()`` / ``to_json()``.

The wire form is the converter's own (:func:`books_async._serde.unstructure`, the response side, as the
sandbox answers): wire keys, dates as ISO strings, enums as their values, money as exact ``Decimal``; a field
the spec lets the server leave out is left out when ``None``, and a key it is expected to send
(``x-may-be-absent``) is written, as ``null`` when unknown. This module only adds what the converter does
not: the keys the server sent that the spec does not list (``books_async.extra()``), put back in each
(nested) object, and Python attribute names instead of wire keys on request.

Invariant: ``structure(to_dict(m), type(m)) == m``, with the same ``extra()`` keys the spec does not list,
because nothing here converts a value: it renames keys and adds the unknown ones, copied.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import attrs

from books_async import _serde
from books_async._extra import BooksModel, extra
from books_async._typeinfo import wire_key
from books_async._types import JSON

__all__ = ["money_as_strings", "to_dict", "to_json"]


def to_dict(model: BooksModel, *, by_alias: bool = True, include_extra: bool = True) -> dict[str, JSON]:
    """Return ``model``'s wire form (module docstring); see ``BooksModel.to_dict``."""
    wire = _serde.unstructure(model)
    if not isinstance(wire, dict):  # an attrs class always unstructures to a dict
        raise TypeError(f"{type(model).__name__} is not a model")
    if by_alias and not include_extra:
        return wire
    return _finish(model, wire, by_alias=by_alias, include_extra=include_extra)


def _finish(model: object, wire: dict[str, JSON], *, by_alias: bool, include_extra: bool) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    cls = type(model)
    if not attrs.has(cls):  # a BooksModel subclass is always an attrs class; this tells the type checker
        return wire
    fields = attrs.fields(cls)
    for field in fields:
        key = wire_key(field)
        if key not in wire:
            continue
        out[key if by_alias else field.name] = _nested(
            getattr(model, field.name), wire[key], by_alias, include_extra
        )
    if include_extra:
        known = {wire_key(f) for f in fields}
        for key, value in extra(model).items():
            # A known key here held a value that could not be read: the model says None, and so do we. A
            # field's own entry wins over an unknown key spelled like its attribute name.
            if key not in known and key not in out:
                out[key] = copy.deepcopy(value)  # type: ignore[assignment]  # extra() holds parsed JSON
    return out


def _nested(value: object, wire: JSON, by_alias: bool, include_extra: bool) -> JSON:
    if isinstance(value, BooksModel) and isinstance(wire, dict):
        return _finish(value, wire, by_alias=by_alias, include_extra=include_extra)
    if isinstance(value, list) and isinstance(wire, list):
        return [_nested(v, w, by_alias, include_extra) for v, w in zip(value, wire, strict=True)]
    return wire


def to_json(
    model: BooksModel, *, by_alias: bool = True, include_extra: bool = True, indent: int | None = 2
) -> str:
    """Return ``to_dict(model)`` as JSON text, money as exact JSON numbers; see ``BooksModel.to_json``."""
    if indent not in (None, 2):
        raise ValueError(f"indent must be 2 or None, not {indent!r} (the JSON writer indents by 2 only)")
    data = to_dict(model, by_alias=by_alias, include_extra=include_extra)
    return _serde.dumps(data, indent=indent == 2).decode("utf-8")


def money_as_strings(value: JSON) -> JSON:
    """Return ``value`` with every ``Decimal`` written as its exact digits in a string (``"1500.00"``)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: money_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [money_as_strings(v) for v in value]
    return value

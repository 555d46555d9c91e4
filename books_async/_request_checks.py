"""What a request body is checked for before it is sent: only what is certainly wrong.

The reference states little about bodies: strict Zod schemas, a ``details`` array on 400, 5 MB, and "B2B
requires gstin". Everything else in the spec (id patterns, the GST rate list, state-code ranges, decimal
places, bounds) is our inference, so it is the server's to judge: refusing it here would block a user whose
live API accepts it, with no way around. What is checked:

* Python types, which are ours: a ``float`` where money is ``Decimal``, a ``str`` where a ``date`` is, a NaN.
  A request model or a plain ``dict`` body is checked the same way, key by key (the types
  ``books_async.params`` declares); a dict key the model does not have is refused, a key left out is the
  server's to judge.
* "B2B requires gstin" (the reference), and a GSTIN that is not 15 characters of ``0-9A-Z`` with the right
  check character (true of every registration type; see :mod:`books_async._gstin`).

Every failure is collected, with its path in wire keys, the way the API's 400 ``details`` report them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import NoneType
from typing import Final, Literal, get_args, get_origin

import attrs

from books_async._exceptions import ErrorDetail, InvalidRequestError
from books_async._gstin import gstin_problem
from books_async._typeinfo import is_list_type, is_union, received, type_name, wire_key

__all__ = ["validate_request"]

_Path = tuple[str | int, ...]
_Check = Callable[[object, _Path, list[ErrorDetail]], None]
_Rule = Callable[[Mapping[object, object], _Path, list[ErrorDetail]], None]


def _invalid_type(expected: str, value: object, path: _Path, out: list[ErrorDetail]) -> None:
    out.append(ErrorDetail(path, f"Expected {expected}, received {received(value)}", "invalid_type"))


def _unchecked(value: object, path: _Path, out: list[ErrorDetail]) -> None:
    """Types the spec leaves open (a free-form JSON value) have nothing to check."""


@attrs.frozen
class _Plan:
    """How to check one request model: a check per wire key, and the model's certain cross-field rules."""

    fields: Mapping[str, _Check]
    attribute_of: Mapping[str, str]
    rules: tuple[_Rule, ...]


_plans: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    """Return (and cache) how to check a request of ``cls``."""
    plan = _plans.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        sent = [a for a in attrs.fields(cls) if not a.metadata.get("read_only")]
        plan = _Plan(
            fields={wire_key(a): _checker(a.type, a.metadata) for a in sent},
            attribute_of={wire_key(a): a.name for a in sent},
            rules=_RULES.get(cls.__name__, ()),
        )
        _plans[cls] = plan
    return plan


def _check_model(obj: object, cls: type, path: _Path, out: list[ErrorDetail]) -> None:
    plan = _plan(cls)
    wire: Mapping[object, object]
    if isinstance(obj, cls):
        # A model's unset optional fields are None and are not sent, so they are not checked.
        wire = {k: v for k, name in plan.attribute_of.items() if (v := getattr(obj, name)) is not None}
    elif isinstance(obj, Mapping):
        wire = obj
        for key in wire:
            if key not in plan.fields:
                # The spec closes every request schema (additionalProperties: false) and the API's schemas
                # are strict, so an unknown key is a typo here; `extra_body` sends keys the spec lacks.
                message = f"Unrecognized key {key!r}: {cls.__name__} has no such field (see extra_body)"
                out.append(ErrorDetail((*path, str(key)), message, "unrecognized_keys"))
    else:
        _invalid_type(f"{cls.__name__} or a dict", obj, path, out)
        return
    for key, value in wire.items():
        if isinstance(key, str) and (check := plan.fields.get(key)) is not None:
            check(value, (*path, key), out)
    for rule in plan.rules:
        rule(wire, path, out)


def _checker(tp: object, md: Mapping[str, object]) -> _Check:
    """Compile the type check for one field; a field marked ``check: gstin`` also gets the GSTIN rule."""
    if is_union(tp):
        return _union_checker(tp, md)
    if tp is str:
        certain = md.get("check")

        def check_str(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, str):
                _invalid_type("string", value, path, out)
            elif certain == "gstin" and (problem := gstin_problem(value)) is not None:
                out.append(ErrorDetail(path, problem, "invalid_string"))

        return check_str
    if tp is Decimal or tp is int or tp is float:
        return _number_checker(tp)
    if tp is bool:

        def check_bool(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, bool):
                _invalid_type("boolean", value, path, out)

        return check_bool
    if tp is date:

        def check_date(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            # A datetime is a date subclass but would be written with a time: not a date on the wire.
            if not isinstance(value, date) or isinstance(value, datetime):
                _invalid_type("date", value, path, out)

        return check_date
    if tp is datetime:

        def check_datetime(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, datetime):
                _invalid_type("datetime", value, path, out)
            elif value.utcoffset() is None:
                message = "Expected a timezone-aware datetime, received a naive one"
                out.append(ErrorDetail(path, message, "invalid_type"))

        return check_datetime
    if isinstance(tp, type) and issubclass(tp, Enum):
        name = tp.__name__

        def check_enum(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            # Which values exist is the server's to say (the enums are open); only the type is ours.
            if not isinstance(value, tp | str):
                _invalid_type(f"{name} or str", value, path, out)

        return check_enum
    if get_origin(tp) is Literal:
        return _unchecked  # a constant of the spec's: the server judges it like any other value
    if get_origin(tp) in (dict, Mapping):

        def check_mapping(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, Mapping):
                _invalid_type("object", value, path, out)

        return check_mapping
    if isinstance(tp, type) and attrs.has(tp):
        model: type = tp

        def check_model(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            _check_model(value, model, path, out)

        return check_model
    if is_list_type(tp):
        (item_type,) = get_args(tp) or (object,)
        item = _checker(item_type, {})

        def check_list(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, list | tuple):
                _invalid_type("array", value, path, out)
                return
            for i, element in enumerate(value):
                item(element, (*path, i), out)

        return check_list
    return _unchecked


def _number_checker(tp: type) -> _Check:
    expected = "number" if tp is float else tp.__name__

    def check_number(value: object, path: _Path, out: list[ErrorDetail]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            _invalid_type(expected, value, path, out)
        elif tp is Decimal and isinstance(value, float):
            message = "Expected Decimal, received float: use Decimal, not float (money must be exact)"
            out.append(ErrorDetail(path, message, "invalid_type"))
        elif tp is int and not isinstance(value, int):
            _invalid_type("integer", value, path, out)
        elif (isinstance(value, Decimal) and not value.is_finite()) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            out.append(
                ErrorDetail(path, "Expected a finite number, received NaN or Infinity", "invalid_type")
            )

    return check_number


def _union_checker(tp: object, md: Mapping[str, object]) -> _Check:
    args = get_args(tp)
    members = [m for m in args if m is not NoneType]
    nullable = len(members) < len(args)
    lists = [_checker(m, md) for m in members if is_list_type(m)]
    others = [_checker(m, md) for m in members if not is_list_type(m)]
    expected = " | ".join(type_name(m) for m in args)

    def check_union(value: object, path: _Path, out: list[ErrorDetail]) -> None:
        if value is None:
            if not nullable:
                _invalid_type(expected, value, path, out)
            return
        # Same dispatch as structuring: an array goes to the array member (X | list[X] bodies).
        candidates = lists if lists and isinstance(value, list | tuple) else others
        if len(candidates) == 1:
            candidates[0](value, path, out)
            return
        for candidate in candidates:
            found: list[ErrorDetail] = []
            candidate(value, path, found)
            if not found:
                return
        _invalid_type(expected, value, path, out)

    return check_union


def _b2b_requires_gstin(body: Mapping[object, object], path: _Path, out: list[ErrorDetail]) -> None:
    # The reference's own words for POST /books/customers: "B2B requires gstin".
    if body.get("type") == "B2B" and body.get("gstin") is None:
        out.append(ErrorDetail((*path, "gstin"), "Required: a B2B customer needs a GSTIN", "custom"))


_RULES: Final[Mapping[str, tuple[_Rule, ...]]] = {
    "CustomerCreate": (_b2b_requires_gstin,),
}
"""Rules the reference states about a request model, by the model's name."""


def validate_request(body: object, model: type | None = None) -> None:
    """Check a request body for what is certainly wrong before it is sent (see the module docstring).

    ``body`` is a request model, a ``dict`` in wire keys, or a sequence of either (a bulk body); ``model``
    is the operation's request model (the item model for a bulk body), needed to check a dict. A dict
    without ``model`` (e.g. ``books.request()``'s ``json=``) is left to the API.

    Raises:
        InvalidRequestError: one or more fields are certainly wrong; ``details`` lists them all.
    """
    out: list[ErrorDetail] = []
    if attrs.has(type(body)):
        cls: type = type(body)
        name = cls.__name__
        _check_model(body, cls, (), out)
    elif isinstance(body, Mapping):
        if model is None:
            return
        name = model.__name__
        _check_model(body, model, (), out)
    elif isinstance(body, Sequence) and not isinstance(body, str | bytes):
        kinds = sorted({type(item).__name__ for item in body if attrs.has(type(item))})
        name = f"list of {' | '.join(kinds) or (model.__name__ if model else 'items')}"
        for i, item in enumerate(body):
            item_model = type(item) if attrs.has(type(item)) else model
            if item_model is not None:
                _check_model(item, item_model, (i,), out)
    else:
        return
    if out:
        raise InvalidRequestError(
            f"Invalid {name}: {len(out)} problem{'s' if len(out) != 1 else ''}", details=out
        )

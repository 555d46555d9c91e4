"""JSON <-> attrs models: the cattrs converters and exact-money JSON.

Everything that turns bytes into models or models into bytes goes through here, so a change of wire rules (a
renamed key, how money is written) is one edit. The wire facts come from the generated models' field
metadata: ``"json"`` (wire key when it differs from the attribute name), ``"read_only"``, ``"expected"``
(the spec's ``x-may-be-absent``: a key the server should send but may not). Keys the spec does not list
are kept in the models' ``BooksModel`` slot (see :mod:`books_async._extra`).

Answers are read in one of two modes. **Tolerant** (the default) reads what the live API plausibly sends
beside the spec: an enum value the spec does not list (an open ``OpenEnum`` value), a missing or null
``expected`` key or an unreadable value of a key the client can do without (``None``, with one WARNING per
model and key per process, the raw value kept in ``extra()``), an ISO date-time where a date is declared
(its calendar date in India), a numeric string for money, a populated reference (``{"_id": ...}``) for an
id. **Strict** refuses each of those with the path, for contract tests. Both keep unknown keys. Neither
slows a well-formed answer: tolerance runs only after the fast, generated structuring fails for an object.

Money is exact both ways, whatever its number of digits:

* Out: a ``Decimal`` stays a ``Decimal`` until :func:`dumps`, which writes its digits verbatim as a
  JSON number (``Decimal("1500.00")`` -> ``1500.00``), never through a float.
* In: :func:`loads` is ``json.loads(parse_float=Decimal)``, so ``1500.00`` arrives as
  ``Decimal("1500.00")``, scale and all; it beats ``orjson.loads`` plus a float -> Decimal trip per number
  on a 100-invoice page (``benchmarks/serde_detailed_validation.py``). The hook still takes floats, for
  data parsed elsewhere: ``repr(float)`` gives back any number of at most 15 significant digits unchanged.

Structuring runs with cattrs' ``detailed_validation`` on: on that page it costs 2-5 % (try blocks are free on
3.11 until they catch), and it gives every decode error its path.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Final, Literal, TypeVar, Union, get_args, get_origin, overload

import attrs
import cattrs
import orjson
from cattrs.errors import ClassValidationError, IterableValidationError, StructureHandlerNotFoundError
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._enums import OpenEnum
from ._exceptions import ResponseDecodeError
from ._extra import NO_EXTRA, BooksModel
from ._logging import log
from ._types import JSON

__all__ = [
    "decode",
    "dumps",
    "loads",
    "structure",
    "unstructure",
    "unstructure_request",
]

T = TypeVar("T")

_ZERO: Final = timedelta(0)
_LIST_ORIGINS: Final = (list, Sequence, MutableSequence)
_PRIMITIVES: Final = (str, int, float, bool)
# JSON's number grammar, loosened only to allow a leading "+" and a bare "1." / ".5"; no "_" or
# spaces, which Decimal() would otherwise accept silently.
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_QUALIFIER: Final = re.compile(r"\b(?:\w+\.)+(?=\w)")


def _received(value: object) -> str:
    """Name a value's JSON-ish type for messages, never the value itself (it may be a GSTIN)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _wire_key(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("json", field.name))


def _is_union(tp: object) -> bool:
    return get_origin(tp) in (Union, UnionType)


def _is_list_type(tp: object) -> bool:
    return get_origin(tp) in _LIST_ORIGINS


# --- structure hooks. The strict ones are also the tolerant mode's fast path; the tolerant variants differ
# only after the strict check failed, so a well-formed answer costs the same in both modes.


class _HookError(ValueError):
    """A value did not fit its type; the message names types only, so it is safe to show."""


_IST: Final = timezone(timedelta(hours=5, minutes=30))
_ABSENT: Final = object()
# Bounds what a server sending ever-new keys or values can make us remember (and log).
_MAX_NOTES: Final = 1000
_noted: set[tuple[str, ...]] = set()


def _note_once(level: int, key: tuple[str, ...], message: str, *args: object) -> None:
    """Log ``message`` the first time ``key`` is seen in this process."""
    if key in _noted or len(_noted) >= _MAX_NOTES:
        return
    _noted.add(key)
    log.log(level, message, *args)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _HookError(f"expected a string, received {_received(value)}")


def _structure_str_tolerant(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    # A populated reference ({"_id": ..., "name": ...} where an id is declared) reads as its id.
    if isinstance(value, Mapping) and isinstance(ref := value.get("_id"), str):
        _note_once(
            logging.INFO,
            ("populated-ref",),
            "The API sent objects where ids are declared; reading their _id.",
        )
        return ref
    raise _HookError(f"expected a string, received {_received(value)}")


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _HookError(f"expected an integer, received {_received(value)}")


def _structure_float(value: object, _: type) -> float:
    # loads() makes every fractional number a Decimal, including those of plain float fields.
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    raise _HookError(f"expected a number, received {_received(value)}")


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise _HookError(f"expected a boolean, received {_received(value)}")


def _make_decimal_hook(*, numeric_strings: bool) -> Callable[[object, type], Decimal]:
    def structure_decimal(value: object, _: type) -> Decimal:
        # The hottest hook (every money field of every response): Decimal first, as loads() makes them.
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
        elif isinstance(value, float):
            if math.isfinite(value):
                return Decimal(repr(value))  # never Decimal(value): that keeps the binary error
        elif isinstance(value, bool):
            raise _HookError("expected a number, received boolean")
        elif isinstance(value, int):
            return Decimal(value)
        elif isinstance(value, str) and numeric_strings:
            # Decimal() alone would also take "NaN", "1_000" and full-width digits.
            if _NUMBER.fullmatch(value) is None:
                raise _HookError("expected a number or a numeric string, received a non-numeric string")
            return structure_decimal(Decimal(value), _)
        else:
            raise _HookError(f"expected a number, received {_received(value)}")
        raise _HookError("expected a finite number, received NaN or Infinity")

    return structure_decimal


def _structure_date(value: object, _: type) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _HookError("expected an ISO date (YYYY-MM-DD), received another string") from None
    raise _HookError(f"expected an ISO date string, received {_received(value)}")


def _structure_date_tolerant(value: object, _: type) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        # A MongoDB Date serialises as a UTC date-time (2026-03-13T18:30:00.000Z for midnight in India). The
        # GST date of a document is an Indian date, so the calendar date is taken in India's time zone.
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _HookError("expected an ISO date or date-time, received another string") from None
        _note_once(
            logging.INFO,
            ("datetime-for-date",),
            "The API sent date-times where dates are declared; reading their calendar date in India (IST).",
        )
        return (moment.astimezone(_IST) if moment.tzinfo is not None else moment).date()
    raise _HookError(f"expected an ISO date string, received {_received(value)}")


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)  # accepts a trailing "Z" from Python 3.11 on
        except ValueError:
            raise _HookError("expected an ISO date-time, received another string") from None
    raise _HookError(f"expected an ISO date-time string, received {_received(value)}")


_EnumHook = Callable[[object, type], Enum]


def _make_enum_hook_factory(*, open_values: bool) -> Callable[[type[Enum]], _EnumHook]:
    made: dict[type[Enum], _EnumHook] = {}

    def enum_hook_for(cls: type[Enum]) -> _EnumHook:
        hook = made.get(cls)
        if hook is None:
            hook = made[cls] = make_enum_hook(cls)
        return hook

    def make_enum_hook(cls: type[Enum]) -> _EnumHook:
        # A dict lookup instead of calling the class: faster, and the error names no value.
        members = {m.value: m for m in cls}
        expected = " | ".join(repr(v) for v in members)
        accepts_unknown = open_values and issubclass(cls, OpenEnum)

        def structure_enum(value: object, _: type) -> Enum:
            try:
                return members[value]
            except (KeyError, TypeError):  # TypeError: an unhashable value such as a list
                if accepts_unknown and isinstance(value, str):
                    _note_once(
                        logging.WARNING,
                        ("enum", cls.__name__, value[:40]),
                        "%s: the API sent %r, a value the spec does not list; kept (is_known() is False).",
                        cls.__name__,
                        value[:40],
                    )
                    return cls(value)
                raise _HookError(f"expected one of {expected}, received another {_received(value)}") from None

        return structure_enum

    return enum_hook_for


def _dispatch_open_enum(enum_hook_for: Callable[[type[Enum]], _EnumHook]) -> _EnumHook:
    # An OpenEnum is a str, and cattrs consults its class-based hooks (where `str` is) before any
    # predicate: this class-based hook for OpenEnum, the closer base, routes each enum to its own hook.
    def structure_open_enum(value: object, cls: type) -> Enum:
        return enum_hook_for(cls)(value, cls)

    return structure_open_enum


def _is_open_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, OpenEnum)


def _is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, Enum)


def _is_literal(tp: object) -> bool:
    return get_origin(tp) is Literal


def _make_literal_hook(tp: object) -> Callable[[object, type], object]:
    # cattrs' own Literal hook reads the allowed values from its second argument, which a field override
    # passes as the field's whole type (`Literal[...] | None`); this one closes over them instead.
    allowed = get_args(tp)
    expected = " | ".join(repr(a) for a in allowed)

    def structure_literal(value: object, _: type) -> object:
        if any(value == a and type(value) is type(a) for a in allowed):
            return value
        raise _HookError(f"expected {expected}, received another {_received(value)}")

    return structure_literal


def _passthrough(value: object, _: type) -> object:
    return value


def _unstructure_date(value: date) -> str:
    return value.isoformat()


def _unstructure_datetime(value: datetime) -> str:
    # The API writes UTC as "Z" (JavaScript's toISOString); we write it the same way.
    if value.utcoffset() == _ZERO:
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _unstructure_enum(value: object) -> object:
    # Request checks accept an enum's wire value as a plain str, so let it through as is.
    return value.value if isinstance(value, Enum) else value


def _needs_union_hook(tp: object) -> bool:
    """Unions cattrs cannot structure itself: any with a list member (pitfall 9) or a primitive."""
    if not _is_union(tp):
        return False
    members = [m for m in get_args(tp) if m is not NoneType]
    return len(members) > 1 and any(_is_list_type(m) or m in _PRIMITIVES for m in members)


def _make_union_hook(tp: Any, converter: cattrs.Converter) -> Callable[[object, type], object]:
    """Dispatch on the JSON shape: null, array, exact primitive, then the one remaining member."""
    members = [m for m in get_args(tp) if m is not NoneType]
    nullable = len(members) < len(get_args(tp))
    lists = [m for m in members if _is_list_type(m)]
    primitives = [m for m in members if m in _PRIMITIVES]
    others = [m for m in members if m not in lists and m not in primitives]
    if len(lists) > 1:
        raise StructureHandlerNotFoundError(f"{tp} has more than one array member", tp)
    list_type = lists[0] if lists else None
    list_hook = converter.get_structure_hook(list_type) if list_type is not None else None
    # Several attrs classes left: cattrs' own disambiguation (by unique required keys) decides.
    other_type: Any = None
    if len(others) == 1:
        other_type = others[0]
    elif others:
        other_type = Union[tuple(others)]  # noqa: UP007  # built at run time from a tuple
    other_hook = converter.get_structure_hook(other_type) if other_type is not None else None

    def structure_union(value: object, _: type) -> object:
        if value is None and nullable:
            return None
        if list_hook is not None and isinstance(value, list):
            return list_hook(value, list_type)
        for prim in primitives:
            # Exact types: True must not pass for an int, nor 1 for a bool.
            if type(value) is prim:
                return value
            if prim is float and type(value) in (int, Decimal):
                return float(value)  # type: ignore[arg-type]  # int or Decimal, just checked
        if other_hook is not None:
            return other_hook(value, other_type)
        raise _HookError(f"expected {_type_name(tp)}, received {_received(value)}")

    return structure_union


def _is_optional(tp: object) -> bool:
    """``X | None`` with a single ``X``: by far the commonest union in the models."""
    if not _is_union(tp):
        return False
    args = get_args(tp)
    return len(args) == 2 and NoneType in args


def _without_none(tp: object) -> Any:
    (inner,) = (a for a in get_args(tp) if a is not NoneType)
    return inner


def _make_optional_hook(tp: Any, converter: cattrs.Converter) -> Callable[[object, type], object]:
    # cattrs' generic Optional handling dispatches on the inner type on every call; resolving the inner
    # hook once, here, takes ~9 % off decoding a response (benchmarks B1/B3).
    inner = _without_none(tp)
    inner_hook = converter.get_structure_hook(inner)

    def structure_optional(value: object, _: type) -> object:
        return None if value is None else inner_hook(value, inner)

    return structure_optional


# --- models: the generated fast path, then (tolerant mode only) a field-by-field recovery


def _keep_extra(model: object, found: Mapping[str, object]) -> None:
    current = getattr(model, "_extra", NO_EXTRA)
    # Frozen models: the slot is filled once, right after construction, before anyone holds the model.
    object.__setattr__(model, "_extra", {**current, **found} if current else dict(found))


def _make_recovery(
    cls: Any, fields: Sequence[attrs.Attribute[Any]], converter: cattrs.Converter, *, keeps_extra: bool
) -> Any:
    """Rebuild ``cls`` field by field after the fast path failed, keeping whatever can be read.

    A key the model cannot do without (a required field not marked ``expected``: ``_id``, a document number,
    a pagination counter) that is absent, null or unreadable re-raises the fast path's error, whose paths
    name the row: a row is never dropped or half-read in silence. Any other key reads as ``None`` with one
    WARNING per model and key; an unreadable value is kept in ``extra()``.
    """
    plan = [
        (
            a.alias or a.name,
            _wire_key(a),
            converter.get_structure_hook(a.type),
            a.type,
            a.default is attrs.NOTHING and not a.metadata.get("expected"),
            bool(a.metadata.get("expected")),
            NoneType in get_args(a.type),
        )
        for a in fields
    ]
    name = cls.__name__
    # Only a response model says which of its keys are essential (the others are marked `expected`). A model
    # without such marks (an Address, shared with requests) failing inside one is just an unreadable value.
    says_essential = any(a.metadata.get("expected") for a in fields)

    def mark_essential(failure: Exception) -> Exception:
        if says_essential:
            failure.books_essential = True  # type: ignore[attr-defined]  # read by enclosing objects' recovery
        return failure

    def recover(data: object, failure: Exception) -> object:
        if not isinstance(data, Mapping):
            raise failure
        values: dict[str, object] = {}
        unreadable: dict[str, object] = {}
        for alias, key, hook, tp, essential, expected, nullable in plan:
            raw = data.get(key, _ABSENT)
            if raw is _ABSENT or raw is None:
                if essential:
                    raise mark_essential(failure)
                if expected:
                    seen = "no value (key absent)" if raw is _ABSENT else "null"
                    _warn_unread(name, key, seen)
                    values[alias] = None
                continue  # an optional key: its default
            try:
                values[alias] = hook(raw, tp)
            except Exception as exc:
                # An essential key missing deeper down (a pagination counter, a payment's invoice's _id)
                # fails this object too, rather than turning the nested one into None.
                if essential or _has_essential(exc):
                    raise mark_essential(failure) from None
                _warn_unread(name, key, f"an unreadable {_received(raw)}")
                if nullable:
                    values[alias] = None  # else the field's own default, which is no None
                unreadable[key] = raw
        model = cls(**values)
        if unreadable and keeps_extra:
            _keep_extra(model, unreadable)
        return model

    return recover


def _has_essential(exc: BaseException) -> bool:
    if getattr(exc, "books_essential", False):
        return True
    return isinstance(exc, BaseExceptionGroup) and any(_has_essential(e) for e in exc.exceptions)


def _warn_unread(model: str, key: str, seen: str) -> None:
    _note_once(
        logging.WARNING,
        ("unread", model, key),
        "%s.%s: the API sent %s where the spec expects a value; left unset (None). "
        "`books-async doctor` lists every such difference.",
        model,
        key,
        seen,
    )


def _make_model_hook_factory(
    strict: bool, enum_hook_for: Callable[[type[Enum]], _EnumHook]
) -> Callable[[Any, cattrs.Converter], Any]:
    def make_model_hook(cls: Any, converter: cattrs.Converter) -> Any:
        attrs.resolve_types(cls)
        fields = [a for a in attrs.fields(cls) if a.init]
        overrides: dict[str, Any] = {}
        for a in fields:
            options: dict[str, Any] = {}
            if "json" in a.metadata:
                options["rename"] = a.metadata["json"]
            if a.metadata.get("expected") and _is_optional(a.type):
                # Typed `X | None` so absence can be honest, but the server is meant to send a value: the fast
                # path refuses null, which sends the object through recovery (tolerant) or fails it (strict).
                # (An enum's own hook, not the OpenEnum dispatcher: the override is called with the union.)
                inner = _without_none(a.type)
                options["struct_hook"] = (
                    enum_hook_for(inner) if _is_open_enum(inner) else converter.get_structure_hook(inner)
                )
            if options:
                overrides[a.name] = override(**options)
        # Unknown keys are not refused (forbid_extra_keys=False): they are kept, below.
        fast = make_dict_structure_fn(cls, converter, **overrides)
        known = frozenset(_wire_key(a) for a in fields)
        # Generated models have the slot; a hand-made attrs class without one just drops unknown keys.
        keeps_extra = issubclass(cls, BooksModel)
        recover = None if strict else _make_recovery(cls, fields, converter, keeps_extra=keeps_extra)

        def structure_model(data: Any, _: type) -> object:
            try:
                model = fast(data, cls)
            except Exception as exc:
                if recover is None:
                    raise
                model = recover(data, exc)
            if keeps_extra and not known.issuperset(data):
                _keep_extra(model, {k: v for k, v in data.items() if k not in known})
            return model

        return structure_model

    return make_model_hook


def _build_converter(
    *, detailed: bool = True, request: bool = False, strict: bool = False
) -> cattrs.Converter:
    """Build a converter; hooks for each class are generated lazily, on its first use.

    ``detailed`` is cattrs' detailed validation (paths in errors; the benchmark turns it off to compare).
    ``request`` makes the attrs unstructure hooks drop read-only fields; ``strict`` reads answers strictly
    (see the module docstring). The three converters differ only there, so one function builds them.
    """
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str if strict else _structure_str_tolerant)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Decimal, _make_decimal_hook(numeric_strings=not strict))
    conv.register_structure_hook(date, _structure_date if strict else _structure_date_tolerant)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(Decimal, identity)  # dumps() writes the exact digits
    conv.register_unstructure_hook(date, _unstructure_date)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    enum_hook_for = _make_enum_hook_factory(open_values=not strict)
    conv.register_structure_hook_factory(_is_enum, enum_hook_for)
    conv.register_structure_hook(OpenEnum, _dispatch_open_enum(enum_hook_for))
    conv.register_unstructure_hook_func(_is_enum, _unstructure_enum)
    conv.register_structure_hook_factory(_is_literal, _make_literal_hook)
    conv.register_structure_hook_factory(_needs_union_hook, _make_union_hook)
    conv.register_structure_hook_factory(_is_optional, _make_optional_hook)
    # `object` is a free-form JSON value (ValidateRequest.payload's values): kept as parsed. A
    # predicate, not register_structure_hook(object, ...), which would catch every class.
    conv.register_structure_hook_func(lambda t: t is object, _passthrough)
    conv.register_structure_hook_factory(attrs.has, _make_model_hook_factory(strict, enum_hook_for))

    @conv.register_unstructure_hook_factory(attrs.has)
    def _attrs_unstructure(cls: Any, converter: cattrs.Converter) -> Any:
        attrs.resolve_types(cls)
        overrides: dict[str, Any] = {}
        for a in attrs.fields(cls):
            options: dict[str, Any] = {}
            if "json" in a.metadata:
                options["rename"] = a.metadata["json"]
            if request and a.metadata.get("read_only"):
                options["omit"] = True
            # Per field, not converter-wide: a default of [] or Decimal("0") is a value to send.
            elif a.default is None:
                options["omit_if_default"] = True
            if options:
                overrides[a.name] = override(**options)
        return make_dict_unstructure_fn(cls, converter, **overrides)

    return conv


_converter: Final = _build_converter()
_strict_converter: Final = _build_converter(strict=True)
_request_converter: Final = _build_converter(request=True)


# --- bytes


def _reject_constant(name: str) -> object:
    # json.loads would otherwise accept NaN and Infinity, which are not JSON.
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes | str) -> object:
    """Parse JSON text, numbers with a fraction or exponent as exact ``Decimal``s.

    Raises:
        ValueError: the text is not JSON (``json.JSONDecodeError``, or NaN/Infinity).
    """
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)


def _dumps_default(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))  # "f": never an exponent, every digit kept
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(obj: JSON) -> bytes:
    """Serialise to compact JSON bytes, writing each ``Decimal``'s digits exactly.

    Raises:
        orjson.JSONEncodeError: (a ``TypeError``) a value is not JSON, or is a NaN/infinite Decimal.
    """
    return orjson.dumps(obj, default=_dumps_default)


# --- models


@overload
def structure(data: object, tp: type[T], *, strict: bool = False) -> T: ...
@overload
def structure(data: object, tp: object, *, strict: bool = False) -> object: ...
def structure(data: object, tp: object, *, strict: bool = False) -> object:
    """Build ``tp`` (a model, ``list[Model]``, a union, ...) from parsed JSON, tolerantly unless ``strict``.

    Raises whatever cattrs or the hooks raise; prefer :func:`decode`, which turns any failure into
    :class:`~books_async.ResponseDecodeError`.
    """
    return (_strict_converter if strict else _converter).structure(data, _as_type(tp))


def unstructure(obj: object) -> JSON:
    """Return the wire form of a model (or list of models), read-only fields included.

    This is the response side: the sandbox answers with it. Keys are the wire names, fields that
    are ``None`` with a ``None`` default are left out, money stays ``Decimal`` for :func:`dumps`.
    """
    result: JSON = _converter.unstructure(obj)
    return result


def unstructure_request(obj: object) -> JSON:
    """Return the wire form of a request body, without read-only fields.

    A sequence of models (a bulk body) becomes a JSON array.
    """
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return [_request_converter.unstructure(item) for item in obj]
    result: JSON = _request_converter.unstructure(obj)
    return result


def _as_type(tp: object) -> Any:
    # cattrs types `tp` as type[T]; ours may also be a union or list[...] (typing forms, not types).
    return tp


def _type_name(tp: object) -> str:
    # "list[books_async._generated.models.Invoice]" -> "list[Invoice]"
    return tp.__name__ if isinstance(tp, type) else _QUALIFIER.sub("", str(tp))


def _error_lines(exc: BaseException, path: str, expected: object = None) -> Iterable[str]:
    """Flatten cattrs' detailed errors into ``"<what> at <path>"``, naming keys as the wire does."""
    if isinstance(exc, ClassValidationError):
        keys = {a.name: _wire_key(a) for a in attrs.fields(exc.cl)} if attrs.has(exc.cl) else {}
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _error_lines(sub, f"{path}.{keys.get(note.name, note.name)}", note.type)
        for sub in without:
            yield from _error_lines(sub, path)
    elif isinstance(exc, IterableValidationError):
        items, without = exc.group_exceptions()
        for sub, item in items:
            yield from _error_lines(sub, f"{path}[{item.index!r}]", item.type)
        for sub in without:
            yield from _error_lines(sub, path)
    elif isinstance(exc, KeyError):
        yield f"required key missing at {path}"
    elif isinstance(exc, _HookError):
        yield f"{exc} at {path}"
    else:
        # Other messages (fromisoformat's, Enum's) quote the value, which may be personal data.
        what = (
            f"invalid {_type_name(expected)}"
            if expected is not None
            else f"invalid value ({type(exc).__name__})"
        )
        yield f"{what} at {path}"


def _explain(exc: BaseException) -> str:
    lines = list(_error_lines(exc, "$"))
    shown = "; ".join(lines[:3])
    return shown + (f" (and {len(lines) - 3} more)" if len(lines) > 3 else "")


@overload
def decode(raw: bytes | str, tp: type[T], *, where: str = "", strict: bool = False) -> T: ...
@overload
def decode(raw: bytes | str, tp: object, *, where: str = "", strict: bool = False) -> object: ...
def decode(raw: bytes | str, tp: object, *, where: str = "", strict: bool = False) -> object:
    """Parse a response body and build ``tp`` from it, tolerantly unless ``strict`` (module docstring).

    ``where`` (e.g. ``"GET /books/invoices"``) starts the error message.

    Raises:
        ResponseDecodeError: the body is not JSON, or does not match ``tp``; names the type and the
            first failing paths (wire keys), never the body's values. The cause is chained.
    """
    prefix = f"{where}: " if where else ""
    try:
        data = loads(raw)
    # UnicodeDecodeError is a ValueError; RecursionError is json's answer to absurdly deep nesting.
    except (ValueError, RecursionError) as exc:
        raise ResponseDecodeError(
            f"{prefix}the response body is not valid JSON (expected {_type_name(tp)}). "
            "The API or a proxy answered with something else; retry, or report it if it persists."
        ) from exc
    try:
        return (_strict_converter if strict else _converter).structure(data, _as_type(tp))
    except Exception as exc:  # whatever cattrs or a hook raised: described by path, then chained
        raise ResponseDecodeError(
            f"{prefix}the response body does not match {_type_name(tp)}: {_explain(exc)}. "
            "The API may have changed; upgrade books-async, or report it with this message."
        ) from exc

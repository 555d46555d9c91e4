"""JSON <-> attrs models: the cattrs converters (the only cattrs import) and exact-money JSON.

Everything that turns bytes into models or models into bytes goes through here, so a change of wire rules (a
renamed key, how money is written) is one edit. The wire facts come from the generated models' field
metadata: ``"json"`` (wire key when it differs from the attribute name), ``"read_only"``, ``"expected"``
(the spec's ``x-may-be-absent``: a key the server should send but may not). Keys the spec does not list
are kept in the models' ``BooksModel`` slot (see :mod:`books_async._extra`).

Answers are read in one of two modes. **Tolerant** (the default) reads what the live API plausibly sends
beside the spec (:mod:`books_async._hooks`, :mod:`books_async._tolerance`); **strict** refuses each of those
with the path, for contract tests. Both keep unknown keys. Tolerance runs only after the fast, generated
structuring failed for an object, so a well-formed answer costs the same in both modes.

:func:`decode` first tries the generated msgspec path (:mod:`books_async._fast`), which builds the same models
or misses; every miss, and every error, is this module's.

Invariant: money is exact both ways. :func:`dumps` writes a ``Decimal``'s digits verbatim as a JSON number,
never through a float; :func:`loads` parses every fraction as a ``Decimal``, scale and all. Every decode
error names its path in wire keys and never a value. Why: ``docs/design/exact-decimals.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import NoneType
from typing import Any, Final, TypeVar, Union, get_args, overload

import attrs
import cattrs
import orjson
from cattrs.errors import ClassValidationError, IterableValidationError, StructureHandlerNotFoundError
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from books_async import _fast, _hooks, _tolerance, _typeinfo
from books_async._enums import OpenEnum
from books_async._exceptions import ResponseDecodeError
from books_async._extra import BooksModel
from books_async._types import JSON

__all__ = [
    "decode",
    "dumps",
    "explain",
    "loads",
    "structure",
    "unstructure",
    "unstructure_request",
]

T = TypeVar("T")

_PRIMITIVES: Final = (str, int, float, bool)


def _needs_union_hook(tp: object) -> bool:
    """Unions cattrs cannot structure itself: any with a list member (pitfall 9) or a primitive."""
    if not _typeinfo.is_union(tp):
        return False
    members = [m for m in get_args(tp) if m is not NoneType]
    return len(members) > 1 and any(_typeinfo.is_list_type(m) or m in _PRIMITIVES for m in members)


def _make_union_hook(tp: Any, converter: cattrs.Converter) -> Callable[[object, type], object]:
    """Dispatch on the JSON shape: null, array, exact primitive, then the one remaining member."""
    members = [m for m in get_args(tp) if m is not NoneType]
    nullable = len(members) < len(get_args(tp))
    lists = [m for m in members if _typeinfo.is_list_type(m)]
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
        raise _hooks.HookError(f"expected {_typeinfo.type_name(tp)}, received {_typeinfo.received(value)}")

    return structure_union


def _make_optional_hook(tp: Any, converter: cattrs.Converter) -> Callable[[object, type], object]:
    # cattrs' generic Optional handling dispatches on the inner type on every call; resolving the inner
    # hook once, here, takes ~9 % off decoding a response (benchmarks B1/B3).
    inner = _typeinfo.without_none(tp)
    inner_hook = converter.get_structure_hook(inner)

    def structure_optional(value: object, _: type) -> object:
        return None if value is None else inner_hook(value, inner)

    return structure_optional


def _make_model_hook_factory(
    strict: bool, enum_hook_for: Callable[[type[Enum]], _hooks.EnumHook]
) -> Callable[[Any, cattrs.Converter], Any]:
    def make_model_hook(cls: Any, converter: cattrs.Converter) -> Any:
        attrs.resolve_types(cls)
        fields = [a for a in attrs.fields(cls) if a.init]
        overrides: dict[str, Any] = {}
        for a in fields:
            options: dict[str, Any] = {}
            if "json" in a.metadata:
                options["rename"] = a.metadata["json"]
            if a.metadata.get("expected") and _typeinfo.is_optional(a.type):
                # Typed `X | None` so absence can be honest, but the server is meant to send a value: the fast
                # path refuses null, which sends the object through recovery (tolerant) or fails it (strict).
                # (An enum's own hook, not the OpenEnum dispatcher: the override is called with the union.)
                inner = _typeinfo.without_none(a.type)
                options["struct_hook"] = (
                    enum_hook_for(inner)
                    if _hooks.is_open_enum(inner)
                    else converter.get_structure_hook(inner)
                )
            if options:
                overrides[a.name] = override(**options)
        # Unknown keys are not refused (forbid_extra_keys=False): they are kept, below.
        fast = make_dict_structure_fn(cls, converter, **overrides)
        known = frozenset(_typeinfo.wire_key(a) for a in fields)
        # Generated models have the slot; a hand-made attrs class without one just drops unknown keys.
        keeps_extra = issubclass(cls, BooksModel)
        recover = (
            None
            if strict
            else _tolerance.make_recovery(cls, fields, converter.get_structure_hook, keeps_extra=keeps_extra)
        )

        def structure_model(data: Any, _: type) -> object:
            try:
                model = fast(data, cls)
            except Exception as exc:
                if recover is None:
                    raise
                model = recover(data, exc)
            if keeps_extra and not known.issuperset(data):
                _tolerance.keep_extra(model, {k: v for k, v in data.items() if k not in known})
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
    conv.register_structure_hook(str, _hooks.structure_str if strict else _hooks.structure_str_tolerant)
    conv.register_structure_hook(int, _hooks.structure_int)
    conv.register_structure_hook(float, _hooks.structure_float)
    conv.register_structure_hook(bool, _hooks.structure_bool)
    conv.register_structure_hook(Decimal, _hooks.make_decimal_hook(numeric_strings=not strict))
    conv.register_structure_hook(date, _hooks.structure_date if strict else _hooks.structure_date_tolerant)
    conv.register_structure_hook(datetime, _hooks.structure_datetime)
    conv.register_unstructure_hook(Decimal, identity)  # dumps() writes the exact digits
    conv.register_unstructure_hook(date, _hooks.unstructure_date)
    conv.register_unstructure_hook(datetime, _hooks.unstructure_datetime)
    enum_hook_for = _hooks.make_enum_hook_factory(open_values=not strict)
    conv.register_structure_hook_factory(_hooks.is_enum, enum_hook_for)
    conv.register_structure_hook(OpenEnum, _hooks.dispatch_open_enum(enum_hook_for))
    conv.register_unstructure_hook_func(_hooks.is_enum, _hooks.unstructure_enum)
    conv.register_structure_hook_factory(_hooks.is_literal, _hooks.make_literal_hook)
    conv.register_structure_hook_factory(_needs_union_hook, _make_union_hook)
    conv.register_structure_hook_factory(_typeinfo.is_optional, _make_optional_hook)
    # `object` is a free-form JSON value (ValidateRequest.payload's values): kept as parsed. A
    # predicate, not register_structure_hook(object, ...), which would catch every class.
    conv.register_structure_hook_func(lambda t: t is object, _hooks.passthrough)
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


def dumps(obj: JSON, *, indent: bool = False) -> bytes:
    """Serialise to compact JSON bytes (indented by 2 with ``indent``), each ``Decimal``'s digits exact.

    Raises:
        orjson.JSONEncodeError: (a ``TypeError``) a value is not JSON, or is a NaN/infinite Decimal.
    """
    if indent:
        return orjson.dumps(obj, default=_dumps_default, option=orjson.OPT_INDENT_2)
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


def _error_lines(exc: BaseException, path: str, expected: object = None) -> Iterable[str]:
    """Flatten cattrs' detailed errors into ``"<what> at <path>"``, naming keys as the wire does."""
    if isinstance(exc, ClassValidationError):
        keys = {a.name: _typeinfo.wire_key(a) for a in attrs.fields(exc.cl)} if attrs.has(exc.cl) else {}
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
    elif isinstance(exc, _hooks.HookError):
        yield f"{exc} at {path}"
    else:
        # Other messages (fromisoformat's, Enum's) quote the value, which may be personal data.
        what = (
            f"invalid {_typeinfo.type_name(expected)}"
            if expected is not None
            else f"invalid value ({type(exc).__name__})"
        )
        yield f"{what} at {path}"


def explain(exc: BaseException) -> str:
    """Describe a structuring failure by its first paths, in wire keys, naming no value."""
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
    # The generated msgspec path builds the same models for any answer it accepts cleanly; otherwise (MISS)
    # the reference path below decides and words the error (books_async/_fast.py).
    fast = _fast.decode(raw, tp, strict)
    if fast is not _fast.MISS:
        return fast
    prefix = f"{where}: " if where else ""
    try:
        data = loads(raw)
    # UnicodeDecodeError is a ValueError; RecursionError is json's answer to absurdly deep nesting.
    except (ValueError, RecursionError) as exc:
        raise ResponseDecodeError(
            f"{prefix}the response body is not valid JSON (expected {_typeinfo.type_name(tp)}). "
            "The API or a proxy answered with something else; retry, or report it if it persists."
        ) from exc
    try:
        return (_strict_converter if strict else _converter).structure(data, _as_type(tp))
    except Exception as exc:  # whatever cattrs or a hook raised: described by path, then chained
        raise ResponseDecodeError(
            f"{prefix}the response body does not match {_typeinfo.type_name(tp)}: {explain(exc)}. "
            "The API may have changed; upgrade books-async, or report it with this message."
        ) from exc

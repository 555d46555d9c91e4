"""JSON <-> attrs models: the one cattrs converter, exact-money JSON, request-side validation.

Everything that turns bytes into models or models into bytes goes through here, so a change of
wire rules (a renamed key, how money is written) is one edit. The wire facts come from the
generated models' field metadata: ``"json"`` (wire key when it differs from the attribute name),
``"read_only"``, ``"write_only"``, ``"pattern"`` and the JSON Schema bounds ``"minimum"``,
``"maximum"``, ``"exclusive_minimum"``, ``"exclusive_maximum"``, ``"min_length"``, ``"max_length"``,
``"min_items"``, ``"max_items"``.

Money is exact both ways, whatever its number of digits:

* Out: a ``Decimal`` stays a ``Decimal`` until :func:`dumps`, which writes its digits verbatim as a
  JSON number (``Decimal("1500.00")`` -> ``1500.00``), never through a float.
* In: :func:`loads` is ``json.loads(parse_float=Decimal)``, so ``1500.00`` arrives as
  ``Decimal("1500.00")``, scale and all. On a 100-invoice page it decodes in ~7.1 ms against
  ~9.1 ms for ``orjson.loads`` plus ``Decimal(repr(float))`` in the hook: the parse is ~2.5 ms
  slower, but the ~6,700 float -> str -> Decimal trips it saves cost more
  (``benchmarks/serde_detailed_validation.py``). The hook still takes floats, for data parsed
  elsewhere: ``repr(float)`` gives back any number of at most 15 significant digits unchanged
  (``sys.float_info.dig``), i.e. every amount below 10 000 000 000 000 rupees to the paisa, with
  the scale lost (``1500.0``). Numeric strings (``"1500.00"``) are accepted too.

Structuring runs with cattrs' ``detailed_validation`` on: on that page it costs 2-5 % (try blocks
are free on 3.11 until they catch), and it gives every decode error its path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from datetime import date, datetime, timedelta
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

from ._exceptions import ErrorDetail, InvalidRequestError, ResponseDecodeError
from ._types import JSON

__all__ = [
    "decode",
    "dumps",
    "loads",
    "structure",
    "unstructure",
    "unstructure_request",
    "validate_request",
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


# --- structure hooks: strict, because a 2xx body that is off-spec should fail loudly, not be coerced


class _HookError(ValueError):
    """A value did not fit its type; the message names types only, so it is safe to show."""


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
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


def _structure_decimal(value: object, _: type) -> Decimal:
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
    elif isinstance(value, str):
        if _NUMBER.fullmatch(value) is None:
            raise _HookError("expected a number or a numeric string, received a non-numeric string")
        return _structure_decimal(Decimal(value), _)
    else:
        raise _HookError(f"expected a number, received {_received(value)}")
    raise _HookError("expected a finite number, received NaN or Infinity")


def _structure_date(value: object, _: type) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _HookError("expected an ISO date (YYYY-MM-DD), received another string") from None
    raise _HookError(f"expected an ISO date string, received {_received(value)}")


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)  # accepts a trailing "Z" from Python 3.11 on
        except ValueError:
            raise _HookError("expected an ISO date-time, received another string") from None
    raise _HookError(f"expected an ISO date-time string, received {_received(value)}")


def _make_enum_hook(cls: type[Enum]) -> Callable[[object, type], Enum]:
    # A dict lookup instead of calling the class: faster, and the error names no value.
    members = {m.value: m for m in cls}
    expected = " | ".join(repr(v) for v in members)

    def structure_enum(value: object, _: type) -> Enum:
        try:
            return members[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value such as a list
            raise _HookError(f"expected one of {expected}, received another {_received(value)}") from None

    return structure_enum


def _is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, Enum)


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
    # validate_request accepts an enum's wire value as a plain str, so let it through as is.
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


def _make_optional_hook(tp: Any, converter: cattrs.Converter) -> Callable[[object, type], object]:
    # cattrs' generic Optional handling dispatches on the inner type on every call; resolving the inner
    # hook once, here, takes ~9 % off decoding a response (benchmarks B1/B3).
    (inner,) = (a for a in get_args(tp) if a is not NoneType)
    inner_hook = converter.get_structure_hook(inner)

    def structure_optional(value: object, _: type) -> object:
        return None if value is None else inner_hook(value, inner)

    return structure_optional


def _build_converter(*, detailed: bool = True, request: bool = False) -> cattrs.Converter:
    """Build a converter; hooks for each class are generated lazily, on its first use.

    ``detailed`` is cattrs' detailed validation (paths in errors; the benchmark turns it off to
    compare). ``request`` makes the attrs unstructure hooks drop read-only fields: the request
    converter differs from the response one only there, so the two are built by this one function.
    """
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(date, _structure_date)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(Decimal, identity)  # dumps() writes the exact digits
    conv.register_unstructure_hook(date, _unstructure_date)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_structure_hook_factory(_is_enum, _make_enum_hook)
    conv.register_unstructure_hook_func(_is_enum, _unstructure_enum)
    conv.register_structure_hook_factory(_needs_union_hook, _make_union_hook)
    conv.register_structure_hook_factory(_is_optional, _make_optional_hook)
    # `object` is a free-form JSON value (ValidateRequest.payload's values): kept as parsed. A
    # predicate, not register_structure_hook(object, ...), which would catch every class.
    conv.register_structure_hook_func(lambda t: t is object, _passthrough)

    @conv.register_structure_hook_factory(attrs.has)
    def _attrs_structure(cls: Any, converter: cattrs.Converter) -> Any:
        attrs.resolve_types(cls)
        renames: dict[str, Any] = {
            a.name: override(rename=a.metadata["json"]) for a in attrs.fields(cls) if "json" in a.metadata
        }
        # Unknown keys are ignored (forbid_extra_keys=False above): servers add fields.
        return make_dict_structure_fn(cls, converter, **renames)

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
def structure(data: object, tp: type[T]) -> T: ...
@overload
def structure(data: object, tp: object) -> object: ...
def structure(data: object, tp: object) -> object:
    """Build ``tp`` (a model, ``list[Model]``, a union, ...) from parsed JSON.

    Raises whatever cattrs or the hooks raise; prefer :func:`decode`, which turns any failure into
    :class:`~books_async.ResponseDecodeError`.
    """
    return _converter.structure(data, _as_type(tp))


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
def decode(raw: bytes | str, tp: type[T], *, where: str = "") -> T: ...
@overload
def decode(raw: bytes | str, tp: object, *, where: str = "") -> object: ...
def decode(raw: bytes | str, tp: object, *, where: str = "") -> object:
    """Parse a response body and build ``tp`` from it.

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
        return _converter.structure(data, _as_type(tp))
    except Exception as exc:  # whatever cattrs or a hook raised: described by path, then chained
        raise ResponseDecodeError(
            f"{prefix}the response body does not match {_type_name(tp)}: {_explain(exc)}. "
            "The API may have changed; upgrade books-async, or report it with this message."
        ) from exc


# --- request-side validation, before anything is sent

_Path = tuple[str | int, ...]
_Check = Callable[[object, _Path, list[ErrorDetail]], None]


@attrs.frozen
class _FieldPlan:
    name: str
    wire: str
    check: _Check


_plans: dict[type, tuple[_FieldPlan, ...]] = {}


def _plan(cls: type) -> tuple[_FieldPlan, ...]:
    """Return (and cache) how to check each field a request of ``cls`` sends."""
    plan = _plans.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        plan = tuple(
            _FieldPlan(a.name, _wire_key(a), _checker(a.type, a.metadata))
            for a in attrs.fields(cls)
            if not a.metadata.get("read_only")  # never sent, so never checked
        )
        _plans[cls] = plan
    return plan


def _check_model(obj: object, path: _Path, out: list[ErrorDetail]) -> None:
    for field in _plan(type(obj)):
        field.check(getattr(obj, field.name), (*path, field.wire), out)


def _as_decimal(bound: object) -> Decimal:
    # Bounds come from the spec as int or float literals; repr keeps 0.01 as 0.01.
    return Decimal(repr(bound)) if isinstance(bound, float) else Decimal(str(bound))


def _bounds_check(
    md: Mapping[str, object],
) -> Callable[[Decimal | int | float, _Path, list[ErrorDetail]], None]:
    rules: list[tuple[Decimal, str, str, Callable[[Decimal, Decimal], bool]]] = []
    for key, code, words, ok in (
        ("minimum", "too_small", "greater than or equal to", Decimal.__ge__),
        ("exclusive_minimum", "too_small", "greater than", Decimal.__gt__),
        ("maximum", "too_big", "less than or equal to", Decimal.__le__),
        ("exclusive_maximum", "too_big", "less than", Decimal.__lt__),
    ):
        if md.get(key) is not None:
            rules.append((_as_decimal(md[key]), code, f"Number must be {words} {md[key]}", ok))

    def check(value: Decimal | int | float, path: _Path, out: list[ErrorDetail]) -> None:
        number = value if isinstance(value, Decimal) else _as_decimal(value)
        for bound, code, message, ok in rules:
            if not ok(number, bound):
                out.append(ErrorDetail(path=path, message=message, code=code))

    return check


def _size_check(md: Mapping[str, object], low: str, high: str, noun: str, unit: str) -> _Check:
    lo, hi = md.get(low), md.get(high)

    def check(value: object, path: _Path, out: list[ErrorDetail]) -> None:
        size = len(value)  # type: ignore[arg-type]  # only called on str or sequences
        if isinstance(lo, int) and size < lo:
            out.append(ErrorDetail(path, f"{noun} must contain at least {lo} {unit}(s)", "too_small"))
        if isinstance(hi, int) and size > hi:
            out.append(ErrorDetail(path, f"{noun} must contain at most {hi} {unit}(s)", "too_big"))

    return check


def _invalid_type(expected: str, value: object, path: _Path, out: list[ErrorDetail]) -> None:
    out.append(ErrorDetail(path, f"Expected {expected}, received {_received(value)}", "invalid_type"))


def _checker(tp: Any, md: Mapping[str, object]) -> _Check:
    """Compile the checks for one field's type and metadata; unknown types are not checked."""
    if _is_union(tp):
        return _union_checker(tp, md)
    if tp is str:
        sizes = _size_check(md, "min_length", "max_length", "String", "character")
        pattern = md.get("pattern")
        # JSON Schema patterns are unanchored searches; the spec's own ^...$ do the anchoring.
        regex = re.compile(pattern) if isinstance(pattern, str) else None

        def check_str(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, str):
                return _invalid_type("string", value, path, out)
            sizes(value, path, out)
            if regex is not None and regex.search(value) is None:
                out.append(
                    ErrorDetail(path, f"String must match the pattern {regex.pattern}", "invalid_string")
                )
            return None

        return check_str
    if tp is Decimal or tp is int or tp is float:
        bounds = _bounds_check(md)

        def check_number(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                return _invalid_type(tp.__name__ if tp is not float else "number", value, path, out)
            if tp is Decimal and isinstance(value, float):
                message = "Expected Decimal, received float: use Decimal, not float (money must be exact)"
                out.append(ErrorDetail(path, message, "invalid_type"))
                return None
            if tp is int and not isinstance(value, int):
                return _invalid_type("integer", value, path, out)
            if (isinstance(value, Decimal) and not value.is_finite()) or (
                isinstance(value, float) and not math.isfinite(value)
            ):
                out.append(
                    ErrorDetail(path, "Expected a finite number, received NaN or Infinity", "invalid_type")
                )
                return None
            bounds(value, path, out)
            return None

        return check_number
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
                out.append(
                    ErrorDetail(
                        path, "Expected a timezone-aware datetime, received a naive one", "invalid_type"
                    )
                )

        return check_datetime
    if _is_enum(tp):
        values = {m.value for m in tp}
        expected = " | ".join(repr(m.value) for m in tp)

        def check_enum(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if isinstance(value, tp):
                return
            if isinstance(value, str):
                if value not in values:
                    out.append(
                        ErrorDetail(path, f"Invalid enum value. Expected {expected}", "invalid_enum_value")
                    )
                return
            _invalid_type(tp.__name__, value, path, out)

        return check_enum
    if get_origin(tp) is Literal:
        allowed = get_args(tp)
        expected_literal = " | ".join(repr(a) for a in allowed)

        def check_literal(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if value not in allowed:
                out.append(
                    ErrorDetail(
                        path, f"Invalid literal value, expected {expected_literal}", "invalid_literal"
                    )
                )

        return check_literal
    if get_origin(tp) in (dict, Mapping):

        def check_mapping(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, Mapping):
                _invalid_type("object", value, path, out)

        return check_mapping
    if attrs.has(tp):

        def check_model(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if isinstance(value, tp):
                _check_model(value, path, out)
            else:
                _invalid_type(tp.__name__, value, path, out)

        return check_model
    if _is_list_type(tp):
        (item_type,) = get_args(tp) or (object,)
        item = _checker(item_type, {})  # the field's bounds are about the array, not its items
        sizes = _size_check(md, "min_items", "max_items", "Array", "element")

        def check_list(value: object, path: _Path, out: list[ErrorDetail]) -> None:
            if not isinstance(value, list | tuple):
                return _invalid_type("array", value, path, out)
            sizes(value, path, out)
            for i, element in enumerate(value):
                item(element, (*path, i), out)
            return None

        return check_list
    return _unchecked


def _unchecked(value: object, path: _Path, out: list[ErrorDetail]) -> None:
    """Types the spec leaves open (a free-form JSON value) have nothing to check."""


def _union_checker(tp: Any, md: Mapping[str, object]) -> _Check:
    args = get_args(tp)
    members = [m for m in args if m is not NoneType]
    nullable = len(members) < len(args)
    lists = [_checker(m, md) for m in members if _is_list_type(m)]
    others = [_checker(m, md) for m in members if not _is_list_type(m)]
    expected = " | ".join(_type_name(m) for m in args)

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


def validate_request(body: object, model: type | None = None) -> None:
    """Check a request body against the spec's constraints before it is sent.

    ``body`` is a request model or a sequence of them (a bulk body); anything else (a raw JSON
    payload) is left to the API. Every failure is collected, with its path in wire keys, the way
    the API's 400 ``details`` report them.

    Raises:
        InvalidRequestError: one or more fields break the spec; ``details`` lists them all.
    """
    out: list[ErrorDetail] = []
    if attrs.has(type(body)):
        name = type(body).__name__
        _check_model(body, (), out)
    elif isinstance(body, Sequence) and not isinstance(body, str):
        kinds = sorted({type(item).__name__ for item in body if attrs.has(type(item))})
        name = f"list of {' | '.join(kinds) or 'items'}"
        for i, item in enumerate(body):
            if attrs.has(type(item)):
                _check_model(item, (i,), out)
    else:
        return
    if out:
        raise InvalidRequestError(
            f"Invalid {name}: {len(out)} problem{'s' if len(out) != 1 else ''}", details=out
        )

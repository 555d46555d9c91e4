"""The leaf structure hooks: one JSON value to one Python value, for both reading modes.

The strict hooks are also the tolerant mode's fast path; a tolerant variant differs only after the strict
check failed, so a well-formed answer costs the same in both modes. A hook raises :class:`HookError`, whose
message names types only, never the value. What tolerance reads is logged once per process and kind
(:func:`note_once`, bounded).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Final, Literal, get_args, get_origin

from books_async._enums import OpenEnum
from books_async._logging import log
from books_async._typeinfo import received

__all__ = [
    "EnumHook",
    "HookError",
    "dispatch_open_enum",
    "is_enum",
    "is_literal",
    "is_open_enum",
    "make_decimal_hook",
    "make_enum_hook_factory",
    "make_literal_hook",
    "note_once",
    "noted",
    "passthrough",
    "structure_bool",
    "structure_date",
    "structure_date_tolerant",
    "structure_datetime",
    "structure_float",
    "structure_int",
    "structure_str",
    "structure_str_tolerant",
    "unstructure_date",
    "unstructure_datetime",
    "unstructure_enum",
]

_ZERO: Final = timedelta(0)
# JSON's number grammar, loosened only to allow a leading "+" and a bare "1." / ".5"; no "_" or
# spaces, which Decimal() would otherwise accept silently.
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class HookError(ValueError):
    """A value did not fit its type; the message names types only, so it is safe to show."""


_IST: Final = timezone(timedelta(hours=5, minutes=30))
# Bounds what a server sending ever-new keys or values can make us remember (and log).
_MAX_NOTES: Final = 1000
noted: set[tuple[str, ...]] = set()


def note_once(level: int, key: tuple[str, ...], message: str, *args: object) -> None:
    """Log ``message`` the first time ``key`` is seen in this process."""
    if key in noted or len(noted) >= _MAX_NOTES:
        return
    noted.add(key)
    log.log(level, message, *args)


def structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise HookError(f"expected a string, received {received(value)}")


def structure_str_tolerant(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    # A populated reference ({"_id": ..., "name": ...} where an id is declared) reads as its id.
    if isinstance(value, Mapping) and isinstance(ref := value.get("_id"), str):
        note_once(
            logging.INFO,
            ("populated-ref",),
            "The API sent objects where ids are declared; reading their _id.",
        )
        return ref
    raise HookError(f"expected a string, received {received(value)}")


def structure_int(value: object, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise HookError(f"expected an integer, received {received(value)}")


def structure_float(value: object, _: type) -> float:
    # loads() makes every fractional number a Decimal, including those of plain float fields.
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    raise HookError(f"expected a number, received {received(value)}")


def structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise HookError(f"expected a boolean, received {received(value)}")


def make_decimal_hook(*, numeric_strings: bool) -> Callable[[object, type], Decimal]:
    def structure_decimal(value: object, _: type) -> Decimal:
        # The hottest hook (every money field of every response): Decimal first, as loads() makes them.
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
        elif isinstance(value, float):
            if math.isfinite(value):
                return Decimal(repr(value))  # never Decimal(value): that keeps the binary error
        elif isinstance(value, bool):
            raise HookError("expected a number, received boolean")
        elif isinstance(value, int):
            return Decimal(value)
        elif isinstance(value, str) and numeric_strings:
            # Decimal() alone would also take "NaN", "1_000" and full-width digits.
            if _NUMBER.fullmatch(value) is None:
                raise HookError("expected a number or a numeric string, received a non-numeric string")
            return structure_decimal(Decimal(value), _)
        else:
            raise HookError(f"expected a number, received {received(value)}")
        raise HookError("expected a finite number, received NaN or Infinity")

    return structure_decimal


def structure_date(value: object, _: type) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise HookError("expected an ISO date (YYYY-MM-DD), received another string") from None
    raise HookError(f"expected an ISO date string, received {received(value)}")


def structure_date_tolerant(value: object, _: type) -> date:
    if isinstance(value, str):
        # Every form date.fromisoformat takes is at most 10 characters: a longer string can only be a
        # date-time, and trying it as a date first would raise for each one of a live answer's dates.
        if len(value) <= 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        # A MongoDB Date serialises as a UTC date-time (2026-03-13T18:30:00.000Z for midnight in India). The
        # GST date of a document is an Indian date, so the calendar date is taken in India's time zone.
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise HookError("expected an ISO date or date-time, received another string") from None
        note_once(
            logging.INFO,
            ("datetime-for-date",),
            "The API sent date-times where dates are declared; reading their calendar date in India (IST).",
        )
        return (moment.astimezone(_IST) if moment.tzinfo is not None else moment).date()
    raise HookError(f"expected an ISO date string, received {received(value)}")


def structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)  # accepts a trailing "Z" from Python 3.11 on
        except ValueError:
            raise HookError("expected an ISO date-time, received another string") from None
    raise HookError(f"expected an ISO date-time string, received {received(value)}")


EnumHook = Callable[[object, type], Enum]


def make_enum_hook_factory(*, open_values: bool) -> Callable[[type[Enum]], EnumHook]:
    made: dict[type[Enum], EnumHook] = {}

    def enum_hook_for(cls: type[Enum]) -> EnumHook:
        hook = made.get(cls)
        if hook is None:
            hook = made[cls] = make_enum_hook(cls)
        return hook

    def make_enum_hook(cls: type[Enum]) -> EnumHook:
        # A dict lookup instead of calling the class: faster, and the error names no value.
        members = {m.value: m for m in cls}
        expected = " | ".join(repr(v) for v in members)
        accepts_unknown = open_values and issubclass(cls, OpenEnum)

        def structure_enum(value: object, _: type) -> Enum:
            try:
                return members[value]
            except (KeyError, TypeError):  # TypeError: an unhashable value such as a list
                if accepts_unknown and isinstance(value, str):
                    note_once(
                        logging.WARNING,
                        ("enum", cls.__name__, value[:40]),
                        "%s: the API sent %r, a value the spec does not list; kept (is_known() is False).",
                        cls.__name__,
                        value[:40],
                    )
                    return cls(value)
                raise HookError(f"expected one of {expected}, received another {received(value)}") from None

        return structure_enum

    return enum_hook_for


def dispatch_open_enum(enum_hook_for: Callable[[type[Enum]], EnumHook]) -> EnumHook:
    # An OpenEnum is a str, and cattrs consults its class-based hooks (where `str` is) before any
    # predicate: this class-based hook for OpenEnum, the closer base, routes each enum to its own hook.
    def structure_open_enum(value: object, cls: type) -> Enum:
        return enum_hook_for(cls)(value, cls)

    return structure_open_enum


def is_open_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, OpenEnum)


def is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, Enum)


def is_literal(tp: object) -> bool:
    return get_origin(tp) is Literal


def make_literal_hook(tp: object) -> Callable[[object, type], object]:
    # cattrs' own Literal hook reads the allowed values from its second argument, which a field override
    # passes as the field's whole type (`Literal[...] | None`); this one closes over them instead.
    allowed = get_args(tp)
    expected = " | ".join(repr(a) for a in allowed)

    def structure_literal(value: object, _: type) -> object:
        if any(value == a and type(value) is type(a) for a in allowed):
            return value
        raise HookError(f"expected {expected}, received another {received(value)}")

    return structure_literal


def passthrough(value: object, _: type) -> object:
    return value


def unstructure_date(value: date) -> str:
    return value.isoformat()


def unstructure_datetime(value: datetime) -> str:
    # The API writes UTC as "Z" and milliseconds (JavaScript's toISOString); we write both the same way, so a
    # timestamp read from it is written back as it came. Finer fractions are kept whole.
    timespec = "milliseconds" if value.microsecond and not value.microsecond % 1000 else "auto"
    if value.utcoffset() == _ZERO:
        return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
    return value.isoformat(timespec=timespec)


def unstructure_enum(value: object) -> object:
    # Request checks accept an enum's wire value as a plain str, so let it through as is.
    return value.value if isinstance(value, Enum) else value

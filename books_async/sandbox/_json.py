"""JSON in and out of the sandbox: exact Decimals both ways, orjson for speed on the way out."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson

__all__ = ["JSONError", "dumps", "loads_body", "loads_stored"]


class JSONError(ValueError):
    """A request body that is not JSON (or uses NaN/Infinity, which JSON does not have)."""


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        # A Fragment is written verbatim: the number keeps its exact digits and scale ("1500.00").
        return orjson.Fragment(format(obj, "f"))
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def dumps(obj: object) -> bytes:
    """Return the JSON bytes of ``obj``; Decimals become JSON numbers with their exact text."""
    return orjson.dumps(obj, default=_default)


def _reject_constant(name: str) -> object:
    raise JSONError(f"{name} is not valid JSON")


def loads_body(raw: bytes) -> object:
    """Parse a request body, reading every non-integer number as an exact Decimal.

    The stdlib parser is used (not orjson) because only it can hand us the number's text: a float would
    already have lost digits that the "at most 2 decimal places" rules must see.
    """
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except JSONError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JSONError("the body is not valid JSON") from exc


def loads_stored(raw: str | bytes) -> object:
    """Parse a document saved by the sandbox itself: every number in a stored document is a Decimal."""
    return json.loads(raw, parse_float=Decimal, parse_int=Decimal)

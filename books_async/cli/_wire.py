"""What ``--json`` and ``--jsonl`` print: a model's wire form (the API's keys), money as exact decimals.

:func:`wire` is the one place the CLI turns a model into JSON data; everything else goes through it.
"""

from __future__ import annotations

from decimal import Decimal

import orjson

from books_async import _serde
from books_async._types import JSON

__all__ = ["document", "line", "wire"]


def wire(model: object) -> JSON:
    """The model (or list of models) as the API sends it: wire keys, ``Decimal`` money, absent keys out."""
    return _serde.unstructure(model)


def _exact(value: object) -> orjson.Fragment:
    # The rule of the SDK's own writer: "f" keeps every digit of 1500.00 and never writes an exponent.
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def document(data: JSON) -> str:
    """One indented JSON document (``--json``): readable, and ``jq`` or ``head`` can work line by line."""
    return orjson.dumps(data, default=_exact, option=orjson.OPT_INDENT_2).decode()


def line(data: JSON) -> str:
    """One compact JSON document on a single line (``--jsonl``)."""
    return orjson.dumps(data, default=_exact).decode()

"""How reads are printed: a table for people, or the wire form with ``--json`` / ``--jsonl``."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import attrs

from books_async.cli._output import Output
from books_async.cli._resources import Resource
from books_async.cli._wire import document, line, wire
from books_async.models import Pagination

__all__ = ["Mode", "print_item", "print_items", "print_one", "title"]

Mode = Literal["table", "json", "jsonl"]


def cell(value: object, *, money: bool = False) -> str:
    """A value as a table shows it; a key the live API left out (``None``) is a dash, not "None"."""
    if value is None:
        return "-"
    if money and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return ", ".join(value) or "-"
        return f"{len(value)} item(s), shown by --json"
    fields = _fields(value)
    if fields is not None:
        return ", ".join(f"{name}={cell(v)}" for name, v in fields if v is not None)
    return str(value)


def _fields(value: object) -> list[tuple[str, object]] | None:
    """The fields of an attrs instance (every model is one), by name; ``None`` for anything else."""
    cls = type(value)
    if not attrs.has(cls):
        return None
    return [(field.name, getattr(value, field.name)) for field in attrs.fields(cls)]


def title(res: Resource, shown: int, pagination: Pagination | None, *, every_page: bool) -> str:
    """What the list is: how many rows out of how many, and where more are."""
    if pagination is None:
        return f"{shown} {res.name}"
    if every_page or pagination.pages <= 1:
        return f"{shown} of {pagination.total} {res.name}"
    return (
        f"{shown} of {pagination.total} {res.name} (page {pagination.page} of {pagination.pages}; "
        "--page N for another, --all for every page)"
    )


def print_items(
    output: Output,
    res: Resource,
    items: Sequence[object],
    pagination: Pagination | None,
    *,
    mode: Mode,
    every_page: bool,
) -> None:
    """Print a list: a table with the total, one document shaped as the API's page, or a line per item."""
    if mode == "json":
        output.line(document({"data": [wire(i) for i in items], "pagination": wire(pagination)}))
        return
    if mode == "jsonl":
        for item in items:
            print_item(output, item)
        return
    rows = [[cell(getattr(i, c.attribute), money=c.money) for c in res.columns] for i in items]
    right = {n for n, c in enumerate(res.columns) if c.money}
    output.table(
        title(res, len(items), pagination, every_page=every_page),
        [c.header for c in res.columns],
        rows,
        right=right,
    )


def print_item(output: Output, item: object) -> None:
    """One item as one JSON line (``--jsonl``)."""
    output.line(line(wire(item)))


def print_one(output: Output, model: object, *, mode: Mode, heading: str) -> None:
    """One document: its fields as a two-column table, or its wire form."""
    if mode == "json":
        output.line(document(wire(model)))
        return
    if mode == "jsonl":
        print_item(output, model)
        return
    rows = [[name, cell(value)] for name, value in _fields(model) or () if value is not None]
    output.table(heading, ["field", "value"], rows)

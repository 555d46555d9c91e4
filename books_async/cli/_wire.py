"""What ``--json`` and ``--jsonl`` print: a model's wire form (the API's keys), money as exact decimals.

:func:`wire` is the one place the CLI turns a model into JSON data; everything else goes through it.
"""

from __future__ import annotations

from books_async import _serde
from books_async._extra import BooksModel
from books_async._types import JSON

__all__ = ["document", "line", "wire"]


def wire(model: object) -> JSON:
    """The model as the API sent it: wire keys, ``Decimal`` money, unknown keys the server sent kept."""
    if isinstance(model, BooksModel):
        return model.to_dict()
    return _serde.unstructure(model)  # None (a page without pagination), or a list of models


def document(data: JSON) -> str:
    """One indented JSON document (``--json``): readable, and ``jq`` or ``head`` can work line by line."""
    return _serde.dumps(data, indent=True).decode()


def line(data: JSON) -> str:
    """One compact JSON document on a single line (``--jsonl``)."""
    return _serde.dumps(data).decode()

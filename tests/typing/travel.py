"""Type-checked, never run: models leaving the SDK as dicts, JSON text and pydantic/FastAPI types."""

from __future__ import annotations

from typing import assert_type

from pydantic import TypeAdapter

from books_async._types import JSON
from books_async.models import Invoice, InvoiceList


def as_dict(invoice: Invoice) -> dict[str, JSON]:
    assert_type(invoice.to_dict(), dict[str, JSON])
    return invoice.to_dict(by_alias=False, include_extra=False)


def as_text(page: InvoiceList) -> bytes:
    assert_type(page.to_json(), str)
    return page.to_json(indent=None).encode()


def through_pydantic(invoice: Invoice) -> Invoice:
    adapter = TypeAdapter(Invoice)
    return adapter.validate_json(adapter.dump_json(invoice))

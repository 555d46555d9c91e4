"""What the bulk tests build and count: sized invoice drafts, body sizes, and what the sandbox stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from books_async import _serde
from books_async.models import InvoiceCreate, ItemType, LineItemCreate
from books_async.sandbox import Sandbox
from tests.factories import line

DAY = date(2026, 11, 2)
MISSING_ID = "0123456789abcdef01234567"


def bolts(description: str = "Steel bolts", quantity: int = 2) -> LineItemCreate:
    return line(quantity, "12.50", item_type=ItemType.product, description=description, hsn_sac="7318")


def draft(customer_id: str, number: str | None = None, *, lines: int = 1, width: int = 20) -> InvoiceCreate:
    """An invoice of about ``lines * (width + 110)`` bytes on the wire."""
    return InvoiceCreate(
        customer_id=customer_id,
        invoice_date=DAY,
        invoice_number=number,
        line_items=[bolts("x" * width) for _ in range(lines)],
    )


def size_of(item: object) -> int:
    return len(_serde.dumps(_serde.unstructure_request(item)))


def numbers_in(sb: Sandbox, prefix: str) -> list[str]:
    docs = sb.store.space(sb.org_id)["invoices"].values()
    return [str(r.doc["invoice_number"]) for r in docs if str(r.doc["invoice_number"]).startswith(prefix)]


def listing(directory: Path, pattern: str = "*") -> list[str]:
    """The names in ``directory`` (hidden ones included), sorted; a plain function, for async tests."""
    return sorted(p.name for p in directory.glob(pattern)) + sorted(
        p.name for p in directory.glob("." + pattern)
    )


def posts(sb: Sandbox, path: str) -> int:
    return sum(1 for entry in sb.request_log if entry[2] == "POST" and entry[3].endswith(path))

"""Builders for what tests send: typed models (``line``, ``invoice``, ``customer``), the same bodies as wire
dicts (``line_dict``, ``invoice_dict``), and a sandbox client with another key (``client``). Each is valid
by default and takes keyword overrides, so a test names only what it is about. Strings given for money
become exact Decimals; wrong types on purpose go through ``attrs.evolve`` on a built model, so that no
builder coerces them away."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from books_async import BooksClient
from books_async.models import (
    Address,
    CustomerCreate,
    CustomerType,
    InvoiceCreate,
    ItemType,
    LineItemCreate,
)
from books_async.sandbox import Sandbox

__all__ = [
    "ADDRESS",
    "DAY",
    "OBJECT_ID",
    "bolts_invoice",
    "client",
    "customer",
    "invoice",
    "invoice_dict",
    "line",
    "line_dict",
]

# Far in the future, so no invoice built here turns overdue while the suite runs.
DAY = date(2099, 4, 1)
# Shaped like the API's MongoDB ids; no server has it unless a test puts it there.
OBJECT_ID = "65a1b2c3d4e5f60718293a4c"
# Maharashtra (27), the sandbox organisation's own state: customers here are intra-state.
ADDRESS = Address(line1="1 MG Road", city="Pune", state_code="27", pincode="411001")


def line(
    quantity: str | int = "2",
    rate: str | int = "1000.00",
    gst_rate: str | int = "18",
    *,
    item_type: ItemType = ItemType.service,
    description: str = "Consulting",
    discount: str | None = None,
    **fields: object,
) -> LineItemCreate:
    """A line item: 2 x 1000.00 of a service at 18 % unless told otherwise; ``fields`` set the rest."""
    item = LineItemCreate(
        item_type=item_type,
        description=description,
        quantity=Decimal(quantity),
        rate=Decimal(rate),
        gst_rate=Decimal(gst_rate),
        discount=None if discount is None else Decimal(discount),
    )
    return attrs.evolve(item, **fields) if fields else item


def invoice(customer_id: str = OBJECT_ID, *lines: LineItemCreate, **fields: object) -> InvoiceCreate:
    """An InvoiceCreate dated :data:`DAY` with ``lines`` (one default :func:`line` if none)."""
    body = InvoiceCreate(customer_id=customer_id, invoice_date=DAY, line_items=list(lines) or [line()])
    return attrs.evolve(body, **fields) if fields else body


def customer(kind: CustomerType = CustomerType.B2C, name: str = "Asha", **fields: object) -> CustomerCreate:
    """A CustomerCreate billed at :data:`ADDRESS`; a B2B one needs ``gstin=`` to be valid."""
    body = CustomerCreate(type=kind, name=name, billing_address=ADDRESS)
    return attrs.evolve(body, **fields) if fields else body


def bolts_invoice(lines: int = 1) -> InvoiceCreate:
    """An invoice of ``lines`` equal product lines (boxes of bolts with HSN code and unit), for size tests."""
    bolts = line(
        10,
        "150.00",
        item_type=ItemType.product,
        description="Steel bolts, zinc plated, M8 x 40 mm, box of one hundred pieces",
        hsn_sac="7318",
        unit="NOS",
    )
    return invoice(OBJECT_ID, *[bolts] * lines)


def client(sandbox: Sandbox, key: str, **options: object) -> BooksClient:
    """A client of ``sandbox`` with ``key`` (another role's, org's or app's), and no client-side limit."""
    options.setdefault("rate_limit", None)
    return BooksClient(key, base_url=sandbox.base_url, **options)  # type: ignore[arg-type]


def line_dict(**fields: object) -> dict[str, object]:
    """A LineItemCreate on the wire: a 2 x 1000 service line at 18 % unless overridden."""
    return {
        "item_type": "service",
        "description": "Consulting",
        "quantity": 2,
        "rate": 1000,
        "gst_rate": 18,
        **fields,
    }


def invoice_dict(customer_id: str, *lines: dict[str, object], **fields: object) -> dict[str, object]:
    """An InvoiceCreate on the wire, dated 2099-04-01, with ``lines`` (one :func:`line_dict` if none)."""
    return {
        "customer_id": customer_id,
        "invoice_date": DAY.isoformat(),
        "line_items": list(lines) or [line_dict()],
        **fields,
    }

"""Optional GST fields through the SDK: sent only when set, read back typed, with the sandbox's totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from books_async import BooksClient
from books_async._serde import unstructure_request
from books_async.models import ExportType, InvoiceCreate, ItemType, LineItemCreate
from books_async.sandbox import Sandbox
from tests.factories import OBJECT_ID


def _customer(sandbox: Sandbox) -> str:
    seed = sandbox.seed
    assert seed is not None
    return seed.customer_b2b_intra


def _invoice(customer_id: str, **extra: object) -> InvoiceCreate:
    line = LineItemCreate(
        item_type=ItemType.service,
        description="Consulting",
        quantity=Decimal(2),
        rate=Decimal("1000.00"),
        gst_rate=Decimal(18),
        cess_rate=extra.pop("cess_rate", None),  # type: ignore[arg-type]
    )
    return InvoiceCreate(customer_id=customer_id, invoice_date=date(2026, 4, 1), line_items=[line], **extra)  # type: ignore[arg-type]


def test_unset_gst_fields_are_not_sent() -> None:
    """No export_type, reverse_charge or cess_rate keys on the wire unless set."""
    wire = unstructure_request(_invoice(OBJECT_ID))
    assert isinstance(wire, dict)
    assert not {"export_type", "reverse_charge"} & set(wire)
    assert "cess_rate" not in wire["line_items"][0]  # type: ignore[index,call-overload]


def test_set_gst_fields_are_sent_in_wire_form() -> None:
    """Set, they travel as the spec's values: "lut", true, and a number."""
    body = _invoice(
        OBJECT_ID, export_type=ExportType.lut, place_of_supply="96", reverse_charge=True, cess_rate=Decimal(5)
    )
    wire = unstructure_request(body)
    assert isinstance(wire, dict)
    assert (wire["export_type"], wire["reverse_charge"]) == ("lut", True)
    assert wire["line_items"][0]["cess_rate"] == Decimal(5)  # type: ignore[index,call-overload]


async def test_export_under_lut_round_trips(books: BooksClient, sandbox: Sandbox) -> None:
    """An LUT export comes back with export_type lut, no IGST and a total of the taxable value."""
    invoice = await books.invoices.create(
        _invoice(_customer(sandbox), export_type=ExportType.lut, place_of_supply="96")
    )
    assert invoice.export_type is ExportType.lut
    assert (invoice.igst_total, invoice.total) == (Decimal("0.00"), Decimal("2000.00"))


async def test_reverse_charge_and_cess_round_trip(books: BooksClient, sandbox: Sandbox) -> None:
    """Reverse charge with 5 % cess: tax 360.00 and cess 100.00 shown, 2000.00 owed."""
    invoice = await books.invoices.create(
        _invoice(_customer(sandbox), reverse_charge=True, cess_rate=Decimal(5))
    )
    assert invoice.reverse_charge is True
    assert (invoice.tax_total, invoice.cess_total) == (Decimal("360.00"), Decimal("100.00"))
    assert (invoice.total, invoice.balance_due) == (Decimal("2000.00"), Decimal("2000.00"))
    assert invoice.line_items is not None
    assert invoice.line_items[0].cess_amount == Decimal("100.00")

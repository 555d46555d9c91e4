"""Reading answers that differ from the spec: tolerant by default, strict on request.

These decode bodies shaped like what the live API plausibly sends (Next.js + the native MongoDB driver);
the same drifts over real sockets, through the client, are in tests/test_drift.py.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import orjson
import pytest

from books_async import ResponseDecodeError, _hooks, _serde, extra
from books_async.models import (
    Customer,
    CustomerList,
    CustomerType,
    Dashboard,
    Invoice,
    InvoiceList,
    InvoiceStatus,
    Pagination,
)

OID = "64f1a2b3c4d5e6f708192a3b"
CUSTOMER = "64f1a2b3c4d5e6f708192a3c"


def _invoice_wire(**changes: object) -> dict[str, object]:
    line = {
        "item_type": "product",
        "description": "Laptop",
        "quantity": 1,
        "rate": Decimal("1000.00"),
        "discount": 0,
        "gst_rate": 18,
        "amount": Decimal("1000.00"),
        "taxable_value": Decimal("1000.00"),
        "cgst_amount": Decimal("90.00"),
        "sgst_amount": Decimal("90.00"),
        "igst_amount": 0,
        "tax_amount": Decimal("180.00"),
        "total": Decimal("1180.00"),
    }
    wire: dict[str, object] = {
        "_id": OID,
        "invoice_number": "INV-1",
        "invoice_date": "2026-03-14",
        "due_date": "2026-03-28",
        "customer_id": CUSTOMER,
        "customer_name": "Asha Traders",
        "place_of_supply": "27",
        "supply_type": "intra_state",
        "status": "draft",
        "line_items": [line],
        "subtotal": Decimal("1000.00"),
        "discount_total": 0,
        "taxable_total": Decimal("1000.00"),
        "cgst_total": Decimal("90.00"),
        "sgst_total": Decimal("90.00"),
        "igst_total": 0,
        "tax_total": Decimal("180.00"),
        "round_off": 0,
        "total": Decimal("1180.00"),
        "amount_paid": 0,
        "balance_due": Decimal("1180.00"),
        "payments": [],
        "createdAt": "2026-03-14T06:00:00.000Z",
        "updatedAt": "2026-03-14T06:00:00.000Z",
    }
    wire.update(changes)
    return wire


def _page(rows: list[dict[str, object]], **pagination: object) -> bytes:
    where = {"page": 1, "limit": 20, "total": len(rows), "pages": 1, **pagination}
    return _serde.dumps({"data": rows, "pagination": where})


def _without(wire: dict[str, object], *keys: str) -> dict[str, object]:
    return {k: v for k, v in wire.items() if k not in keys}


@pytest.fixture(autouse=True)
def _fresh_notes() -> None:
    # Warnings are once per process; each test starts as a fresh process would.
    _hooks.noted.clear()


def test_a_well_formed_answer_reads_the_same_in_both_modes() -> None:
    body = _page([_invoice_wire()])
    tolerant = _serde.decode(body, InvoiceList)
    assert tolerant == _serde.decode(body, InvoiceList, strict=True)
    invoice = tolerant.data[0]
    assert invoice.total == Decimal("1180.00")
    assert str(invoice.total) == "1180.00"
    assert extra(invoice) == {}


def test_missing_computed_keys_read_as_none_with_one_warning_per_model_and_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [_without(_invoice_wire(_id=f"{i:024x}"), "round_off", "updatedAt") for i in range(5)]
    rows[0]["customer_name"] = None
    with caplog.at_level(logging.WARNING, logger="books_async"):
        page = _serde.decode(_page(rows), InvoiceList)
        _serde.decode(_page(rows), InvoiceList)
    assert [inv.round_off for inv in page.data] == [None] * 5
    assert page.data[0].updated_at is None
    assert page.data[0].customer_name is None
    assert page.data[1].customer_name == "Asha Traders"
    assert page.data[0].total == Decimal("1180.00")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert any("Invoice.round_off" in m and "key absent" in m for m in messages)
    assert any("Invoice.updatedAt" in m for m in messages)
    assert any("Invoice.customer_name" in m and "null" in m for m in messages)
    assert all("Asha" not in m for m in messages)


def test_strict_mode_refuses_a_missing_key_with_its_path() -> None:
    rows = [_invoice_wire(), _without(_invoice_wire(), "round_off")]
    with pytest.raises(ResponseDecodeError, match=r"required key missing at \$\.data\[1\]\.round_off"):
        _serde.decode(_page(rows), InvoiceList, strict=True)


def test_a_row_without_an_essential_key_fails_naming_the_row() -> None:
    """`_id` and the number are never guessed: reconciliation reads "absent" as "not created"."""
    rows = [_invoice_wire(), _without(_invoice_wire(), "_id"), _invoice_wire(invoice_number=None)]
    with pytest.raises(ResponseDecodeError) as err:
        _serde.decode(_page(rows), InvoiceList, where="GET /books/invoices")
    message = str(err.value)
    assert "$.data[1]._id" in message
    assert "$.data[2].invoice_number" in message


def test_missing_pagination_counters_fail_but_a_missing_pagination_object_reads_as_none() -> None:
    with pytest.raises(ResponseDecodeError, match=r"\$\.pagination\.pages"):
        _serde.decode(_serde.dumps({"data": [], "pagination": {"page": 1, "total": 0}}), InvoiceList)
    assert _serde.decode(_serde.dumps({"data": []}), InvoiceList).pagination is None
    # limit is not needed to page: it may be absent
    where = _serde.decode(_serde.dumps({"page": 1, "total": 0, "pages": 0}), Pagination)
    assert where.limit is None


def test_unknown_enum_values_read_back_as_their_strings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="books_async"):
        invoice = _serde.decode(_serde.dumps(_invoice_wire(status="unpaid")), Invoice)
    status = invoice.status
    assert status == "unpaid"
    assert isinstance(status, InvoiceStatus)
    assert f"{status}" == "unpaid"
    assert status is not None
    assert not status.is_known()
    assert InvoiceStatus.paid.is_known()
    assert invoice.status != InvoiceStatus.draft
    assert ["InvoiceStatus" in r.getMessage() and "unpaid" in r.getMessage() for r in caplog.records] == [
        True
    ]
    with pytest.raises(ResponseDecodeError, match=r"\$\.status"):
        _serde.decode(_serde.dumps(_invoice_wire(status="unpaid")), Invoice, strict=True)


def test_customer_type_outside_the_spec() -> None:
    wire = {
        "_id": CUSTOMER,
        "type": "SEZ",
        "name": "Zone Ltd",
        "billing_address": {"line1": "1 Road", "city": "Pune", "state_code": "27", "pincode": "411001"},
        "place_of_supply": "27",
        "createdAt": "2026-03-14T06:00:00.000Z",
        "updatedAt": "2026-03-14T06:00:00.000Z",
    }
    page = _serde.decode(_page([wire]), CustomerList)
    assert page.data[0].type == "SEZ"
    assert page.data[0].type != CustomerType.B2B


def test_dates_sent_as_mongodb_datetimes_read_as_dates_in_india() -> None:
    wire = _invoice_wire(invoice_date="2026-03-13T18:30:00.000Z", due_date="2026-03-27T18:30:00.000Z")
    invoice = _serde.decode(_serde.dumps(wire), Invoice)
    assert (invoice.invoice_date, invoice.due_date) == (date(2026, 3, 14), date(2026, 3, 28))
    with pytest.raises(ResponseDecodeError, match=r"\$\.invoice_date"):
        _serde.decode(_serde.dumps(wire), Invoice, strict=True)


def test_money_as_numeric_strings_is_exact() -> None:
    wire = _invoice_wire(total="1180.00", balance_due="12345678901234567890.123456789")
    invoice = _serde.decode(_serde.dumps(wire), Invoice)
    assert str(invoice.total) == "1180.00"
    assert invoice.balance_due == Decimal("12345678901234567890.123456789")
    with pytest.raises(ResponseDecodeError, match=r"\$\.total"):
        _serde.decode(_serde.dumps(wire), Invoice, strict=True)
    # Decimal() alone would take these (the last is in full-width digits); they are numbers on no wire.
    for bad in ("NaN", "1_000", "Infinity", "\uff11\uff12"):
        assert _serde.decode(_serde.dumps(_invoice_wire(total=bad)), Invoice).total is None


def test_a_populated_reference_reads_as_its_id() -> None:
    wire = _invoice_wire(customer_id={"_id": CUSTOMER, "name": "Asha Traders"})
    assert _serde.decode(_serde.dumps(wire), Invoice).customer_id == CUSTOMER
    with pytest.raises(ResponseDecodeError, match=r"\$\.customer_id"):
        _serde.decode(_serde.dumps(wire), Invoice, strict=True)


def test_unknown_keys_are_kept_on_every_model_and_out_of_equality() -> None:
    line = {**_invoice_wire()["line_items"][0], "cess": Decimal("1.50")}  # type: ignore[index]
    wire = _invoice_wire(__v=0, irn={"ack": 1}, line_items=[line])
    for strict in (False, True):
        invoice = _serde.decode(_serde.dumps(wire), Invoice, strict=strict)
        assert extra(invoice) == {"__v": 0, "irn": {"ack": 1}}
        assert invoice.line_items is not None
        assert extra(invoice.line_items[0]) == {"cess": Decimal("1.50")}
        assert invoice == _serde.decode(_serde.dumps(_invoice_wire()), Invoice)


def test_an_unreadable_value_reads_as_none_and_stays_reachable(caplog: pytest.LogCaptureFixture) -> None:
    """A value of the wrong shape is not lost: None in the field, the raw value in extra()."""
    wire = _invoice_wire(subtotal={"$numberDecimal": "1000.00"}, billing_address={"line1": "x"})
    with caplog.at_level(logging.WARNING, logger="books_async"):
        invoice = _serde.decode(_serde.dumps(wire), Invoice)
    assert invoice.subtotal is None
    assert invoice.billing_address is None
    assert extra(invoice) == {"subtotal": {"$numberDecimal": "1000.00"}, "billing_address": {"line1": "x"}}
    assert len(caplog.records) == 2


def test_a_dashboard_in_another_currency_or_shape_still_reads() -> None:
    wire = {
        "total_revenue": 10,
        "total_receivables": "5.50",
        "overdue_amount": 0,
        "invoice_counts": {"draft": 1, "sent": 0, "partially_paid": 0, "paid": 0, "overdue": 0},
        "recent_activity": [{"kind": "invoice_emailed", "id": OID, "at": "2026-03-14T06:00:00Z"}],
        "currency": "USD",
        "as_of": "2026-03-14T06:00:00Z",
    }
    board = _serde.decode(_serde.dumps(wire), Dashboard)
    assert board.currency is None
    assert extra(board) == {"currency": "USD"}
    assert board.invoice_counts is not None
    assert board.invoice_counts.void is None
    assert board.recent_activity is not None
    assert board.recent_activity[0].kind == "invoice_emailed"
    with pytest.raises(ResponseDecodeError, match=r"\$\.total_receivables"):
        _serde.decode(_serde.dumps(wire), Dashboard, strict=True)
    with pytest.raises(ResponseDecodeError, match=r"\$\.currency"):
        _serde.decode(_serde.dumps({**wire, "total_receivables": 5}), Dashboard, strict=True)


def test_decoding_stays_correct_for_a_customer_with_every_optional_key_absent() -> None:
    wire = {
        "_id": CUSTOMER,
        "type": "B2C",
        "name": "Asha",
        "billing_address": {"line1": "1 Road", "city": "Pune", "state_code": "27", "pincode": "411001"},
        "place_of_supply": "27",
        "createdAt": "2026-03-14T06:00:00.000Z",
        "updatedAt": "2026-03-14T06:00:00.000Z",
    }
    customer = _serde.decode(orjson.dumps(wire), Customer, strict=True)
    assert (customer.gstin, customer.email, customer.summary) == (None, None, None)

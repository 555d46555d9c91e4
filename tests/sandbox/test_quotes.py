"""Quotes: money rules, defaults, filters, send, and convert into a linked draft invoice (twice → 409)."""

from __future__ import annotations

from decimal import Decimal

from books_async.sandbox import Sandbox
from tests.factories import line_dict

from .conftest import Api


def _quote(customer_id: str, **extra: object) -> dict[str, object]:
    return {"customer_id": customer_id, "quote_date": "2099-01-10", "line_items": [line_dict()], **extra}


async def test_quote_totals_and_defaults(api: Api, sandbox: Sandbox) -> None:
    """A quote gets a QT- number, a 30-day expiry, status draft, and the same GST arithmetic as invoices."""
    seed = sandbox.seed
    assert seed is not None
    reply = await api.post("/books/quotes", _quote(seed.customer_b2b_inter))
    assert reply.status == 201
    quote = reply.json
    assert (quote["quote_number"], quote["expiry_date"], quote["status"]) == (
        "QT-0001",
        "2099-02-09",
        "draft",
    )
    assert quote["igst_total"] == Decimal("360.00")
    assert quote["total"] == Decimal("2360.00")
    assert "amount_paid" not in quote


async def test_convert_makes_a_linked_draft_invoice_once(api: Api, sandbox: Sandbox) -> None:
    """Convert answers 201 with a draft invoice linked by quote_id; the quote is converted; again is 409."""
    seed = sandbox.seed
    assert seed is not None
    quote = (await api.post("/books/quotes", _quote(seed.customer_b2c, notes="valid 30 days"))).json
    converted = await api.post(f"/books/quotes/{quote['_id']}/convert")
    assert converted.status == 201
    invoice = converted.json
    assert (invoice["status"], invoice["quote_id"], invoice["total"]) == (
        "draft",
        quote["_id"],
        quote["total"],
    )
    assert invoice["line_items"] == quote["line_items"]
    assert invoice["notes"] == "valid 30 days"
    after = (await api.get(f"/books/quotes/{quote['_id']}")).json
    assert (after["status"], after["converted_invoice_id"]) == ("converted", invoice["_id"])
    again = await api.post(f"/books/quotes/{quote['_id']}/convert")
    assert again.status == 409
    assert (await api.post(f"/books/quotes/{quote['_id']}/send")).status == 409


async def test_expired_quote_is_derived_and_not_convertible(api: Api, sandbox: Sandbox) -> None:
    """A quote past its expiry date reads as expired, filters as expired, and cannot be converted."""
    seed = sandbox.seed
    assert seed is not None
    old = (await api.post("/books/quotes", _quote(seed.customer_b2c, quote_date="2020-01-01"))).json
    assert old["status"] == "expired"
    fresh = (await api.post("/books/quotes", _quote(seed.customer_b2c))).json
    listed = await api.get("/books/quotes", params={"status": "expired"})
    assert [q["_id"] for q in listed.items] == [old["_id"]]
    assert (await api.post(f"/books/quotes/{old['_id']}/convert")).status == 409
    drafts = await api.get("/books/quotes", params={"status": "draft", "customer_id": seed.customer_b2c})
    assert [q["_id"] for q in drafts.items] == [fresh["_id"]]


async def test_quote_send_and_pdf(api: Api, sandbox: Sandbox) -> None:
    """Sending a draft quote marks it sent; its PDF downloads with a quote file name."""
    seed = sandbox.seed
    assert seed is not None
    quote = (await api.post("/books/quotes", _quote(seed.customer_b2b_intra))).json
    sent = await api.post(f"/books/quotes/{quote['_id']}/send", {"subject": "Our offer"})
    assert (sent.status, sent.json["document_status"], sent.json["subject"]) == (200, "sent", "Our offer")
    pdf = await api.get(f"/books/quotes/{quote['_id']}/pdf")
    assert pdf.raw.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="quote-QT-0001.pdf"'


async def test_bulk_quotes_and_duplicate_numbers(api: Api, sandbox: Sandbox) -> None:
    """Quotes take an array too; a number already used is 409."""
    seed = sandbox.seed
    assert seed is not None
    made = await api.post(
        "/books/quotes", [_quote(seed.customer_b2c, quote_number="Q/1"), _quote(seed.customer_b2c)]
    )
    assert made.status == 201
    dup = await api.post("/books/quotes", _quote(seed.customer_b2c, quote_number="Q/1"))
    assert dup.status == 409

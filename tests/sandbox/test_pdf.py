"""The sandbox's invoice/quotation PDFs: real PDFs with what a GST tax invoice must show."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from books_async.sandbox._gst import compute_totals, place_of_supply, supply_type
from books_async.sandbox._pdf import pdf_filename, render_document

D = Decimal

ORG: dict[str, object] = {
    "_id": "a" * 24,
    "name": "Acme Traders Private Limited",
    "gstin": "27AAPFU0939F1ZV",
    "pan": "AAPFU0939F",
    "state_code": "27",
    "address": {"line1": "12 Industrial Estate", "city": "Mumbai", "state_code": "27", "pincode": "400069"},
    "email": "billing@acme.example",
    "bank_details": {
        "account_name": "Acme Traders Pvt Ltd",
        "account_number": "50200012345678",
        "ifsc": "HDFC0000123",
        "bank_name": "HDFC Bank",
        "branch": "Andheri East",
    },
    "invoice_prefix": "INV",
    "quote_prefix": "QT",
}
B2B: dict[str, object] = {
    "_id": "b" * 24,
    "type": "B2B",
    "name": "Bengaluru Widgets LLP",
    "gstin": "29AAACT1234K1ZC",
    "billing_address": {"line1": "Tech Park", "city": "Bengaluru", "state_code": "29", "pincode": "560001"},
}
B2C: dict[str, object] = {
    "_id": "c" * 24,
    "type": "B2C",
    "name": "Ramesh Kumar",
    "billing_address": {"line1": "Flat 3", "city": "Pune", "state_code": "27", "pincode": "411001"},
}
ITEMS: list[dict[str, object]] = [
    {"item_type": "product", "description": "Steel bottle 1L", "hsn_sac": "73239990", "quantity": D("10"),
     "unit": "NOS", "rate": D("450.00"), "discount": D("100.00"), "gst_rate": D("18")},
    {"item_type": "service", "description": "Installation and commissioning, including a site visit and a "
     "description long enough to wrap onto several lines of the table", "hsn_sac": "998719",
     "quantity": D("1"), "rate": D("12500.00"), "gst_rate": D("18")},
    {"item_type": "product", "description": "Basmati rice", "hsn_sac": "1006", "quantity": D("25.5"),
     "unit": "KGS", "rate": D("92.40"), "gst_rate": D("5")},
    {"item_type": "product", "description": "Gold coin 10g", "hsn_sac": "7118", "quantity": D("1"),
     "unit": "PCS", "rate": D("71500.00"), "gst_rate": D("3")},
    {"item_type": "service", "description": "Annual maintenance", "hsn_sac": "998713", "quantity": D("1"),
     "rate": D("8000"), "discount": D("500"), "gst_rate": D("18")},
]  # fmt: skip


def make_invoice(customer: dict[str, object], lines: int = 5, **extra: object) -> dict[str, object]:
    pos = place_of_supply(customer, None)
    kind = supply_type(str(ORG["state_code"]), pos)
    totals = compute_totals([ITEMS[i % len(ITEMS)] for i in range(lines)], intra_state=kind == "intra_state")
    doc: dict[str, object] = {
        "_id": "d" * 24,
        "invoice_number": "INV-2026-0001",
        "invoice_date": "2026-01-15",
        "due_date": "2026-02-14",
        "customer_id": customer["_id"],
        "customer_name": customer["name"],
        "customer_gstin": customer.get("gstin"),
        "billing_address": customer["billing_address"],
        "place_of_supply": pos,
        "supply_type": kind,
        "status": "sent",
        **totals,
        "amount_paid": D("1000.00"),
        "balance_due": totals["total"] - D("1000.00"),
        "notes": "Thank you for your business.",
        "terms": "Payment due within 30 days.",
        "payments": [],
        "createdAt": "2026-01-15T10:00:00Z",
        "updatedAt": "2026-01-15T10:05:00Z",
    }
    doc.update(extra)
    return doc


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_inter_state_invoice_shows_gst_invoice_fields() -> None:
    """An inter-state B2B invoice parses and shows both GSTINs, IGST, the total and bank details."""
    doc = make_invoice(B2B)
    data = render_document("invoice", doc, ORG, B2B)
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    for expected in (
        "TAX INVOICE",
        "INV-2026-0001",
        "Acme Traders Private Limited",
        "27AAPFU0939F1ZV",
        "AAPFU0939F",
        "Bengaluru Widgets LLP",
        "29AAACT1234K1ZC",
        "Karnataka (29)",
        "IGST",
        "73239990",
        "998719",
        "1,04,911.00",
        "Rupees One Lakh Four Thousand Nine Hundred Eleven Only",
        "HDFC0000123",
        "Balance Due",
        "1,03,911.00",
        "Thank you for your business.",
    ):
        assert expected in text, expected
    assert "CGST" not in text
    assert doc["total"] == D("104911.00")


def test_intra_state_invoice_splits_cgst_sgst() -> None:
    """A B2C invoice within the organisation's state shows CGST and SGST columns and no IGST."""
    data = render_document("invoice", make_invoice(B2C), ORG, B2C)
    _, text = pdf_text(data)
    assert "CGST" in text
    assert "SGST" in text
    assert "IGST" not in text
    assert "Maharashtra (27)" in text
    assert "Ramesh Kumar" in text


def test_quote_renders_as_quotation_without_payment_lines() -> None:
    """A quote is titled QUOTATION with its number and validity, and has no balance due."""
    doc = make_invoice(B2B, status="draft", quote_number="QT-0007", quote_date="2026-01-10")
    doc["expiry_date"] = "2026-02-10"
    for key in ("invoice_number", "invoice_date", "due_date", "amount_paid", "balance_due"):
        del doc[key]
    _, text = pdf_text(render_document("quote", doc, ORG, B2B))
    assert "QUOTATION" in text
    assert "QT-0007" in text
    assert "Valid Until" in text
    assert "10 Feb 2026" in text
    assert "DRAFT" in text
    assert "Balance Due" not in text


def test_two_hundred_lines_paginate_with_repeated_headers() -> None:
    """A 200-line invoice spans pages, each with the table header; all rows and the totals appear."""
    data = render_document("invoice", make_invoice(B2B, lines=200), ORG, B2B)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 3
    texts = [page.extract_text() for page in reader.pages]
    assert all("HSN/SAC" in t for t in texts)
    assert all(f"Page {i} of {len(texts)}" in t for i, t in enumerate(texts, 1))
    assert "Round Off" in texts[-1]
    assert "Authorised Signatory" in texts[-1]
    joined = "\n".join(texts)
    assert joined.count("Gold coin 10g") == 40


def test_odd_unicode_never_crashes_rendering() -> None:
    """Emoji, other scripts, controls and lone surrogates are replaced, latin-1 text is kept."""
    # Curly quotes, an en dash and the rupee sign have ASCII stand-ins; the rest has none in latin-1.
    odd = "Zoë\u2019s Café 😀🇮🇳 नमस्ते 北京 Ωmega\u200d\x00\ud800 \u201cLtd\u201d \u2013 \u20b9"
    customer = {**B2C, "name": odd}
    doc = make_invoice(customer, notes=odd + "\n" + "x" * 5000, terms="\u2028line\r\nbreaks")
    line = dict(ITEMS[0], description=odd * 3, unit="😀")
    doc["line_items"] = [line]
    data = render_document("invoice", doc, {**ORG, "name": odd, "legal_name": odd}, customer)
    _, text = pdf_text(data)
    assert "Zoë's Café" in text
    assert '"Ltd" - Rs.' in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=80), description=st.text(max_size=200), number=st.text(max_size=20))
def test_arbitrary_text_renders(name: str, description: str, number: str) -> None:
    """Any customer name, description or number still gives a parseable PDF."""
    doc = make_invoice(B2B, customer_name=name, invoice_number=number)
    doc["line_items"] = [dict(ITEMS[1], description=description)]
    data = render_document("invoice", doc, ORG, {})
    assert PdfReader(io.BytesIO(data)).pages[0].extract_text()


def test_missing_optional_fields_still_render() -> None:
    """Sparse documents (no lines, no bank details, empty customer) still render."""
    data = render_document("invoice", {"invoice_number": "X1"}, {"name": "Org"}, {})
    _, text = pdf_text(data)
    assert "X1" in text


def test_same_input_gives_identical_bytes() -> None:
    """Rendering is deterministic, so the sandbox can cache and ETag PDFs; updatedAt changes the bytes."""
    doc = make_invoice(B2B)
    first = render_document("invoice", doc, ORG, B2B)
    assert render_document("invoice", make_invoice(B2B), ORG, B2B) == first
    changed = render_document("invoice", {**doc, "updatedAt": "2026-01-16T00:00:00Z"}, ORG, B2B)
    assert changed != first


@pytest.mark.parametrize(
    ("kind", "number", "expected"),
    [
        ("invoice", "INV-2026-0001", "invoice-INV-2026-0001.pdf"),
        ("invoice", "INV/25-26/001", "invoice-INV-25-26-001.pdf"),
        ("quote", "QT 7 ../../etc", "quote-QT-7-..-..-etc.pdf"),
        ("quote", "", "quote-document.pdf"),
    ],
)
def test_pdf_filename_is_safe(kind: Literal["invoice", "quote"], number: str, expected: str) -> None:
    """File names keep only [A-Za-z0-9._-], with other characters turned into '-'."""
    assert pdf_filename(kind, number) == expected

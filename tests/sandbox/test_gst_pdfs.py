"""What invoice and quote PDFs say under GST rules 46 and 48, read with pdftotext from raw HTTP answers."""

from __future__ import annotations

import re

from tests.factories import invoice_dict, line_dict
from tests.pdf_text import pdf_text

from .conftest import Api


async def _invoice_pdf(api: Api, **extra: object) -> str:
    body = invoice_dict(api.sb.seed.customer_b2b_intra, *extra.pop("lines", ()), **extra)  # type: ignore[misc]
    created = await api.post("/books/invoices", body)
    assert created.status == 201, created.body
    reply = await api.get(f"/books/invoices/{created.json['_id']}/pdf")
    assert reply.headers["Content-Type"] == "application/pdf"
    return pdf_text(reply.raw)


async def test_invoice_is_the_original_for_recipient(api: Api) -> None:
    """Rule 48: the copy is marked ORIGINAL FOR RECIPIENT, above TAX INVOICE."""
    text = await _invoice_pdf(api)
    assert "ORIGINAL FOR RECIPIENT" in text
    assert text.index("ORIGINAL FOR RECIPIENT") < text.index("TAX INVOICE")


async def test_reverse_charge_line_says_no_by_default(api: Api) -> None:
    """Rule 46(p): an invoice without the flag says No."""
    text = await _invoice_pdf(api)
    assert "Tax is payable on reverse charge: No" in text
    assert "reverse charge: Yes" not in text


async def test_reverse_charge_line_says_yes_and_the_total_leaves_out_the_tax(api: Api) -> None:
    """With reverse_charge the PDF says Yes, labels the tax as the recipient's and totals ₹ 2,000.00."""
    text = await _invoice_pdf(api, reverse_charge=True)
    assert "Tax is payable on reverse charge: Yes" in text
    assert re.search(r"Tax payable by recipient\s+360\.00", text)
    assert re.search(r"Total\s+₹\s*2,000\.00", text)


async def test_amounts_carry_the_rupee_sign(api: Api) -> None:
    """Total and balance due print ₹ (from the embedded font), not Rs."""
    text = await _invoice_pdf(api)
    assert re.search(r"Total\s+₹\s*2,360\.00", text)
    assert re.search(r"Balance Due\s+₹\s*2,360\.00", text)
    assert "Rs." not in text


async def test_cess_has_a_column_and_a_total_row(api: Api) -> None:
    """A 12 % cess line: the Cess heading, 240.00 on the line and in the totals."""
    text = await _invoice_pdf(api, lines=[line_dict(gst_rate=28, cess_rate=12)])
    assert re.search(r"SGST\s+Cess\s+Amount", text)
    assert re.search(r"\bCess\s+240\.00", text)
    assert text.count("240.00") >= 2


async def test_export_under_lut_says_so(api: Api) -> None:
    """The LUT export's declaration, and place of supply Other Country (96)."""
    text = await _invoice_pdf(api, place_of_supply="96", export_type="lut")
    assert "UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX" in text
    assert "Other Country (96)" in text


async def test_export_with_igst_says_so(api: Api) -> None:
    """An export paying IGST says ON PAYMENT OF INTEGRATED TAX."""
    text = await _invoice_pdf(api, place_of_supply="96", export_type="igst_paid")
    assert "SUPPLY MEANT FOR EXPORT ON PAYMENT OF INTEGRATED TAX" in text


async def test_a_domestic_invoice_has_no_export_line(api: Api) -> None:
    """No place of supply 96, no export declaration."""
    assert "EXPORT" not in await _invoice_pdf(api)


async def test_quote_pdf_is_a_quotation_with_rupees_and_no_invoice_marks(api: Api) -> None:
    """A quotation is no tax invoice: no ORIGINAL FOR RECIPIENT, no reverse-charge line; the total has ₹."""
    body = {
        "customer_id": api.sb.seed.customer_b2b_intra,
        "quote_date": "2099-04-01",
        "line_items": [line_dict()],
    }
    created = await api.post("/books/quotes", body)
    text = pdf_text((await api.get(f"/books/quotes/{created.json['_id']}/pdf")).raw)
    assert "QUOTATION" in text
    assert re.search(r"Total\s+₹\s*2,360\.00", text)
    assert "ORIGINAL FOR RECIPIENT" not in text
    assert "reverse charge" not in text

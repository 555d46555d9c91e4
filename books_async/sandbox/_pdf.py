"""Render GST tax invoices and quotations as PDF, the way the Books API's ``/pdf`` routes do: the layout.

The page carries what GST rule 46 asks of a tax invoice (``DOMAIN.md``): supplier name, address, GSTIN and
PAN; number and dates; recipient name, address and GSTIN; place of supply (state name and code); per line the
description, HSN/SAC, quantity and unit, rate, discount, taxable value, GST rate and the CGST/SGST or IGST
amounts and cess; totals with the tax split, round-off, total in figures (with ₹) and in words; whether tax
is payable on reverse charge (rule 46(p)) and, for exports, under which terms; bank details; notes and terms.
An invoice is marked "ORIGINAL FOR RECIPIENT" (rule 48); a quotation is not a tax invoice and carries neither.

Text comes from :mod:`._pdf_text` (latin-1 safe) and is drawn on :class:`._pdf_page.Page`. Output is
byte-for-byte deterministic for equal input: the creation date comes from the document's ``updatedAt``
(fpdf2 derives the file ``/ID`` from content and that date), so the sandbox can cache PDFs and use their
hash as an ETag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from ._gst import supply_type
from ._pdf_page import ACCENT, BLACK, BODY_BOTTOM, CONTENT_W, MARGIN, MUTED, PAGE_W, RULE, RUPEE, Page
from ._pdf_text import (
    address_lines,
    clean,
    decimal_or_zero,
    field,
    field_text,
    first_timestamp,
    human_date,
    money,
    plain_number,
    state_name,
    text_lines,
)
from ._words import amount_in_words

__all__ = ["pdf_filename", "render_document"]

Kind = Literal["invoice", "quote"]

_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_filename(kind: Kind, number: str) -> str:
    """Return a download file name such as ``invoice-INV-2026-0001.pdf`` (only ``[A-Za-z0-9._-]``).

    Characters outside that set (an invoice number may contain ``/``) become ``-``.
    """
    stem = _SAFE_NAME.sub("-", number).strip("-.") or "document"
    return f"{kind}-{stem[:64]}.pdf"


_MAX_DESCRIPTION_LINES: Final = 30  # a row must fit on one page

# Line table: key, heading, width in mm (0 = takes what is left), alignment. CGST/SGST for intra-state
# supplies, one IGST column for inter-state ones.
_Column = tuple[str, str, float, str]
_COLS_START: Final[tuple[_Column, ...]] = (
    ("sno", "#", 6.0, "C"),
    ("description", "Description", 0.0, "L"),
    ("hsn_sac", "HSN/SAC", 13.0, "L"),
    ("quantity", "Qty", 16.0, "R"),
    ("rate", "Rate", 18.0, "R"),
    ("discount", "Disc.", 15.0, "R"),
    ("taxable_value", "Taxable", 19.0, "R"),
    ("gst_rate", "GST %", 10.0, "C"),
)
_COLS_INTRA: Final = (("cgst_amount", "CGST", 16.0, "R"), ("sgst_amount", "SGST", 16.0, "R"))
_COLS_INTER: Final = (("igst_amount", "IGST", 18.0, "R"),)
_COL_CESS: Final = ("cess_amount", "Cess", 15.0, "R")
_COL_TOTAL: Final = ("total", "Amount", 20.0, "R")
_EXPORT_NOTES: Final = {
    # CGST rule 46, proviso: an export invoice says whether IGST is paid or it goes under bond/LUT.
    "lut": "SUPPLY MEANT FOR EXPORT UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX",
    "igst_paid": "SUPPLY MEANT FOR EXPORT ON PAYMENT OF INTEGRATED TAX",
}


def _columns(intra: bool, cess: bool) -> list[tuple[str, str, float, float, str]]:
    """Columns with their x position and final width."""
    tax_cols = _COLS_INTRA if intra else _COLS_INTER
    cols = [*_COLS_START, *tax_cols, *((_COL_CESS,) if cess else ()), _COL_TOTAL]
    rest = CONTENT_W - sum(c[2] for c in cols)
    out = []
    x = MARGIN
    for key, title, width, align in cols:
        w = width or rest
        out.append((key, title, x, w, align))
        x += w
    return out


def _block(pdf: Page, x: float, y: float, w: float, title: str, lines: Sequence[str]) -> float:
    """A titled block of lines (wrapped to ``w``); returns the y below it."""
    pdf.font(7.5, "B")
    pdf.set_text_color(*ACCENT)
    pdf.put(x, y, title.upper())
    pdf.set_text_color(*BLACK)
    y += 4.2
    for i, line in enumerate(lines):
        pdf.font(9 if i == 0 else 8, "B" if i == 0 else "")
        for part in pdf.wrap(line, w, 3):
            pdf.put(x, y, part)
            y += 3.9
    return y


def _header(pdf: Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object]) -> float:
    """Supplier, title and document facts; returns the y below."""
    title = "TAX INVOICE" if kind == "invoice" else "QUOTATION"
    right_w = 72.0
    left_w = CONTENT_W - right_w - 4
    rx = PAGE_W - MARGIN - right_w

    pdf.set_fill_color(*ACCENT)
    pdf.rect(MARGIN, MARGIN, CONTENT_W, 1.2, style="F")
    y = MARGIN + 8
    pdf.font(15, "B")
    name_lines = pdf.wrap(field_text(org, "name"), left_w, 2)
    for line in name_lines:
        pdf.put(MARGIN, y, line)
        y += 6
    pdf.font(8)
    legal = field_text(org, "legal_name")
    details: list[str] = []
    if legal and legal != field_text(org, "name"):
        details.append(legal)
    details += address_lines(org.get("address"))
    ids = []
    if gstin := field_text(org, "gstin"):
        ids.append(f"GSTIN: {gstin}")
    if pan := field_text(org, "pan"):
        ids.append(f"PAN: {pan}")
    contact = [
        v for v in (field_text(org, "phone"), field_text(org, "email"), field_text(org, "website")) if v
    ]
    y -= 1.5
    for line in details:
        for part in pdf.wrap(line, left_w, 2):
            pdf.put(MARGIN, y, part)
            y += 3.8
    if ids:
        pdf.font(8, "B")
        pdf.put(MARGIN, y, "   ".join(ids))
        y += 3.8
        pdf.font(8)
    if contact:
        for part in pdf.wrap("  |  ".join(contact), left_w, 2):
            pdf.put(MARGIN, y, part)
            y += 3.8

    # Right column: title and the document's facts.
    ry = MARGIN + 9
    if kind == "invoice":
        # DOMAIN.md, what a tax invoice must show: the copy is marked (CGST rule 48).
        pdf.font(7, "B")
        pdf.set_text_color(*MUTED)
        pdf.put(rx, MARGIN + 4.2, "ORIGINAL FOR RECIPIENT", right_w, "R")
        pdf.set_text_color(*BLACK)
    pdf.font(16, "B")
    pdf.set_text_color(*ACCENT)
    pdf.put(rx, ry, title, right_w, "R")
    pdf.set_text_color(*BLACK)
    ry += 3
    status = field_text(doc, "status").lower()
    if status in ("draft", "void", "declined", "expired"):
        pdf.font(8, "B")
        pdf.set_text_color(170, 30, 30)
        ry += 3.5
        pdf.put(rx, ry, status.upper(), right_w, "R")
        pdf.set_text_color(*BLACK)
    if kind == "invoice":
        facts = [
            ("Invoice No.", field_text(doc, "invoice_number")),
            ("Invoice Date", human_date(doc.get("invoice_date"))),
            ("Due Date", human_date(doc.get("due_date"))),
        ]
    else:
        facts = [
            ("Quotation No.", field_text(doc, "quote_number")),
            ("Quotation Date", human_date(doc.get("quote_date"))),
            ("Valid Until", human_date(doc.get("expiry_date"))),
        ]
    intra = _is_intra(doc, org)
    facts += [
        ("Place of Supply", state_name(doc.get("place_of_supply"))),
        ("Supply Type", "Intra-state (CGST + SGST)" if intra else "Inter-state (IGST)"),
    ]
    ry += 5
    for label, value in facts:
        if not value:
            continue
        pdf.font(8)
        pdf.set_text_color(*MUTED)
        pdf.put(rx, ry, label)
        pdf.set_text_color(*BLACK)
        pdf.font(8, "B")
        pdf.fit(rx + 25, ry, value, right_w - 25, "R")
        ry += 4.2
    return max(y, ry) + 2


def _parties(pdf: Page, doc: Mapping[str, object], customer: Mapping[str, object], y: float) -> float:
    """Bill-to and ship-to blocks; returns the y below."""
    pdf.rule(y)
    y += 5
    name = field_text(doc, "customer_name") or field_text(customer, "name")
    billing = doc.get("billing_address") or customer.get("billing_address")
    gstin = field_text(doc, "customer_gstin") or field_text(customer, "gstin")
    bill = [name, *address_lines(billing)]
    if gstin:
        bill.append(f"GSTIN: {gstin}")
    contact = [v for v in (field_text(customer, "phone"), field_text(customer, "email")) if v]
    if contact:
        bill.append("  |  ".join(contact))
    half = (CONTENT_W - 6) / 2
    y_bill = _block(pdf, MARGIN, y, half, "Bill To", bill)
    y_ship = y
    shipping = customer.get("shipping_address")
    if isinstance(shipping, Mapping) and shipping:
        y_ship = _block(pdf, MARGIN + half + 6, y, half, "Ship To", [name, *address_lines(shipping)])
    return max(y_bill, y_ship) + 1


def _is_intra(doc: Mapping[str, object], org: Mapping[str, object]) -> bool:
    kind = doc.get("supply_type")
    if kind in ("intra_state", "inter_state"):
        return kind == "intra_state"
    org_state, pos = org.get("state_code"), doc.get("place_of_supply")
    if isinstance(org_state, str) and isinstance(pos, str):
        return supply_type(org_state, pos) == "intra_state"
    # Without a supply type, the amounts tell: any IGST means inter-state.
    return decimal_or_zero(doc.get("igst_total")) == 0


_ROW_PAD: Final = 1.6
_LINE_H: Final = 3.3
_HEAD_H: Final = 6.5


def _table_head(pdf: Page, cols: Sequence[tuple[str, str, float, float, str]], y: float) -> float:
    pdf.set_fill_color(*ACCENT)
    pdf.rect(MARGIN, y, CONTENT_W, _HEAD_H, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.font(7, "B")
    for _key, title, x, w, align in cols:
        pdf.put(x + 1, y + 4.3, title, w - 2, align)
    pdf.set_text_color(*BLACK)
    return y + _HEAD_H


def _continuation(pdf: Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object]) -> float:
    """The top of every page after the first: who, what, and that it continues."""
    pdf.add_page()
    pdf.set_fill_color(*ACCENT)
    pdf.rect(MARGIN, MARGIN, CONTENT_W, 1.2, style="F")
    y = MARGIN + 6
    pdf.font(9, "B")
    pdf.fit(MARGIN, y, field_text(org, "name"), CONTENT_W - 80, "L")
    number = field_text(doc, "invoice_number" if kind == "invoice" else "quote_number")
    title = "TAX INVOICE" if kind == "invoice" else "QUOTATION"
    pdf.font(8)
    pdf.put(PAGE_W - MARGIN - 80, y, f"{title} {number} (continued)", 80, "R")
    return y + 4


def _line_cells(line: Mapping[str, object], index: int) -> dict[str, str]:
    unit = field_text(line, "unit")
    qty = plain_number(line.get("quantity"))
    return {
        "sno": str(index),
        "hsn_sac": field_text(line, "hsn_sac"),
        "quantity": f"{qty} {unit}" if unit else qty,
        "rate": money(line.get("rate")),
        "discount": money(line.get("discount")),
        "taxable_value": money(line.get("taxable_value")),
        "gst_rate": plain_number(line.get("gst_rate")) + "%",
        "cgst_amount": money(line.get("cgst_amount")),
        "sgst_amount": money(line.get("sgst_amount")),
        "igst_amount": money(line.get("igst_amount")),
        "cess_amount": money(line.get("cess_amount")) if "cess_amount" in line else "",
        "total": money(line.get("total")),
    }


def _table(
    pdf: Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], intra: bool, y: float
) -> float:
    cols = _columns(intra, "cess_total" in doc)
    desc_x, desc_w = next((x, w) for key, _t, x, w, _a in cols if key == "description")
    y = _table_head(pdf, cols, y + 2)
    raw_lines = doc.get("line_items")
    lines = raw_lines if isinstance(raw_lines, Sequence) and not isinstance(raw_lines, str) else []
    pdf.set_draw_color(*RULE)
    for index, line in enumerate(lines, 1):
        if not isinstance(line, Mapping):
            continue
        pdf.font(7)
        description = pdf.wrap(
            clean(field(line, "description") or "", 1000), desc_w - 2, _MAX_DESCRIPTION_LINES
        )
        height = max(1, len(description)) * _LINE_H + _ROW_PAD * 2
        if y + height > BODY_BOTTOM:
            y = _table_head(pdf, cols, _continuation(pdf, kind, doc, org))
            pdf.set_draw_color(*RULE)
            pdf.font(7)
        baseline = y + _ROW_PAD + 2.4
        cells = _line_cells(line, index)
        for key, _title, x, w, align in cols:
            if key == "description":
                for i, part in enumerate(description):
                    pdf.put(desc_x + 1, baseline + i * _LINE_H, part)
            else:
                pdf.fit(x + 1, baseline, cells[key], w - 2, align)
        y += height
        pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    return y


def _totals(
    pdf: Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], intra: bool, y: float
) -> float:
    rows: list[tuple[str, str, bool]] = [("Subtotal", money(doc.get("subtotal")), False)]
    if decimal_or_zero(doc.get("discount_total")):
        rows.append(("Discount", "- " + money(doc.get("discount_total")), False))
    rows.append(("Taxable Value", money(doc.get("taxable_total")), False))
    if intra:
        rows.append(("CGST", money(doc.get("cgst_total")), False))
        rows.append(("SGST", money(doc.get("sgst_total")), False))
    else:
        rows.append(("IGST", money(doc.get("igst_total")), False))
    if "cess_total" in doc:
        rows.append(("Cess", money(doc.get("cess_total")), False))
    reverse = doc.get("reverse_charge") is True
    rows.append(("Tax payable by recipient" if reverse else "Total Tax", money(doc.get("tax_total")), False))
    rows.append(("Round Off", money(doc.get("round_off")), False))
    rows.append(("Total", RUPEE + money(doc.get("total")), True))
    if kind == "invoice":
        rows.append(("Amount Paid", money(doc.get("amount_paid")), False))
        rows.append(("Balance Due", RUPEE + money(doc.get("balance_due")), True))

    words = amount_in_words(decimal_or_zero(doc.get("total")))
    bank = org.get("bank_details")
    bank_lines: list[str] = []
    if isinstance(bank, Mapping):
        bank_lines = [
            f"Account Name: {field_text(bank, 'account_name')}",
            f"Account No.: {field_text(bank, 'account_number')}",
            f"IFSC: {field_text(bank, 'ifsc')}",
            "Bank: " + ", ".join(v for v in (field_text(bank, "bank_name"), field_text(bank, "branch")) if v),
        ]
    left_w = CONTENT_W - 80
    pdf.font(8)
    word_lines = pdf.wrap(words, left_w, 4)
    height = max(len(rows) * 5.0, 10 + len(word_lines) * 3.8 + (8 + len(bank_lines) * 3.8)) + 8
    if y + 4 + height > BODY_BOTTOM:
        y = _continuation(pdf, kind, doc, org)
    y += 6

    # Right: the money, one row each.
    lx, vx, vw = PAGE_W - MARGIN - 76, PAGE_W - MARGIN - 40, 40.0
    ty = y
    for label, value, strong in rows:
        if strong:
            pdf.set_fill_color(232, 237, 245)
            pdf.rect(lx - 2, ty - 3.6, 78, 5.2, style="F")
        pdf.font(8.5, "B" if strong else "")
        pdf.put(lx, ty, label)
        if value.startswith(RUPEE):
            pdf.amount(vx, ty, value.removeprefix(RUPEE), vw)
        else:
            pdf.fit(vx, ty, value, vw, "R")
        ty += 5.2

    # Left: amount in words and how to pay.
    ly = _block(pdf, MARGIN, y, left_w, "Amount in words", [])
    pdf.font(8)
    for part in word_lines:
        pdf.put(MARGIN, ly, part)
        ly += 3.8
    if bank_lines:
        ly = _block(pdf, MARGIN, ly + 3, left_w, "Bank details", [])
        pdf.font(8)
        for line in bank_lines:
            pdf.fit(MARGIN, ly, line, left_w, "L")
            ly += 3.8
    return max(ty, ly) + 2


def _tax_terms(pdf: Page, doc: Mapping[str, object], y: float) -> float:
    """An invoice's reverse-charge line (CGST rule 46(p), Yes or No) and any export terms; the y below."""
    lines = ["Tax is payable on reverse charge: " + ("Yes" if doc.get("reverse_charge") is True else "No")]
    export = doc.get("export_type")
    if isinstance(export, str) and export in _EXPORT_NOTES:
        lines.append(_EXPORT_NOTES[export])
    elif doc.get("place_of_supply") == "96":
        lines.append(_EXPORT_NOTES["igst_paid"])
    pdf.font(7.5, "B")
    for line in lines:
        y += 4
        pdf.fit(MARGIN, y, line, CONTENT_W, "L")
    return y + 1


def _notes_and_signature(
    pdf: Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], y: float
) -> None:
    for key, title in (("notes", "Notes"), ("terms", "Terms and conditions")):
        value = doc.get(key)
        if not value:
            continue
        pdf.font(8)
        wrapped = [part for line in text_lines(value) for part in (pdf.wrap(line, CONTENT_W) or [""])]
        if y + 12 > BODY_BOTTOM:
            y = _continuation(pdf, kind, doc, org)
        y = _block(pdf, MARGIN, y + 3, CONTENT_W, title, [])
        pdf.font(8)
        for part in wrapped:
            if y > BODY_BOTTOM - 2:
                y = _continuation(pdf, kind, doc, org) + 4
                pdf.font(8)
            pdf.put(MARGIN, y, part)
            y += 3.6
    if y + 20 > BODY_BOTTOM:
        y = _continuation(pdf, kind, doc, org)
    y += 8
    sx, sw = PAGE_W - MARGIN - 70, 70.0
    pdf.font(8, "B")
    pdf.fit(sx, y, f"For {field_text(org, 'name')}", sw, "R")
    pdf.set_draw_color(*RULE)
    pdf.line(sx + 20, y + 10, sx + sw, y + 10)
    pdf.font(7.5)
    pdf.put(sx, y + 13.5, "Authorised Signatory", sw, "R")


def render_document(
    kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], customer: Mapping[str, object]
) -> bytes:
    """Return the PDF of an invoice (a GST tax invoice) or a quote (a quotation), as the API serves it.

    ``doc``, ``org`` and ``customer`` are the read shapes of the spec (snake_case keys; money as Decimal,
    number or numeric string; dates as ``date`` or ISO strings). The document's own snapshot
    (``customer_name``, ``customer_gstin``, ``billing_address``) wins over ``customer``, which may be empty
    (a deleted customer). The same input always gives the same bytes.
    """
    pdf = Page()
    number = field_text(doc, "invoice_number" if kind == "invoice" else "quote_number")
    title = "Tax Invoice" if kind == "invoice" else "Quotation"
    org_name = field_text(org, "name")
    pdf.footer_note = f"This is a computer-generated {title.lower()}."
    pdf.footer_ref = f"{title} {number}"
    pdf.set_creation_date(
        first_timestamp(
            doc.get("updatedAt"), doc.get("createdAt"), doc.get("invoice_date"), doc.get("quote_date")
        )
    )
    pdf.set_title(f"{title} {number}")
    pdf.set_author(org_name)
    pdf.set_subject(f"{title} {number} from {org_name}")
    pdf.set_creator("books-async sandbox")
    pdf.set_lang("en-IN")
    pdf.add_page()

    intra = _is_intra(doc, org)
    y = _header(pdf, kind, doc, org)
    y = _parties(pdf, doc, customer, y)
    if kind == "invoice":
        y = _tax_terms(pdf, doc, y)
    y = _table(pdf, kind, doc, org, intra, y)
    y = _totals(pdf, kind, doc, org, intra, y)
    _notes_and_signature(pdf, kind, doc, org, y)
    return bytes(pdf.output())

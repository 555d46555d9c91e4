"""Render GST tax invoices and quotations as PDF with fpdf2, the way the Books API's ``/pdf`` routes do.

The page carries what GST rule 46 asks of a tax invoice (``DOMAIN.md``): supplier name, address, GSTIN and
PAN; number and dates; recipient name, address and GSTIN; place of supply (state name and code); per line the
description, HSN/SAC, quantity and unit, rate, discount, taxable value, GST rate and the CGST/SGST or IGST
amounts; totals with the tax split, round-off, total in figures and in words; bank details; notes and terms.

Why it is drawn the way it is:

- Only the PDF core fonts (Helvetica), so nothing is embedded and rendering stays fast. They cover latin-1
  only: every piece of text goes through :func:`_clean`, which maps what it can (curly quotes, dashes, the
  rupee sign) and replaces the rest, so no customer name can make rendering fail.
- Text is placed with ``FPDF.text`` and measured from the core-font width tables directly; ``cell`` and
  ``multi_cell`` are several times slower and a line table is most of the page.
- Output is byte-for-byte deterministic for equal input: the creation date comes from the document's
  ``updatedAt`` (fpdf2 derives the file ``/ID`` from content and that date), so the sandbox can cache PDFs
  and use their hash as an ETag.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final, Literal

from fpdf import FPDF
from fpdf.fonts import CORE_FONTS_CHARWIDTHS

from ._gst import STATE_CODES, DomainError, amount_in_words, format_money, supply_type, to_decimal

__all__ = ["pdf_filename", "render_document"]

Kind = Literal["invoice", "quote"]

# --------------------------------------------------------------------------------------------------
# Text

# Characters worth keeping in spirit when the core fonts cannot show them.
_REPLACEMENTS: Final = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u20b9": "Rs.",
        "\u20ac": "EUR",
        "\u2122": "(TM)",
        "\t": " ",
    }
)
_MAX_FIELD: Final = 300  # characters shown of any one field; a 5 MB name must not become 5000 pages


def _clean(value: object, limit: int = _MAX_FIELD) -> str:
    """Return ``value`` as one printable latin-1 line: what the core fonts can draw without raising."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + "..."
    if s.isascii() and s.isprintable():
        return s
    out: list[str] = []
    for ch in s.translate(_REPLACEMENTS):
        if ch <= "\xff" and ch.isprintable():
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category[0] in "ZC":
            # Line/paragraph separators and no-break spaces read as spaces; controls, format characters
            # (zero-width joiners) and lone surrogates vanish.
            if category[0] == "Z" or ch in "\n\r\x0b\x0c\x1c\x1d\x1e\x85":
                out.append(" ")
            continue
        if category == "Mn":  # a combining mark (or emoji variation selector) without its base
            continue
        # Letters with diacritics outside latin-1 (e.g. "ő", "ş") keep their base letter.
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c <= "\xff" and c.isprintable())
        out.append(base or "?")
    return "".join(out)


def _lines(value: object, limit: int = 4000) -> list[str]:
    """Return multi-line text (notes, terms) as cleaned lines, keeping the author's line breaks."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + "..."
    return [_clean(line, limit) for line in s.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _get(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def _text(mapping: object, key: str) -> str:
    value = _get(mapping, key)
    return "" if value is None else _clean(value)


def _dec(value: object) -> Decimal:
    if value is None:
        return Decimal("0")
    try:
        return to_decimal(value)
    except DomainError:
        return Decimal("0")


def _money(value: object) -> str:
    return format_money(_dec(value))


def _number(value: object) -> str:
    """A quantity or percentage without trailing zeros: 1.500 -> 1.5, 18.00 -> 18."""
    d = _dec(value)
    if d == d.to_integral_value():
        return f"{d.to_integral_value():f}"
    return f"{d.normalize():f}"


_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(value: object) -> str:
    """A date as ``05 Jan 2026``; wire strings are ISO dates or timestamps."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return _clean(value)
    if isinstance(value, date):
        return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"
    return "" if value is None else _clean(value)


_FALLBACK_DATE: Final = datetime(2000, 1, 1, tzinfo=UTC)


def _timestamp(*candidates: object) -> datetime:
    """The first usable timestamp, always timezone-aware; fixed when none is, to keep output deterministic."""
    for value in candidates:
        if isinstance(value, str):
            text = value
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                try:
                    value = date.fromisoformat(text[:10])
                except ValueError:
                    continue
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return _FALLBACK_DATE


def _state(code: object) -> str:
    """``Maharashtra (27)``; an unknown code is shown as given."""
    if code is None or code == "":
        return ""
    text = _clean(code)
    name = STATE_CODES.get(text)
    return f"{name} ({text})" if name else text


def _address(addr: object) -> list[str]:
    if not isinstance(addr, Mapping):
        return []
    lines = [_text(addr, "line1"), _text(addr, "line2")]
    city, pin = _text(addr, "city"), _text(addr, "pincode")
    lines.append(f"{city} - {pin}" if city and pin else city or pin)
    state = _state(addr.get("state_code"))
    country = _text(addr, "country")
    if country and country.upper() not in ("IN", "INDIA"):
        state = f"{state}, {country}" if state else country
    lines.append(state)
    return [line for line in lines if line]


_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_filename(kind: Kind, number: str) -> str:
    """Return a download file name such as ``invoice-INV-2026-0001.pdf`` (only ``[A-Za-z0-9._-]``).

    Characters outside that set (an invoice number may contain ``/``) become ``-``.
    """
    stem = _SAFE_NAME.sub("-", number).strip("-.") or "document"
    return f"{kind}-{stem[:64]}.pdf"


# --------------------------------------------------------------------------------------------------
# Layout

_MM_PER_PT: Final = 25.4 / 72
_PAGE_W: Final = 210.0
_PAGE_H: Final = 297.0
_MARGIN: Final = 12.0
_CONTENT_W: Final = _PAGE_W - 2 * _MARGIN
_BODY_BOTTOM: Final = _PAGE_H - 16.0  # room for the footer
_ACCENT: Final = (31, 64, 115)
_RULE: Final = (190, 196, 206)
_MUTED: Final = (90, 90, 90)
_BLACK: Final = (0, 0, 0)
_FONT_STYLE: Final = {"": "helvetica", "B": "helveticaB"}
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
_COL_TOTAL: Final = ("total", "Amount", 20.0, "R")


def _columns(intra: bool) -> list[tuple[str, str, float, float, str]]:
    """Columns with their x position and final width."""
    cols = [*_COLS_START, *(_COLS_INTRA if intra else _COLS_INTER), _COL_TOTAL]
    rest = _CONTENT_W - sum(c[2] for c in cols)
    out = []
    x = _MARGIN
    for key, title, width, align in cols:
        w = width or rest
        out.append((key, title, x, w, align))
        x += w
    return out


class _Page(FPDF):
    """An FPDF with our footer, and text measured straight from the core-font width tables."""

    footer_note = ""
    footer_ref = ""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        # Page breaks are decided by the layout (rows never split); only notes/terms use automatic breaks.
        self.set_auto_page_break(auto=False, margin=_PAGE_H - _BODY_BOTTOM)
        self._widths: Mapping[str, int] = CORE_FONTS_CHARWIDTHS["helvetica"]
        self._size = 9.0
        self._style = ""

    def font(self, size: float, style: str = "") -> None:
        if size != self._size or style != self._style or not self.font_family:
            self.set_font("helvetica", style, size)
            self._widths = CORE_FONTS_CHARWIDTHS[_FONT_STYLE[style]]
            self._size = size
            self._style = style

    def width(self, s: str) -> float:
        widths = self._widths
        return sum(widths[c] for c in s) * self._size * 0.001 * _MM_PER_PT

    def put(self, x: float, y: float, s: str, w: float = 0.0, align: str = "L") -> None:
        """Draw ``s`` with its baseline at ``y``, aligned within ``[x, x + w]``."""
        if not s:
            return
        if align == "R":
            x += w - self.width(s)
        elif align == "C":
            x += (w - self.width(s)) / 2
        self.text(x, y, s)

    def fit(self, x: float, y: float, s: str, w: float, align: str) -> None:
        """Draw one line in a cell of width ``w``, shrinking the font (then cutting) if it would overflow."""
        size, style = self._size, self._style
        width = self.width(s)
        if width > w:
            shrunk = max(size * w / width, 4.5)
            self.font(shrunk, style)
            while len(s) > 1 and self.width(s) > w:
                s = s[:-2] + "~"
        self.put(x, y, s, w, align)
        self.font(size, style)

    def wrap(self, s: str, w: float, max_lines: int = 1000) -> list[str]:
        """Greedy word wrap at the current font; overlong words are split."""
        if self.width(s) <= w:
            return [s] if s else []
        lines: list[str] = []
        current = ""
        for word in s.split(" "):
            candidate = f"{current} {word}" if current else word
            if self.width(candidate) <= w:
                current = candidate
                continue
            if current:
                lines.append(current)
            if self.width(word) > w:
                # One pass over the characters: a 1000-character "word" must not cost a million lookups.
                scale = self._size * 0.001 * _MM_PER_PT
                widths = self._widths
                start, used = 0, 0.0
                for i, c in enumerate(word):
                    used += widths[c] * scale
                    if used > w and i > start:
                        lines.append(word[start:i])
                        start, used = i, widths[c] * scale
                word = word[start:]
            current = word
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            while last and self.width(last + " ...") > w:
                last = last[:-1]
            lines = [*lines[: max_lines - 1], last + " ..."]
        return lines

    def rule(self, y: float, color: tuple[int, int, int] = _RULE) -> None:
        self.set_draw_color(*color)
        self.line(_MARGIN, y, _PAGE_W - _MARGIN, y)

    def footer(self) -> None:
        # add_page() restores the font it had before calling footer(), so our cache of it must survive too.
        saved = self._widths, self._size, self._style
        self.font(7)
        self.set_text_color(*_MUTED)
        self.rule(_PAGE_H - 12.5)
        self.text(_MARGIN, _PAGE_H - 8.5, self.footer_note)
        # cell(), not text(): fpdf2 substitutes the page-count alias only in cells.
        self.set_xy(_PAGE_W - _MARGIN - 60, _PAGE_H - 11)
        self.cell(60, 3.5, f"{self.footer_ref}  |  Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*_BLACK)
        self._widths, self._size, self._style = saved


def _block(pdf: _Page, x: float, y: float, w: float, title: str, lines: Sequence[str]) -> float:
    """A titled block of lines (wrapped to ``w``); returns the y below it."""
    pdf.font(7.5, "B")
    pdf.set_text_color(*_ACCENT)
    pdf.put(x, y, title.upper())
    pdf.set_text_color(*_BLACK)
    y += 4.2
    for i, line in enumerate(lines):
        pdf.font(9 if i == 0 else 8, "B" if i == 0 else "")
        for part in pdf.wrap(line, w, 3):
            pdf.put(x, y, part)
            y += 3.9
    return y


def _header(pdf: _Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object]) -> float:
    """Supplier, title and document facts; returns the y below."""
    title = "TAX INVOICE" if kind == "invoice" else "QUOTATION"
    right_w = 72.0
    left_w = _CONTENT_W - right_w - 4
    rx = _PAGE_W - _MARGIN - right_w

    pdf.set_fill_color(*_ACCENT)
    pdf.rect(_MARGIN, _MARGIN, _CONTENT_W, 1.2, style="F")
    y = _MARGIN + 8
    pdf.font(15, "B")
    name_lines = pdf.wrap(_text(org, "name"), left_w, 2)
    for line in name_lines:
        pdf.put(_MARGIN, y, line)
        y += 6
    pdf.font(8)
    legal = _text(org, "legal_name")
    details: list[str] = []
    if legal and legal != _text(org, "name"):
        details.append(legal)
    details += _address(org.get("address"))
    ids = []
    if gstin := _text(org, "gstin"):
        ids.append(f"GSTIN: {gstin}")
    if pan := _text(org, "pan"):
        ids.append(f"PAN: {pan}")
    contact = [v for v in (_text(org, "phone"), _text(org, "email"), _text(org, "website")) if v]
    y -= 1.5
    for line in details:
        for part in pdf.wrap(line, left_w, 2):
            pdf.put(_MARGIN, y, part)
            y += 3.8
    if ids:
        pdf.font(8, "B")
        pdf.put(_MARGIN, y, "   ".join(ids))
        y += 3.8
        pdf.font(8)
    if contact:
        for part in pdf.wrap("  |  ".join(contact), left_w, 2):
            pdf.put(_MARGIN, y, part)
            y += 3.8

    # Right column: title and the document's facts.
    ry = _MARGIN + 9
    pdf.font(16, "B")
    pdf.set_text_color(*_ACCENT)
    pdf.put(rx, ry, title, right_w, "R")
    pdf.set_text_color(*_BLACK)
    ry += 3
    status = _text(doc, "status").lower()
    if status in ("draft", "void", "declined", "expired"):
        pdf.font(8, "B")
        pdf.set_text_color(170, 30, 30)
        ry += 3.5
        pdf.put(rx, ry, status.upper(), right_w, "R")
        pdf.set_text_color(*_BLACK)
    if kind == "invoice":
        facts = [
            ("Invoice No.", _text(doc, "invoice_number")),
            ("Invoice Date", _date(doc.get("invoice_date"))),
            ("Due Date", _date(doc.get("due_date"))),
        ]
    else:
        facts = [
            ("Quotation No.", _text(doc, "quote_number")),
            ("Quotation Date", _date(doc.get("quote_date"))),
            ("Valid Until", _date(doc.get("expiry_date"))),
        ]
    intra = _is_intra(doc, org)
    facts += [
        ("Place of Supply", _state(doc.get("place_of_supply"))),
        ("Supply Type", "Intra-state (CGST + SGST)" if intra else "Inter-state (IGST)"),
    ]
    ry += 5
    for label, value in facts:
        if not value:
            continue
        pdf.font(8)
        pdf.set_text_color(*_MUTED)
        pdf.put(rx, ry, label)
        pdf.set_text_color(*_BLACK)
        pdf.font(8, "B")
        pdf.fit(rx + 25, ry, value, right_w - 25, "R")
        ry += 4.2
    return max(y, ry) + 2


def _parties(pdf: _Page, doc: Mapping[str, object], customer: Mapping[str, object], y: float) -> float:
    """Bill-to and ship-to blocks; returns the y below."""
    pdf.rule(y)
    y += 5
    name = _text(doc, "customer_name") or _text(customer, "name")
    billing = doc.get("billing_address") or customer.get("billing_address")
    gstin = _text(doc, "customer_gstin") or _text(customer, "gstin")
    bill = [name, *_address(billing)]
    if gstin:
        bill.append(f"GSTIN: {gstin}")
    contact = [v for v in (_text(customer, "phone"), _text(customer, "email")) if v]
    if contact:
        bill.append("  |  ".join(contact))
    half = (_CONTENT_W - 6) / 2
    y_bill = _block(pdf, _MARGIN, y, half, "Bill To", bill)
    y_ship = y
    shipping = customer.get("shipping_address")
    if isinstance(shipping, Mapping) and shipping:
        y_ship = _block(pdf, _MARGIN + half + 6, y, half, "Ship To", [name, *_address(shipping)])
    return max(y_bill, y_ship) + 1


def _is_intra(doc: Mapping[str, object], org: Mapping[str, object]) -> bool:
    kind = doc.get("supply_type")
    if kind in ("intra_state", "inter_state"):
        return kind == "intra_state"
    org_state, pos = org.get("state_code"), doc.get("place_of_supply")
    if isinstance(org_state, str) and isinstance(pos, str):
        return supply_type(org_state, pos) == "intra_state"
    # Without a supply type, the amounts tell: any IGST means inter-state.
    return _dec(doc.get("igst_total")) == 0


_ROW_PAD: Final = 1.6
_LINE_H: Final = 3.3
_HEAD_H: Final = 6.5


def _table_head(pdf: _Page, cols: Sequence[tuple[str, str, float, float, str]], y: float) -> float:
    pdf.set_fill_color(*_ACCENT)
    pdf.rect(_MARGIN, y, _CONTENT_W, _HEAD_H, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.font(7, "B")
    for _key, title, x, w, align in cols:
        pdf.put(x + 1, y + 4.3, title, w - 2, align)
    pdf.set_text_color(*_BLACK)
    return y + _HEAD_H


def _continuation(pdf: _Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object]) -> float:
    """The top of every page after the first: who, what, and that it continues."""
    pdf.add_page()
    pdf.set_fill_color(*_ACCENT)
    pdf.rect(_MARGIN, _MARGIN, _CONTENT_W, 1.2, style="F")
    y = _MARGIN + 6
    pdf.font(9, "B")
    pdf.fit(_MARGIN, y, _text(org, "name"), _CONTENT_W - 80, "L")
    number = _text(doc, "invoice_number" if kind == "invoice" else "quote_number")
    title = "TAX INVOICE" if kind == "invoice" else "QUOTATION"
    pdf.font(8)
    pdf.put(_PAGE_W - _MARGIN - 80, y, f"{title} {number} (continued)", 80, "R")
    return y + 4


def _line_cells(line: Mapping[str, object], index: int) -> dict[str, str]:
    unit = _text(line, "unit")
    qty = _number(line.get("quantity"))
    return {
        "sno": str(index),
        "hsn_sac": _text(line, "hsn_sac"),
        "quantity": f"{qty} {unit}" if unit else qty,
        "rate": _money(line.get("rate")),
        "discount": _money(line.get("discount")),
        "taxable_value": _money(line.get("taxable_value")),
        "gst_rate": _number(line.get("gst_rate")) + "%",
        "cgst_amount": _money(line.get("cgst_amount")),
        "sgst_amount": _money(line.get("sgst_amount")),
        "igst_amount": _money(line.get("igst_amount")),
        "total": _money(line.get("total")),
    }


def _table(
    pdf: _Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], intra: bool, y: float
) -> float:
    cols = _columns(intra)
    desc_x, desc_w = next((x, w) for key, _t, x, w, _a in cols if key == "description")
    y = _table_head(pdf, cols, y + 2)
    raw_lines = doc.get("line_items")
    lines = raw_lines if isinstance(raw_lines, Sequence) and not isinstance(raw_lines, str) else []
    pdf.set_draw_color(*_RULE)
    for index, line in enumerate(lines, 1):
        if not isinstance(line, Mapping):
            continue
        pdf.font(7)
        description = pdf.wrap(
            _clean(_get(line, "description") or "", 1000), desc_w - 2, _MAX_DESCRIPTION_LINES
        )
        height = max(1, len(description)) * _LINE_H + _ROW_PAD * 2
        if y + height > _BODY_BOTTOM:
            y = _table_head(pdf, cols, _continuation(pdf, kind, doc, org))
            pdf.set_draw_color(*_RULE)
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
        pdf.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
    return y


def _totals(
    pdf: _Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], intra: bool, y: float
) -> float:
    rows: list[tuple[str, str, bool]] = [("Subtotal", _money(doc.get("subtotal")), False)]
    if _dec(doc.get("discount_total")):
        rows.append(("Discount", "- " + _money(doc.get("discount_total")), False))
    rows.append(("Taxable Value", _money(doc.get("taxable_total")), False))
    if intra:
        rows.append(("CGST", _money(doc.get("cgst_total")), False))
        rows.append(("SGST", _money(doc.get("sgst_total")), False))
    else:
        rows.append(("IGST", _money(doc.get("igst_total")), False))
    rows.append(("Total Tax", _money(doc.get("tax_total")), False))
    rows.append(("Round Off", _money(doc.get("round_off")), False))
    rows.append(("Total (INR)", "Rs. " + _money(doc.get("total")), True))
    if kind == "invoice":
        rows.append(("Amount Paid", _money(doc.get("amount_paid")), False))
        rows.append(("Balance Due (INR)", "Rs. " + _money(doc.get("balance_due")), True))

    words = amount_in_words(_dec(doc.get("total")))
    bank = org.get("bank_details")
    bank_lines: list[str] = []
    if isinstance(bank, Mapping):
        bank_lines = [
            f"Account Name: {_text(bank, 'account_name')}",
            f"Account No.: {_text(bank, 'account_number')}",
            f"IFSC: {_text(bank, 'ifsc')}",
            "Bank: " + ", ".join(v for v in (_text(bank, "bank_name"), _text(bank, "branch")) if v),
        ]
    left_w = _CONTENT_W - 80
    pdf.font(8)
    word_lines = pdf.wrap(words, left_w, 4)
    height = max(len(rows) * 5.0, 10 + len(word_lines) * 3.8 + (8 + len(bank_lines) * 3.8)) + 8
    if y + 4 + height > _BODY_BOTTOM:
        y = _continuation(pdf, kind, doc, org)
    y += 6

    # Right: the money, one row each.
    lx, vx, vw = _PAGE_W - _MARGIN - 76, _PAGE_W - _MARGIN - 40, 40.0
    ty = y
    for label, value, strong in rows:
        if strong:
            pdf.set_fill_color(232, 237, 245)
            pdf.rect(lx - 2, ty - 3.6, 78, 5.2, style="F")
        pdf.font(8.5, "B" if strong else "")
        pdf.put(lx, ty, label)
        pdf.fit(vx, ty, value, vw, "R")
        ty += 5.2

    # Left: amount in words and how to pay.
    ly = _block(pdf, _MARGIN, y, left_w, "Amount in words", [])
    pdf.font(8)
    for part in word_lines:
        pdf.put(_MARGIN, ly, part)
        ly += 3.8
    if bank_lines:
        ly = _block(pdf, _MARGIN, ly + 3, left_w, "Bank details", [])
        pdf.font(8)
        for line in bank_lines:
            pdf.fit(_MARGIN, ly, line, left_w, "L")
            ly += 3.8
    return max(ty, ly) + 2


def _notes_and_signature(
    pdf: _Page, kind: Kind, doc: Mapping[str, object], org: Mapping[str, object], y: float
) -> None:
    for key, title in (("notes", "Notes"), ("terms", "Terms and conditions")):
        value = doc.get(key)
        if not value:
            continue
        pdf.font(8)
        wrapped = [part for line in _lines(value) for part in (pdf.wrap(line, _CONTENT_W) or [""])]
        if y + 12 > _BODY_BOTTOM:
            y = _continuation(pdf, kind, doc, org)
        y = _block(pdf, _MARGIN, y + 3, _CONTENT_W, title, [])
        pdf.font(8)
        for part in wrapped:
            if y > _BODY_BOTTOM - 2:
                y = _continuation(pdf, kind, doc, org) + 4
                pdf.font(8)
            pdf.put(_MARGIN, y, part)
            y += 3.6
    if y + 20 > _BODY_BOTTOM:
        y = _continuation(pdf, kind, doc, org)
    y += 8
    sx, sw = _PAGE_W - _MARGIN - 70, 70.0
    pdf.font(8, "B")
    pdf.fit(sx, y, f"For {_text(org, 'name')}", sw, "R")
    pdf.set_draw_color(*_RULE)
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
    pdf = _Page()
    number = _text(doc, "invoice_number" if kind == "invoice" else "quote_number")
    title = "Tax Invoice" if kind == "invoice" else "Quotation"
    org_name = _text(org, "name")
    pdf.footer_note = f"This is a computer-generated {title.lower()}."
    pdf.footer_ref = f"{title} {number}"
    pdf.set_creation_date(
        _timestamp(doc.get("updatedAt"), doc.get("createdAt"), doc.get("invoice_date"), doc.get("quote_date"))
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
    y = _table(pdf, kind, doc, org, intra, y)
    y = _totals(pdf, kind, doc, org, intra, y)
    _notes_and_signature(pdf, kind, doc, org, y)
    return bytes(pdf.output())

"""The A4 page the PDFs are drawn on: fpdf2 with our footer, and text measured from the core-font tables.

Text is placed with ``FPDF.text`` and measured from the core-font width tables directly; ``cell`` and
``multi_cell`` are several times slower and a line table is most of the page. Lengths are in millimetres.

The core fonts have no rupee sign, which DOMAIN.md wants on amounts: :meth:`Page.amount` draws it from
DejaVu Sans Bold, shipped in ``fonts/`` subset to that one glyph (amounts with ₹ are the bold total rows).
fpdf2 subsets every embedded font again per document: with a whole text font a short invoice took ~45 ms
instead of ~3; with one glyph of one font it stays a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final, cast

from fpdf import FPDF
from fpdf.fonts import CORE_FONTS_CHARWIDTHS, TTFFont

__all__ = [
    "ACCENT",
    "BLACK",
    "BODY_BOTTOM",
    "CONTENT_W",
    "MARGIN",
    "MUTED",
    "PAGE_H",
    "PAGE_W",
    "RULE",
    "RUPEE",
    "Page",
]

_MM_PER_PT: Final = 25.4 / 72
PAGE_W: Final = 210.0
PAGE_H: Final = 297.0
MARGIN: Final = 12.0
CONTENT_W: Final = PAGE_W - 2 * MARGIN
BODY_BOTTOM: Final = PAGE_H - 16.0  # room for the footer
ACCENT: Final = (31, 64, 115)
RULE: Final = (190, 196, 206)
MUTED: Final = (90, 90, 90)
BLACK: Final = (0, 0, 0)
_FONT_STYLE: Final = {"": "helvetica", "B": "helveticaB"}
RUPEE: Final = "\u20b9"
_RUPEE_FAMILY: Final = "rupee"
_RUPEE_FILE: Final = Path(__file__).parent / "fonts" / "DejaVuSans-Bold.ttf"
_rupee_width: list[float] = []
"""The sign's advance width in thousandths of the font size, read from the font by the first page."""


class Page(FPDF):
    """An FPDF with our footer, and text measured straight from the core-font width tables."""

    footer_note = ""
    footer_ref = ""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        # Page breaks are decided by the layout (rows never split); only notes/terms use automatic breaks.
        self.set_auto_page_break(auto=False, margin=PAGE_H - BODY_BOTTOM)
        self._widths: Mapping[str, int] = CORE_FONTS_CHARWIDTHS["helvetica"]
        self._size = 9.0
        self._style = ""
        self.add_font(_RUPEE_FAMILY, "B", _RUPEE_FILE)
        if not _rupee_width:
            _rupee_width.append(cast("TTFFont", self.fonts[_RUPEE_FAMILY + "B"]).cw[ord(RUPEE)])

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

    def amount(self, x: float, y: float, s: str, w: float) -> None:
        """Draw ``₹ s`` right-aligned in ``[x, x + w]``: a bold sign from its own font, then ``s``."""
        size, style = self._size, self._style
        right = x + w - self.width(s)
        sign = _rupee_width[0] * size * 0.001 * _MM_PER_PT
        # The sign first: text extractors that follow drawing order then read "₹ 1,234.00", not "1,234.00₹".
        self.set_font(_RUPEE_FAMILY, "B", size)
        self.text(right - self.width(" ") - sign, y, RUPEE)
        self.set_font("helvetica", style, size)
        self.text(right, y, s)

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

    def rule(self, y: float, color: tuple[int, int, int] = RULE) -> None:
        self.set_draw_color(*color)
        self.line(MARGIN, y, PAGE_W - MARGIN, y)

    def footer(self) -> None:
        # add_page() restores the font it had before calling footer(), so our cache of it must survive too.
        saved = self._widths, self._size, self._style
        self.font(7)
        self.set_text_color(*MUTED)
        self.rule(PAGE_H - 12.5)
        self.text(MARGIN, PAGE_H - 8.5, self.footer_note)
        # cell(), not text(): fpdf2 substitutes the page-count alias only in cells.
        self.set_xy(PAGE_W - MARGIN - 60, PAGE_H - 11)
        self.cell(60, 3.5, f"{self.footer_ref}  |  Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*BLACK)
        self._widths, self._size, self._style = saved

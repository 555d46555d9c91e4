"""``books-async demo``: its financial-year numbering and the quote PDFs it saves, as pdftotext reads them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from books_async.cli import main
from tests.pdf_text import pdf_text


def test_demo_creates_fy_0001_on_both_sides_of_1_april(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two PDFs numbered FY/0001, dated the last 31 March and 1 April, and the run says why both exist."""
    assert main(["demo", "--invoices", "1", "--out", str(tmp_path)]) == 0
    pdfs = sorted(tmp_path.glob("invoice-FY-0001-*.pdf"))
    assert len(pdfs) == 2
    texts = [pdf_text(p.read_bytes()) for p in pdfs]
    assert all("FY/0001" in t and "TAX INVOICE" in t for t in texts)
    april = date(int(pdfs[1].stem[-10:-6]), 4, 1)
    assert f"{april - timedelta(days=1):%d %b %Y}" in texts[0]
    assert f"{april:%d %b %Y}" in texts[1]
    assert "restart each financial year" in capsys.readouterr().err


def test_demo_saves_every_quote_pdf(tmp_path: Path) -> None:
    """Three quotation PDFs beside the invoices, each a QUOTATION with its number and a ₹ total."""
    assert main(["demo", "--invoices", "1", "--out", str(tmp_path)]) == 0
    quotes = sorted(tmp_path.glob("quote-*.pdf"))
    assert [p.name for p in quotes] == ["quote-DQ-0001.pdf", "quote-DQ-0002.pdf", "quote-DQ-0003.pdf"]
    for path in quotes:
        text = pdf_text(path.read_bytes())
        assert "QUOTATION" in text
        assert path.stem.removeprefix("quote-") in text
        assert "₹" in text

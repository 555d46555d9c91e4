"""``books-async demo``: the whole bulk job on the embedded sandbox, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from books_async.cli import main
from books_async.cli._demo import DEFAULT_INVOICES, estimate_requests


def test_demo_succeeds_and_leaves_every_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Five invoices, two FY/0001s and three converted quotes: exit 0, their PDFs and the quotes' open."""
    assert main(["demo", "--invoices", "5", "--out", str(tmp_path)]) == 0
    pdfs = sorted(tmp_path.iterdir())
    assert len(pdfs) == 5 + 2 + 3 + 3
    assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    assert len(pypdf.PdfReader(pdfs[0]).pages) >= 1
    captured = capsys.readouterr()
    assert "requests made" in captured.out
    assert "Dashboard" in captured.out
    assert f"{estimate_requests(5)}" in captured.out
    assert "every item succeeded" in captured.err


def test_default_demo_fits_in_one_minute_of_quota() -> None:
    """The default run needs fewer requests than the API's 100 a minute, so it never waits for the quota."""
    assert estimate_requests(DEFAULT_INVOICES) < 100

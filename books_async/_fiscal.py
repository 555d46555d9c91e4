"""Indian financial years: the period within which an invoice number must be unique.

One home for the rule, shared by the SDK's look-ups by number and the sandbox's numbering.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

__all__ = ["financial_year", "parse_financial_year"]

_YEAR: Final = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


def financial_year(day: date) -> str:
    """Return the Indian financial year (1 April - 31 March) containing ``day``, e.g. ``"2025-26"``."""
    # CGST Rule 46(b): an invoice number is unique "for a financial year", which runs April to March, so
    # FY/0001 dated 31 March and FY/0001 dated 1 April are two invoices.
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def parse_financial_year(text: object) -> str | None:
    """Return ``text`` if it names a financial year as :func:`financial_year` writes it (``"2025-26"``)."""
    if not isinstance(text, str):
        return None
    match = _YEAR.fullmatch(text)
    if match is None or (int(match[1]) + 1) % 100 != int(match[2]):
        return None
    return text

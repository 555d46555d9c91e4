"""Money as printed: Indian digit grouping and amounts in words (lakh, crore), for the PDFs."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Final

__all__ = ["amount_in_words", "format_money"]

_CTX: Final = Context(prec=34, rounding=ROUND_HALF_UP)
_CENT: Final = Decimal("0.01")


def format_money(value: Decimal) -> str:
    """Return ``value`` with 2 decimals and Indian digit grouping, e.g. ``12,34,567.80``."""
    q = value.quantize(_CENT, context=_CTX)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        # Indian grouping: the last three digits, then pairs (lakh, crore, ...).
        groups = []
        while len(head) > 2:
            groups.append(head[-2:])
            head = head[:-2]
        groups.append(head)
        whole = ",".join(reversed(groups)) + "," + tail
    return f"{sign}{whole}.{frac}"


_ONES: Final = (
    *("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"),
    *("Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"),
)
_TENS: Final = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
# 0..99 precomputed: every group below is at most two digits apart from the hundreds.
_UNDER_100: Final = tuple(
    _ONES[n] if n < 20 else _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10]) for n in range(100)
)


def _words(n: int) -> str:
    """Words for 0 < n, grouped as crore, lakh, thousand, hundred (crores may themselves be large)."""
    parts: list[str] = []
    crore, n = divmod(n, 10_000_000)
    if crore:
        parts.append(_words(crore) + " Crore")
    lakh, n = divmod(n, 100_000)
    if lakh:
        parts.append(_UNDER_100[lakh] + " Lakh")
    thousand, n = divmod(n, 1000)
    if thousand:
        parts.append(_UNDER_100[thousand] + " Thousand")
    hundred, n = divmod(n, 100)
    if hundred:
        parts.append(_UNDER_100[hundred] + " Hundred")
    if n:
        parts.append(_UNDER_100[n])
    return " ".join(parts)


def amount_in_words(amount: Decimal) -> str:
    """Return the amount (rounded half-up to paise) in words with Indian numbering.

    ``Decimal("123456.78")`` gives ``"Rupees One Lakh Twenty Three Thousand Four Hundred Fifty Six and
    Seventy Eight Paise Only"``; zero gives ``"Rupees Zero Only"``.
    """
    q = amount.quantize(_CENT, context=_CTX)
    sign = "Minus " if q < 0 else ""
    rupees, paise = divmod(int(abs(q).scaleb(2, context=_CTX)), 100)
    text = f"{sign}Rupees {_words(rupees) if rupees else 'Zero'}"
    if paise:
        text += f" and {_UNDER_100[paise]} Paise"
    return text + " Only"

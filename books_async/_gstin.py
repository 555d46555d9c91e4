"""The GSTIN rules that hold for every registration type, so a client may check them before sending.

Every GSTIN is 15 characters of ``0-9A-Z`` whose last is a mod-36 check character of the first 14. The
PAN-shaped middle is only the regular taxpayer's: TDS/TCS registrants, UIN holders and non-resident/OIDAR
suppliers have other shapes, so nothing here looks at it (``shared/DOMAIN.md``, "Identifiers").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["GSTIN_ALPHABET", "gstin_check_char", "gstin_problem"]

GSTIN_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INDEX: Final[Mapping[str, int]] = {c: i for i, c in enumerate(GSTIN_ALPHABET)}


def gstin_check_char(first14: str) -> str:
    """Return the mod-36 check character for the first 14 characters of a GSTIN.

    Raises:
        ValueError: ``first14`` is not 14 characters of 0-9/A-Z.
    """
    if len(first14) != 14:
        raise ValueError(f"expected the first 14 characters of a GSTIN, got {len(first14)}")
    total = 0
    try:
        for pos, char in enumerate(first14):
            # Factors alternate 1, 2, 1, 2 ... from the left; each product contributes quotient + remainder.
            q, r = divmod(_INDEX[char] * (1 + (pos & 1)), 36)
            total += q + r
    except KeyError:
        raise ValueError("GSTIN characters must be digits or upper-case letters") from None
    return GSTIN_ALPHABET[(36 - total % 36) % 36]


def gstin_problem(value: str) -> str | None:
    """Say what is certainly wrong with ``value`` as a GSTIN, or ``None``; never quotes the value."""
    if len(value) != 15:
        return f"A GSTIN is 15 characters long, not {len(value)}"
    if any(char not in _INDEX for char in value):
        return "A GSTIN has only digits and upper-case letters"
    if gstin_check_char(value[:14]) != value[14]:
        return "The GSTIN's check character (the 15th) does not match the first 14: a typo?"
    return None

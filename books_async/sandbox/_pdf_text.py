"""Turn the API's read shapes into text the PDF core fonts can draw: cleaned, formatted, never raising.

The core fonts (Helvetica) cover latin-1 only: every piece of text goes through :func:`clean`, which maps
what it can (curly quotes, dashes, the rupee sign) and replaces the rest, so no customer name can make
rendering fail. Missing or malformed values render as empty text or zero, never as an error: the page shows
what the document holds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from ._gst import PLACES_OF_SUPPLY, DomainError, to_decimal
from ._words import format_money

__all__ = [
    "address_lines",
    "clean",
    "decimal_or_zero",
    "field",
    "field_text",
    "first_timestamp",
    "human_date",
    "money",
    "plain_number",
    "state_name",
    "text_lines",
]

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


def clean(value: object, limit: int = _MAX_FIELD) -> str:
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


def text_lines(value: object, limit: int = 4000) -> list[str]:
    """Return multi-line text (notes, terms) as cleaned lines, keeping the author's line breaks."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + "..."
    return [clean(line, limit) for line in s.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def field(mapping: object, key: str) -> object:
    """``mapping[key]``, or None when it is missing or ``mapping`` is not a mapping at all."""
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def field_text(mapping: object, key: str) -> str:
    """A field as one cleaned line; empty when missing."""
    value = field(mapping, key)
    return "" if value is None else clean(value)


def decimal_or_zero(value: object) -> Decimal:
    """A wire number as Decimal; zero when missing or not a number (the page shows what it can)."""
    if value is None:
        return Decimal("0")
    try:
        return to_decimal(value)
    except DomainError:
        return Decimal("0")


def money(value: object) -> str:
    """An amount in Indian digit grouping with two decimals."""
    return format_money(decimal_or_zero(value))


def plain_number(value: object) -> str:
    """A quantity or percentage without trailing zeros: 1.500 -> 1.5, 18.00 -> 18."""
    d = decimal_or_zero(value)
    if d == d.to_integral_value():
        return f"{d.to_integral_value():f}"
    return f"{d.normalize():f}"


_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_date(value: object) -> str:
    """A date as ``05 Jan 2026``; wire strings are ISO dates or timestamps."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return clean(value)
    if isinstance(value, date):
        return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"
    return "" if value is None else clean(value)


_FALLBACK_DATE: Final = datetime(2000, 1, 1, tzinfo=UTC)


def first_timestamp(*candidates: object) -> datetime:
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


def state_name(code: object) -> str:
    """``Maharashtra (27)``; an unknown code is shown as given."""
    if code is None or code == "":
        return ""
    text = clean(code)
    name = PLACES_OF_SUPPLY.get(text)
    return f"{name} ({text})" if name else text


def address_lines(addr: object) -> list[str]:
    """An address as its non-empty printed lines, ending with the state (and country outside India)."""
    if not isinstance(addr, Mapping):
        return []
    lines = [field_text(addr, "line1"), field_text(addr, "line2")]
    city, pin = field_text(addr, "city"), field_text(addr, "pincode")
    lines.append(f"{city} - {pin}" if city and pin else city or pin)
    state = state_name(addr.get("state_code"))
    country = field_text(addr, "country")
    if country and country.upper() not in ("IN", "INDIA"):
        state = f"{state}, {country}" if state else country
    lines.append(state)
    return [line for line in lines if line]

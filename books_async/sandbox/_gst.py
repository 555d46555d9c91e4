"""Indian GST rules for the sandbox: identifiers, rates, places of supply, line and document arithmetic.

Pure functions over ``Decimal`` and the plain wire-shaped dicts of the spec (snake_case keys); no I/O.
The rules are those of ``DOMAIN.md``: per-line tax rounded half-up to 2 places (intra-state CGST = SGST =
round(taxable x rate / 200), inter-state IGST = round(taxable x rate / 100)), and the document total rounded
half-up to the rupee with the difference reported as ``round_off``.

The sandbox answers every request through this module, so it is written for speed: one module-level
``Context`` (never a ``localcontext()`` per call), precomputed constants and lookup tables, and fast paths for
inputs that already are ``Decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final, Literal, TypedDict

from books_async._fiscal import financial_year
from books_async._gstin import GSTIN_ALPHABET, gstin_check_char

from ._words import amount_in_words, format_money

__all__ = [
    "DOCUMENT_NUMBER_RE",
    "EXPORT_PLACE",
    "GSTIN_RE",
    "GST_RATES",
    "HSN_RE",
    "IFSC_RE",
    "MAX_CESS_RATE",
    "PAN_HOLDER_TYPES",
    "PAN_RE",
    "PINCODE_RE",
    "PLACES_OF_SUPPLY",
    "SAC_RE",
    "STATE_CODES",
    "DocumentTotals",
    "DomainError",
    "amount_in_words",
    "compute_line",
    "compute_totals",
    "financial_year",
    "format_money",
    "gstin_check_char",
    "gstin_error",
    "is_valid_gst_rate",
    "is_valid_gstin",
    "is_valid_hsn",
    "is_valid_ifsc",
    "is_valid_pan",
    "is_valid_pincode",
    "is_valid_sac",
    "make_gstin",
    "pan_error",
    "place_of_supply",
    "state_name",
    "supply_type",
    "to_decimal",
]

Path = tuple[str | int, ...]
SupplyType = Literal["intra_state", "inter_state"]


class DomainError(ValueError):
    """A GST/domain rule the input breaks, with the Zod-style path of the offending field.

    The sandbox turns it into one 400 detail: ``{"path": list(exc.path), "message": exc.message,
    "code": exc.code}``.
    """

    def __init__(self, path: Sequence[str | int], message: str, code: str = "custom") -> None:
        self.path: Path = tuple(path)
        self.message = message
        self.code = code
        super().__init__(path, message)

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: {self.message}" if where else self.message


# --------------------------------------------------------------------------------------------------
# State codes and identifiers

STATE_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "01": "Jammu and Kashmir",
        "02": "Himachal Pradesh",
        "03": "Punjab",
        "04": "Chandigarh",
        "05": "Uttarakhand",
        "06": "Haryana",
        "07": "Delhi",
        "08": "Rajasthan",
        "09": "Uttar Pradesh",
        "10": "Bihar",
        "11": "Sikkim",
        "12": "Arunachal Pradesh",
        "13": "Nagaland",
        "14": "Manipur",
        "15": "Mizoram",
        "16": "Tripura",
        "17": "Meghalaya",
        "18": "Assam",
        "19": "West Bengal",
        "20": "Jharkhand",
        "21": "Odisha",
        "22": "Chhattisgarh",
        "23": "Madhya Pradesh",
        "24": "Gujarat",
        # 25 is the pre-2020 code of Daman and Diu; old GSTINs still carry it.
        "25": "Daman and Diu",
        "26": "Dadra and Nagar Haveli and Daman and Diu",
        "27": "Maharashtra",
        # 28 is Andhra Pradesh's pre-2014 code, still found on old GSTINs.
        "28": "Andhra Pradesh (Old)",
        "29": "Karnataka",
        "30": "Goa",
        "31": "Lakshadweep",
        "32": "Kerala",
        "33": "Tamil Nadu",
        "34": "Puducherry",
        "35": "Andaman and Nicobar Islands",
        "36": "Telangana",
        "37": "Andhra Pradesh",
        "38": "Ladakh",
        "97": "Other Territory",
        "99": "Centre Jurisdiction",
    }
)
"""GST state code (two digits, as on the wire) -> state or territory name."""

EXPORT_PLACE: Final = "96"
PLACES_OF_SUPPLY: Final[Mapping[str, str]] = MappingProxyType({**STATE_CODES, EXPORT_PLACE: "Other Country"})
"""Where a supply can be made: a state code, or 96 for exports (DOMAIN.md: 96 and 97 are inter-state)."""

GSTIN_RE: Final = re.compile(r"[0-9]{2}[A-Z]{3}[ABCFGHLJPTK][A-Z][0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]")
"""GSTIN shape (use ``fullmatch``); the check character and state code are checked separately."""
PAN_RE: Final = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
IFSC_RE: Final = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
PINCODE_RE: Final = re.compile(r"[1-9][0-9]{5}")
HSN_RE: Final = re.compile(r"[0-9]{4}(?:[0-9]{2}){0,2}")
"""HSN codes for goods: 4, 6 or 8 digits."""
SAC_RE: Final = re.compile(r"99[0-9]{4}")
"""SAC codes for services: 6 digits starting with 99."""
DOCUMENT_NUMBER_RE: Final = re.compile(r"[A-Za-z0-9/-]{1,16}")
"""Invoice/quote numbers: at most 16 characters of A-Z a-z 0-9 / - (GST rule 46)."""

PAN_HOLDER_TYPES: Final = frozenset("ABCFGHJKLPT")
"""The PAN's 4th character, the holder type (DOMAIN.md: association, body of individuals, company,
firm/LLP, government, HUF, artificial juridical person, Krish trust, local authority, person, trust)."""


def gstin_error(s: object) -> str | None:
    """Return why ``s`` is not a valid GSTIN (pattern, state code or check character), or None if it is."""
    if not isinstance(s, str):
        return "GSTIN must be a string"
    if len(s) != 15:
        return f"GSTIN must be 15 characters long, not {len(s)}"
    if GSTIN_RE.fullmatch(s) is None:
        if GSTIN_RE.fullmatch(s.upper()) is not None:
            return "GSTIN must be in upper case"
        return (
            "GSTIN must be a 2-digit state code, a 10-character PAN, an entity code (1-9 or A-Z), "
            "'Z' and a check character"
        )
    if s[:2] not in STATE_CODES:
        return f"GSTIN has an unknown state code {s[:2]!r}"
    expected = gstin_check_char(s[:14])
    if s[14] != expected:
        return f"GSTIN check character is {s[14]!r}, expected {expected!r}"
    return None


def is_valid_gstin(s: object) -> bool:
    """Return True if ``s`` has the GSTIN shape, a known state code and the right check character."""
    return (
        isinstance(s, str)
        and GSTIN_RE.fullmatch(s) is not None
        and s[:2] in STATE_CODES
        and gstin_check_char(s[:14]) == s[14]
    )


def make_gstin(state_code: str, pan: str, entity: str = "1") -> str:
    """Return the valid GSTIN of ``pan`` registered in ``state_code`` (the check character computed).

    Raises:
        ValueError: unknown state code, a PAN that fails its pattern or whose 4th character is not a
            holder type GSTINs allow (A B C F G H L J P T K), or an entity code outside 1-9/A-Z.
    """
    if state_code not in STATE_CODES:
        raise ValueError(f"unknown state code {state_code!r}")
    if PAN_RE.fullmatch(pan) is None or pan[3] not in PAN_HOLDER_TYPES:
        raise ValueError(f"not a PAN a GSTIN can carry: {pan!r}")
    if len(entity) != 1 or entity not in GSTIN_ALPHABET or entity == "0":
        raise ValueError(f"entity code must be one of 1-9 or A-Z, not {entity!r}")
    first14 = f"{state_code}{pan}{entity}Z"
    return first14 + gstin_check_char(first14)


def pan_error(s: object) -> str | None:
    """Return why ``s`` is not a valid PAN (pattern or holder type), or None if it is."""
    if not isinstance(s, str) or PAN_RE.fullmatch(s) is None:
        return "PAN must be 5 letters, 4 digits and a letter"
    if s[3] not in PAN_HOLDER_TYPES:
        return f"PAN holder type (4th character) {s[3]!r} is not one of {', '.join(sorted(PAN_HOLDER_TYPES))}"
    return None


def is_valid_pan(s: object) -> bool:
    """Return True if ``s`` matches the PAN pattern and its 4th character is a holder type."""
    return pan_error(s) is None


def is_valid_ifsc(s: object) -> bool:
    """Return True if ``s`` matches the IFSC pattern (4 letters, '0', 6 letters or digits)."""
    return isinstance(s, str) and IFSC_RE.fullmatch(s) is not None


def is_valid_pincode(s: object) -> bool:
    """Return True if ``s`` is a 6-digit PIN code not starting with 0."""
    return isinstance(s, str) and PINCODE_RE.fullmatch(s) is not None


def is_valid_hsn(s: object) -> bool:
    """Return True if ``s`` is an HSN code for goods: 4, 6 or 8 digits."""
    return isinstance(s, str) and HSN_RE.fullmatch(s) is not None


def is_valid_sac(s: object) -> bool:
    """Return True if ``s`` is a SAC code for services: 6 digits starting with 99."""
    return isinstance(s, str) and SAC_RE.fullmatch(s) is not None


def state_name(code: str) -> str | None:
    """Return the state or territory name of a GST state code, or None if the code is unknown."""
    return STATE_CODES.get(code)


def place_of_supply(customer: Mapping[str, object], explicit: str | None = None) -> str:
    """Return the place of supply (a state code) for a document addressed to ``customer``.

    ``explicit`` wins when given. Otherwise a B2B customer's GSTIN gives it (its first two digits) and a
    B2C customer's billing address does.

    Raises:
        DomainError: the explicit code is unknown, or the customer carries no usable state.
    """
    if explicit is not None:
        if explicit not in PLACES_OF_SUPPLY:
            raise DomainError(("place_of_supply",), f"unknown state code {explicit!r}", "invalid_value")
        return explicit
    gstin = customer.get("gstin")
    if customer.get("type") == "B2B" and isinstance(gstin, str) and gstin[:2] in STATE_CODES:
        return gstin[:2]
    billing = customer.get("billing_address")
    if isinstance(billing, Mapping):
        code = billing.get("state_code")
        if isinstance(code, str) and code in STATE_CODES:
            return code
    raise DomainError(
        ("place_of_supply",),
        "cannot derive the place of supply from the customer: give place_of_supply explicitly",
    )


def supply_type(org_state: str, pos: str) -> SupplyType:
    """Return ``"intra_state"`` when the place of supply is the organisation's state, else inter-state."""
    return "intra_state" if org_state == pos else "inter_state"


# --------------------------------------------------------------------------------------------------
# Money

# One context for all arithmetic, so a caller's thread-local decimal context (precision, traps) can never
# change our results, and so no context is built per call. 34 digits keeps every product exact for
# amounts up to 10^15 with 3-decimal quantities.
_CTX: Final = Context(prec=34, rounding=ROUND_HALF_UP)
_CENT: Final = Decimal("0.01")
_MILLI: Final = Decimal("0.001")
_RUPEE: Final = Decimal("1")
_ZERO: Final = Decimal("0.00")
_HALF_PERCENT: Final = Decimal("0.005")  # rate / 200, exact
_PERCENT: Final = Decimal("0.01")  # rate / 100, exact
_MAX_MONEY: Final = Decimal("1e15")

GST_RATES: Final[tuple[Decimal, ...]] = tuple(
    Decimal(r) for r in ("0", "0.1", "0.25", "1", "1.5", "3", "5", "6", "7.5", "12", "18", "28", "40")
)
"""GST rates in percent. Since 22 Sept 2025 the main slabs are 5, 18 and 40; 12 and 28 stay valid on older
documents."""
# Decimal("5") == Decimal("5.00") and they hash alike, so the set accepts any spelling of a rate.
_GST_RATE_SET: Final = frozenset(GST_RATES)
_RATES_TEXT: Final = ", ".join(str(r) for r in GST_RATES)


def is_valid_gst_rate(rate: Decimal) -> bool:
    """Return True if ``rate`` (percent) is one of :data:`GST_RATES`."""
    return rate in _GST_RATE_SET


def to_decimal(value: object, path: Sequence[str | int] = ()) -> Decimal:
    """Return ``value`` (Decimal, int, numeric str, or float from a JSON parser) as an exact Decimal.

    Floats go through ``repr`` so ``1500.0`` stays ``1500.0`` and ``0.1`` stays ``0.1`` (no binary artefacts).

    Raises:
        DomainError: not a finite number (booleans are refused although they are ints).
    """
    if type(value) is Decimal:
        result = value
    elif isinstance(value, bool):
        raise DomainError(path, "Expected number, received boolean", "invalid_type")
    elif isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise DomainError(path, "Expected number, received string", "invalid_type") from None
    else:
        raise DomainError(path, f"Expected number, received {type(value).__name__}", "invalid_type")
    if not result.is_finite():
        raise DomainError(path, "Expected a finite number", "invalid_type")
    return result


def _field(
    item: Mapping[str, object], key: str, path: Path, decimals: int, *, positive: bool = False
) -> Decimal:
    raw = item.get(key)
    if raw is None:
        raise DomainError((*path, key), "Required", "invalid_type")
    # Decimal (what the sandbox's JSON parser yields) skips the conversion and its path tuple.
    value = raw if type(raw) is Decimal and raw.is_finite() else to_decimal(raw, (*path, key))
    if positive:
        if value <= 0:
            raise DomainError((*path, key), f"{key} must be greater than 0", "too_small")
    elif value < 0:
        raise DomainError((*path, key), f"{key} must not be negative", "too_small")
    if value >= _MAX_MONEY:
        raise DomainError((*path, key), f"{key} is too large", "too_big")
    if value.quantize(_CENT if decimals == 2 else _MILLI, context=_CTX) != value:
        raise DomainError((*path, key), f"{key} may have at most {decimals} decimal places")
    return value


def compute_line(
    item: Mapping[str, object], *, intra_state: bool, path: Sequence[str | int] = (), zero_rated: bool = False
) -> dict[str, Decimal]:
    """Return the server-computed fields of one line item, each a Decimal with 2 decimal places.

    Keys: ``amount`` (quantity x rate), ``taxable_value`` (amount - discount), ``cgst_amount``,
    ``sgst_amount``, ``igst_amount``, ``tax_amount``, ``cess_amount`` when the line has a ``cess_rate``,
    and ``total`` (taxable_value + tax_amount + cess). Intra-state lines get CGST = SGST =
    round(taxable x rate / 200); inter-state lines one IGST = round(taxable x rate / 100); cess is
    round(taxable x cess_rate / 100); every rounding is half-up. ``zero_rated`` (an export under LUT)
    makes every tax and the cess 0 whatever the rates.

    Args:
        item: a LineItemCreate (or LineItem) mapping; reads ``quantity``, ``rate``, ``discount``
            (default 0), ``gst_rate`` and ``cess_rate`` (optional), as Decimal, int, numeric str or float.
        path: prefix of error paths, e.g. ``("line_items", 2)``.

    Raises:
        DomainError: a missing or non-numeric field, quantity <= 0, a negative rate or discount, too many
            decimal places, a GST rate outside :data:`GST_RATES`, a cess rate above :data:`MAX_CESS_RATE`,
            or a discount above the amount.
    """
    p = tuple(path)
    quantity, rate, discount, gst_rate, cess_rate = _inputs(item, p)
    return _amounts(quantity, rate, discount, gst_rate, cess_rate, intra_state, zero_rated, p)


MAX_CESS_RATE: Final = Decimal(300)
"""The highest compensation cess rate (percent of the taxable value) the sandbox accepts."""


def _inputs(item: Mapping[str, object], p: Path) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]:
    """quantity, rate, discount, gst_rate and cess_rate (None when absent) of a line, checked."""
    quantity = _field(item, "quantity", p, 3, positive=True)
    rate = _field(item, "rate", p, 2)
    discount = _ZERO if item.get("discount") is None else _field(item, "discount", p, 2)
    gst_rate = _field(item, "gst_rate", p, 2)
    # DOMAIN.md, rates in force: every rate on the list is accepted on any date (12 and 28 included).
    if gst_rate not in _GST_RATE_SET:
        raise DomainError((*p, "gst_rate"), f"gst_rate must be one of {_RATES_TEXT}", "invalid_value")
    cess_rate = None if item.get("cess_rate") is None else _field(item, "cess_rate", p, 2)
    if cess_rate is not None and cess_rate > MAX_CESS_RATE:
        raise DomainError((*p, "cess_rate"), f"cess_rate must be at most {MAX_CESS_RATE}", "too_big")
    return quantity, rate, discount, gst_rate, cess_rate


def _amounts(
    quantity: Decimal,
    rate: Decimal,
    discount: Decimal,
    gst_rate: Decimal,
    cess_rate: Decimal | None,
    intra_state: bool,
    zero_rated: bool,
    p: Path,
) -> dict[str, Decimal]:
    ctx = _CTX
    amount = ctx.multiply(quantity, rate).quantize(_CENT, context=ctx)
    if discount > amount:
        raise DomainError((*p, "discount"), f"discount {discount} exceeds the amount {amount}", "too_big")
    taxable = ctx.subtract(amount, discount).quantize(_CENT, context=ctx)
    if zero_rated:
        # DOMAIN.md, place of supply 96: an export under LUT (bond) is zero-rated without paying IGST.
        cgst = sgst = igst = tax = _ZERO
    elif intra_state:
        half = ctx.multiply(ctx.multiply(taxable, gst_rate), _HALF_PERCENT).quantize(_CENT, context=ctx)
        cgst = sgst = half
        igst = _ZERO
        tax = ctx.add(half, half)
    else:
        igst = ctx.multiply(ctx.multiply(taxable, gst_rate), _PERCENT).quantize(_CENT, context=ctx)
        cgst = sgst = _ZERO
        tax = igst
    out = {
        "amount": amount,
        "taxable_value": taxable,
        "cgst_amount": cgst,
        "sgst_amount": sgst,
        "igst_amount": igst,
        "tax_amount": tax,
    }
    line_total = ctx.add(taxable, tax)
    if cess_rate is not None:
        # DOMAIN.md: compensation cess is a separate per-line amount on top, a per cent of the taxable value.
        cess = (
            _ZERO
            if zero_rated
            else ctx.multiply(ctx.multiply(taxable, cess_rate), _PERCENT).quantize(_CENT, context=ctx)
        )
        out["cess_amount"] = cess
        line_total = ctx.add(line_total, cess)
    out["total"] = line_total
    return out


class DocumentTotals(TypedDict, total=False):
    """The computed part of an Invoice or Quote: its line items and money totals (all 2-place Decimals).

    ``cess_total`` is there only when a line has a cess rate.
    """

    line_items: list[dict[str, object]]
    subtotal: Decimal
    discount_total: Decimal
    taxable_total: Decimal
    cgst_total: Decimal
    sgst_total: Decimal
    igst_total: Decimal
    tax_total: Decimal
    cess_total: Decimal
    round_off: Decimal
    total: Decimal


def compute_totals(
    lines: Iterable[Mapping[str, object]],
    *,
    intra_state: bool,
    reverse_charge: bool = False,
    zero_rated: bool = False,
) -> DocumentTotals:
    """Return a document's computed line items and money totals, ready to merge into an Invoice or Quote.

    ``lines`` are the request's LineItemCreate mappings (or already computed LineItems: recomputing is
    idempotent). The result has ``line_items`` (each input line with ``quantity``, ``rate``, ``discount``
    and ``gst_rate`` as Decimals plus the fields of :func:`compute_line`) and the Decimal totals
    ``subtotal``, ``discount_total``, ``taxable_total``, ``cgst_total``, ``sgst_total``, ``igst_total``,
    ``tax_total``, ``cess_total`` (only when a line has a cess rate), ``round_off`` and ``total``.
    ``total`` is what the customer owes the supplier, rounded half-up to the rupee (kept at 2 places):
    taxable_total + tax_total + cess_total, or taxable_total alone under ``reverse_charge`` (the recipient
    pays the tax to the government); ``round_off`` is ``total`` minus that sum.

    Raises:
        DomainError: as :func:`compute_line`, with paths ``("line_items", index, field)``.
    """
    ctx = _CTX
    add = ctx.add
    subtotal = discount_total = taxable_total = cgst_total = sgst_total = igst_total = tax_total = _ZERO
    cess_total: Decimal | None = None
    out: list[dict[str, object]] = []
    for index, item in enumerate(lines):
        p = ("line_items", index)
        quantity, rate, discount, gst_rate, cess_rate = _inputs(item, p)
        computed = _amounts(quantity, rate, discount, gst_rate, cess_rate, intra_state, zero_rated, p)
        line: dict[str, object] = dict(item)
        # The stored line carries Decimals even where the request had floats or strings.
        line["quantity"] = quantity
        line["rate"] = rate
        line["discount"] = discount
        line["gst_rate"] = gst_rate
        if cess_rate is not None:
            line["cess_rate"] = cess_rate
            cess_total = add(cess_total or _ZERO, computed["cess_amount"])
        line.update(computed)
        out.append(line)
        subtotal = add(subtotal, computed["amount"])
        discount_total = add(discount_total, ctx.subtract(computed["amount"], computed["taxable_value"]))
        taxable_total = add(taxable_total, computed["taxable_value"])
        cgst_total = add(cgst_total, computed["cgst_amount"])
        sgst_total = add(sgst_total, computed["sgst_amount"])
        igst_total = add(igst_total, computed["igst_amount"])
        tax_total = add(tax_total, computed["tax_amount"])
    # DOMAIN.md, reverse charge: the recipient pays the tax (and cess) to the government, so the invoice
    # shows it but the supplier is owed the taxable value only.
    exact = taxable_total if reverse_charge else add(add(taxable_total, tax_total), cess_total or _ZERO)
    total = exact.quantize(_RUPEE, context=ctx).quantize(_CENT, context=ctx)
    result: DocumentTotals = {
        "line_items": out,
        "subtotal": subtotal,
        "discount_total": discount_total,
        "taxable_total": taxable_total,
        "cgst_total": cgst_total,
        "sgst_total": sgst_total,
        "igst_total": igst_total,
        "tax_total": tax_total,
    }
    if cess_total is not None:
        result["cess_total"] = cess_total
    result["round_off"] = ctx.subtract(total, exact)
    result["total"] = total
    return result

"""GST rules of the sandbox: identifiers, per-line tax, totals and round-off, amounts in words."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from books_async.sandbox._gst import (
    GST_RATES,
    STATE_CODES,
    DomainError,
    amount_in_words,
    compute_line,
    compute_totals,
    financial_year,
    format_money,
    gstin_check_char,
    gstin_error,
    is_valid_gstin,
    is_valid_hsn,
    is_valid_ifsc,
    is_valid_pan,
    is_valid_pincode,
    is_valid_sac,
    make_gstin,
    place_of_supply,
    supply_type,
    to_decimal,
)

D = Decimal
VALID_GSTINS = ["27AAPFU0939F1ZV", "29AAACT1234K1ZC", "27AABCT5678M1ZN", "07AAGCT1234A1ZX", "33AAFCT9876B1Z5"]
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

pans = st.from_regex(r"[A-Z]{3}[ABCFGHLJPTK][A-Z][0-9]{4}[A-Z]", fullmatch=True)
states = st.sampled_from(sorted(STATE_CODES))
entities = st.sampled_from(ALPHABET[1:])


@pytest.mark.parametrize("gstin", VALID_GSTINS)
def test_gstin_valid_examples_from_domain(gstin: str) -> None:
    """Every valid GSTIN listed in DOMAIN.md passes, with no error message."""
    assert is_valid_gstin(gstin)
    assert gstin_error(gstin) is None
    assert gstin_check_char(gstin[:14]) == gstin[14]


def test_gstin_widely_copied_example_fails_check_character() -> None:
    """22AAAAA0000A1Z5 has the right shape but the wrong check character (C is expected)."""
    assert not is_valid_gstin("22AAAAA0000A1Z5")
    assert gstin_error("22AAAAA0000A1Z5") == "GSTIN check character is '5', expected 'C'"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("27AAPFU0939F1Z", "15 characters"),
        ("27aapfu0939f1zv", "upper case"),
        ("27AAPFU0939F0ZV", "2-digit state code"),  # entity code 0 is not allowed
        ("27AAPXU0939F1ZV", "2-digit state code"),  # X is not a PAN holder type
        ("27AAPFU0939F1YV", "2-digit state code"),  # the 14th character must be Z
        ("45AAPFU0939F1ZV", "unknown state code '45'"),
        (27, "must be a string"),
    ],
)
def test_gstin_error_names_what_is_wrong(value: object, fragment: str) -> None:
    """Each kind of bad GSTIN gets a message saying which rule it breaks."""
    message = gstin_error(value)
    assert message is not None
    assert fragment in message
    assert not is_valid_gstin(value)


@settings(max_examples=200)
@given(state=states, pan=pans, entity=entities)
def test_make_gstin_builds_valid_gstins(state: str, pan: str, entity: str) -> None:
    """make_gstin's output passes validation and carries the state, PAN and entity it was given."""
    gstin = make_gstin(state, pan, entity)
    assert is_valid_gstin(gstin), gstin
    assert gstin_error(gstin) is None
    assert (gstin[:2], gstin[2:12], gstin[12], gstin[13]) == (state, pan, entity, "Z")


@settings(max_examples=200)
@given(state=states, pan=pans, data=st.data())
def test_gstin_check_catches_any_single_character_change(state: str, pan: str, data: st.DataObject) -> None:
    """Changing any one of the first 14 characters, or the check character, makes the GSTIN invalid."""
    gstin = make_gstin(state, pan)
    pos = data.draw(st.sampled_from([*range(2, 12), 14]))
    replacement = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != gstin[pos]))
    mutated = gstin[:pos] + replacement + gstin[pos + 1 :]
    assert not is_valid_gstin(mutated)


@pytest.mark.parametrize(
    ("state", "pan", "entity"),
    [
        ("45", "AAPFU0939F", "1"),
        ("27", "AAPF0939F", "1"),
        ("27", "AAPXU0939F", "1"),
        ("27", "AAPFU0939F", "0"),
    ],
)
def test_make_gstin_rejects_bad_parts(state: str, pan: str, entity: str) -> None:
    """Unknown state, malformed PAN, a PAN holder type GSTINs never carry, or entity 0 raise ValueError."""
    with pytest.raises(ValueError, match=r"state code|PAN|entity"):
        make_gstin(state, pan, entity)


def test_state_codes_include_old_and_special_codes() -> None:
    """The state list has the pre-split codes 25 and 28 and the special codes 97 and 99."""
    assert {"25", "26", "28", "37", "38", "97", "99"} <= set(STATE_CODES)
    assert STATE_CODES["27"] == "Maharashtra"
    assert len(STATE_CODES) == 40


def test_identifier_patterns() -> None:
    """PAN, IFSC, PIN, HSN and SAC checks follow DOMAIN.md."""
    assert is_valid_pan("AAPFU0939F")
    assert not is_valid_pan("AAPFU0939")
    assert is_valid_ifsc("HDFC0000123")
    assert not is_valid_ifsc("HDFC1000123")
    assert is_valid_pincode("400001")
    assert not is_valid_pincode("040001")
    assert all(is_valid_hsn(c) for c in ("1006", "730890", "73239990"))
    assert not any(is_valid_hsn(c) for c in ("100", "10061", "1006123", "100612345", "10a6"))
    assert is_valid_sac("998719")
    assert not any(is_valid_sac(c) for c in ("988719", "99871", "9987190"))


def test_gst_rates_are_the_rates_in_force() -> None:
    """Every rate in force (shared/DOMAIN.md), merchant exports' 0.1 and hotels' 7.5 included, as Decimals."""
    assert [str(r) for r in GST_RATES] == [
        "0", "0.1", "0.25", "1", "1.5", "3", "5", "6", "7.5", "12", "18", "28", "40"
    ]  # fmt: skip


def line(quantity: str, rate: str, gst_rate: str, discount: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {"quantity": D(quantity), "rate": D(rate), "gst_rate": D(gst_rate)}
    if discount is not None:
        item["discount"] = D(discount)
    return item


def test_compute_line_intra_state_splits_cgst_sgst() -> None:
    """Taxable 100.05 at 5% intra-state: 100.05 x 5 / 200 = 2.50125, so CGST = SGST = 2.50."""
    out = compute_line(line("1", "100.05", "5"), intra_state=True)
    assert out == {
        "amount": D("100.05"),
        "taxable_value": D("100.05"),
        "cgst_amount": D("2.50"),
        "sgst_amount": D("2.50"),
        "igst_amount": D("0.00"),
        "tax_amount": D("5.00"),
        "total": D("105.05"),
    }


def test_compute_line_inter_state_charges_igst() -> None:
    """The same line inter-state: IGST = 100.05 x 5 / 100 = 5.0025 -> 5.00, no CGST/SGST."""
    out = compute_line(line("1", "100.05", "5"), intra_state=False)
    assert (out["cgst_amount"], out["sgst_amount"], out["igst_amount"]) == (D("0.00"), D("0.00"), D("5.00"))
    assert out["tax_amount"] == D("5.00")
    assert out["total"] == D("105.05")


@pytest.mark.parametrize(
    ("item", "intra", "field", "expected"),
    [
        # 5.00 x 5 / 200 = 0.125: half-up gives 0.13 each (banker's rounding would give 0.12).
        (line("1", "5.00", "5"), True, "cgst_amount", "0.13"),
        (line("1", "5.00", "5"), True, "tax_amount", "0.26"),
        (line("1", "5.00", "5"), False, "igst_amount", "0.25"),
        # 0.25 x 18 / 100 = 0.045 -> 0.05 half-up (banker's: 0.04).
        (line("1", "0.25", "18"), False, "igst_amount", "0.05"),
        (line("1", "0.25", "18"), True, "cgst_amount", "0.02"),
        # amount = 0.5 x 0.25 = 0.125 -> 0.13.
        (line("0.5", "0.25", "0"), True, "amount", "0.13"),
        # 3 decimal quantity: 2.345 x 10.00 = 23.45; at 28% inter-state 6.566 -> 6.57.
        (line("2.345", "10.00", "28"), False, "igst_amount", "6.57"),
        (line("2.345", "10.00", "28"), True, "cgst_amount", "3.28"),
        (line("10", "450", "18", "100"), True, "taxable_value", "4400.00"),
        (line("10", "450", "18", "100"), True, "total", "5192.00"),
    ],
)
def test_compute_line_rounds_half_up(item: dict[str, object], intra: bool, field: str, expected: str) -> None:
    """Amounts and per-line taxes are rounded half-up to 2 places, never banker's rounding."""
    out = compute_line(item, intra_state=intra)
    assert out[field] == D(expected)
    assert str(out[field]) == expected


def test_compute_line_accepts_wire_numbers() -> None:
    """Floats, ints and numeric strings from JSON give the same result as Decimals."""
    expected = compute_line(line("3", "333.33", "18", "10"), intra_state=True)
    wire = {"quantity": 3, "rate": 333.33, "gst_rate": 18.0, "discount": "10"}
    assert compute_line(wire, intra_state=True) == expected
    assert to_decimal(1500.00) == D("1500.0")
    assert to_decimal(0.1) == D("0.1")


def test_compute_line_discount_above_amount_names_the_field() -> None:
    """A discount larger than quantity x rate raises DomainError with the line's path."""
    items = [line("1", "10", "5"), line("1", "10", "5"), line("2", "50", "18", "100.01")]
    with pytest.raises(DomainError) as err:
        compute_totals(items, intra_state=True)
    assert err.value.path == ("line_items", 2, "discount")
    assert "exceeds" in err.value.message
    assert err.value.code == "too_big"
    assert isinstance(err.value, ValueError)


def test_compute_line_discount_equal_to_amount_is_allowed() -> None:
    """A 100% discount gives a zero line, not an error."""
    out = compute_line(line("2", "50", "18", "100"), intra_state=False)
    assert out["taxable_value"] == out["tax_amount"] == out["total"] == D("0.00")


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        ({"rate": 1, "gst_rate": 5}, "quantity", "invalid_type"),
        ({"quantity": 0, "rate": 1, "gst_rate": 5}, "quantity", "too_small"),
        ({"quantity": 1, "rate": -1, "gst_rate": 5}, "rate", "too_small"),
        ({"quantity": 1, "rate": 1, "gst_rate": 7}, "gst_rate", "invalid_value"),
        ({"quantity": 1, "rate": 1, "gst_rate": True}, "gst_rate", "invalid_type"),
        ({"quantity": 1, "rate": "abc", "gst_rate": 5}, "rate", "invalid_type"),
        ({"quantity": 1, "rate": "NaN", "gst_rate": 5}, "rate", "invalid_type"),
        ({"quantity": "1.0005", "rate": 1, "gst_rate": 5}, "quantity", "custom"),
        ({"quantity": 1, "rate": "1.001", "gst_rate": 5}, "rate", "custom"),
    ],
)
def test_compute_line_rejects_bad_numbers(item: dict[str, object], field: str, code: str) -> None:
    """Missing, non-numeric, out-of-range or over-precise inputs raise DomainError at their path."""
    with pytest.raises(DomainError) as err:
        compute_line(item, intra_state=True, path=("line_items", 0))
    assert err.value.path == ("line_items", 0, field)
    assert err.value.code == code


def test_compute_totals_sums_lines_and_rounds_to_rupee() -> None:
    """Totals add up the lines; total is the nearest rupee and round_off the difference."""
    items: list[dict[str, object]] = [
        line("1", "5", "5"),
        {"quantity": 3, "rate": 333.33, "discount": 10, "gst_rate": 18},
    ]
    out = compute_totals(items, intra_state=True)
    assert out["subtotal"] == D("1004.99")
    assert out["discount_total"] == D("10.00")
    assert out["taxable_total"] == D("994.99")
    assert out["cgst_total"] == out["sgst_total"] == D("89.23")
    assert out["igst_total"] == D("0.00")
    assert out["tax_total"] == D("178.46")
    # 994.99 + 178.46 = 1173.45 -> 1173.00
    assert str(out["total"]) == "1173.00"
    assert str(out["round_off"]) == "-0.45"
    lines = out["line_items"]
    assert lines[1]["rate"] == D("333.33")
    assert lines[1]["cgst_amount"] == D("89.10")
    assert lines[0]["discount"] == D("0.00")


def test_compute_totals_half_rupee_rounds_up() -> None:
    """An exact 50 paise rounds the total up: 100.50 -> 101.00 with round_off +0.50."""
    out = compute_totals([line("1", "100.50", "0")], intra_state=False)
    assert (str(out["total"]), str(out["round_off"])) == ("101.00", "0.50")


def test_compute_totals_is_idempotent_on_computed_lines() -> None:
    """Recomputing from already computed line items gives the same document."""
    first = compute_totals([line("2.5", "99.99", "12", "1.50"), line("1", "10", "40")], intra_state=False)
    assert compute_totals(first["line_items"], intra_state=False) == first


money = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(
    min_value=D("0.001"), max_value=10**4, places=3, allow_nan=False, allow_infinity=False
)


@settings(max_examples=200)
@given(quantity=quantities, rate=money, gst_rate=st.sampled_from(GST_RATES), data=st.data())
def test_compute_line_invariants(
    quantity: Decimal, rate: Decimal, gst_rate: Decimal, data: st.DataObject
) -> None:
    """CGST = SGST, totals add up, and intra/inter tax differ by at most one paisa."""
    amount = (quantity * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    discount = data.draw(st.decimals(min_value=0, max_value=amount, places=2))
    item = {"quantity": quantity, "rate": rate, "gst_rate": gst_rate, "discount": discount}
    intra = compute_line(item, intra_state=True)
    inter = compute_line(item, intra_state=False)
    assert intra["cgst_amount"] == intra["sgst_amount"]
    assert intra["tax_amount"] == intra["cgst_amount"] * 2
    assert inter["tax_amount"] == inter["igst_amount"]
    assert intra["taxable_value"] == inter["taxable_value"] == amount - discount
    assert abs(intra["tax_amount"] - inter["tax_amount"]) <= D("0.01")
    for out in (intra, inter):
        assert out["total"] == out["taxable_value"] + out["tax_amount"]
        assert all(v.as_tuple().exponent == -2 for v in out.values())


@settings(max_examples=100)
@given(st.lists(st.tuples(quantities, money, st.sampled_from(GST_RATES)), min_size=1, max_size=20))
def test_compute_totals_round_off_within_half_rupee(rows: list[tuple[Decimal, Decimal, Decimal]]) -> None:
    """The total is whole rupees and the round-off never exceeds 50 paise either way."""
    items = [{"quantity": q, "rate": r, "gst_rate": g} for q, r, g in rows]
    out = compute_totals(items, intra_state=False)
    total, round_off = out["total"], out["round_off"]
    assert total == total.to_integral_value()
    assert D("-0.50") < round_off <= D("0.50")
    assert total - round_off == out["taxable_total"] + out["tax_total"]


def test_place_of_supply_rules() -> None:
    """B2B takes the GSTIN's state, B2C the billing state, an explicit code wins; unknown codes fail."""
    b2b = {"type": "B2B", "gstin": "29AAACT1234K1ZC", "billing_address": {"state_code": "27"}}
    b2c = {"type": "B2C", "billing_address": {"state_code": "33"}}
    assert place_of_supply(b2b, None) == "29"
    assert place_of_supply(b2c, None) == "33"
    assert place_of_supply(b2b, "07") == "07"
    with pytest.raises(DomainError) as err:
        place_of_supply(b2c, "45")
    assert err.value.path == ("place_of_supply",)
    with pytest.raises(DomainError):
        place_of_supply({"type": "B2C"}, None)


def test_supply_type_compares_states() -> None:
    """Same state is intra-state; any other is inter-state."""
    assert supply_type("27", "27") == "intra_state"
    assert supply_type("27", "29") == "inter_state"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "Rupees Zero Only"),
        ("1", "Rupees One Only"),
        ("100000", "Rupees One Lakh Only"),
        (
            "12345678.90",
            "Rupees One Crore Twenty Three Lakh Forty Five Thousand Six Hundred Seventy Eight"
            " and Ninety Paise Only",
        ),
        (
            "123456.78",
            "Rupees One Lakh Twenty Three Thousand Four Hundred Fifty Six and Seventy Eight Paise Only",
        ),
        ("0.50", "Rupees Zero and Fifty Paise Only"),
        ("1000000000", "Rupees One Hundred Crore Only"),
        ("99.995", "Rupees One Hundred Only"),
        ("1011", "Rupees One Thousand Eleven Only"),
    ],
)
def test_amount_in_words_indian_numbering(amount: str, words: str) -> None:
    """Amounts read out in lakh and crore, with paise after 'and'."""
    assert amount_in_words(D(amount)) == words


def test_format_money_uses_indian_grouping() -> None:
    """Digits group as 12,34,567.80 and always show two decimals."""
    assert format_money(D("12345678.9")) == "1,23,45,678.90"
    assert format_money(D("999")) == "999.00"
    assert format_money(D("-1234.5")) == "-1,234.50"


def test_financial_year_starts_in_april() -> None:
    """31 March belongs to the year before; 1 April starts the next."""
    assert financial_year(date(2026, 3, 31)) == "2025-26"
    assert financial_year(date(2026, 4, 1)) == "2026-27"

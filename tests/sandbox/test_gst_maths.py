"""GST maths for cess, reverse charge and exports, against values computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from books_async.sandbox._gst import DomainError, compute_line, compute_totals

D = Decimal


def _line(quantity: str, rate: str, gst_rate: str, **extra: str) -> dict[str, object]:
    return {
        "quantity": D(quantity),
        "rate": D(rate),
        "gst_rate": D(gst_rate),
        **{k: D(v) for k, v in extra.items()},
    }


def test_cess_is_a_per_cent_of_the_taxable_value_on_top_of_gst() -> None:
    """3 x 333.33 - 10 = 989.99 taxable; 28 % IGST 277.20 (277.1972); 12 % cess 118.80 (118.7988)."""
    out = compute_line(_line("3", "333.33", "28", discount="10", cess_rate="12"), intra_state=False)
    assert out["taxable_value"] == D("989.99")
    assert out["igst_amount"] == D("277.20")
    assert out["cess_amount"] == D("118.80")
    assert out["total"] == D("1385.99")


def test_cess_rounds_half_up_to_the_paisa() -> None:
    """1 x 10.50 at 5 % cess is 0.525, which rounds up to 0.53."""
    assert compute_line(_line("1", "10.50", "0", cess_rate="5"), intra_state=True)["cess_amount"] == D("0.53")


def test_line_without_cess_rate_has_no_cess_amount() -> None:
    """No cess_rate, no cess_amount key: the field is only there when set."""
    assert "cess_amount" not in compute_line(_line("1", "100", "18"), intra_state=True)


def test_cess_totals_add_up_and_enter_the_total() -> None:
    """Intra-state: 1000 at 28 % + 15 % cess, and 500 at 18 % without cess."""
    totals = compute_totals(
        [_line("1", "1000", "28", cess_rate="15"), _line("1", "500", "18")], intra_state=True
    )
    # CGST 140 + 45, SGST the same; cess 150 on the first line only; 1500 + 370 + 150 = 2020.
    assert (totals["cgst_total"], totals["sgst_total"], totals["tax_total"]) == (
        D("185.00"),
        D("185.00"),
        D("370.00"),
    )
    assert totals["cess_total"] == D("150.00")
    assert totals["total"] == D("2020.00")
    assert totals["round_off"] == D("0.00")


def test_totals_without_any_cess_have_no_cess_total() -> None:
    """Documents without cess keep their old shape."""
    assert "cess_total" not in compute_totals([_line("1", "100", "18")], intra_state=True)


def test_cess_rate_above_the_bound_is_refused() -> None:
    """300 is accepted, 300.01 is not."""
    compute_line(_line("1", "100", "28", cess_rate="300"), intra_state=True)
    with pytest.raises(DomainError) as info:
        compute_line(_line("1", "100", "28", cess_rate="300.01"), intra_state=True)
    assert info.value.path == ("cess_rate",)


def test_reverse_charge_total_is_the_taxable_value_rounded() -> None:
    """1234.56 at 18 % inter-state: IGST 222.22 shown, total 1235.00 (taxable rounded), round-off 0.44."""
    totals = compute_totals(
        [_line("1", "1234.56", "18", cess_rate="1")], intra_state=False, reverse_charge=True
    )
    assert totals["igst_total"] == D("222.22")
    assert totals["tax_total"] == D("222.22")
    assert totals["cess_total"] == D("12.35")
    assert totals["total"] == D("1235.00")
    assert totals["round_off"] == D("0.44")


def test_without_reverse_charge_the_tax_is_in_the_total() -> None:
    """The same line without the flag: 1234.56 + 222.22 + 12.35 = 1469.13, total 1469.00."""
    totals = compute_totals([_line("1", "1234.56", "18", cess_rate="1")], intra_state=False)
    assert totals["total"] == D("1469.00")
    assert totals["round_off"] == D("-0.13")


def test_export_under_lut_is_zero_rated() -> None:
    """Under LUT the line keeps its 18 % and 12 % cess rates, but IGST and cess are 0: the taxable is owed."""
    totals = compute_totals([_line("2", "750.25", "18", cess_rate="12")], intra_state=False, zero_rated=True)
    line = totals["line_items"][0]
    assert line["gst_rate"] == D("18")
    assert (line["igst_amount"], line["cess_amount"], line["tax_amount"]) == (D("0.00"), D("0.00"), D("0.00"))
    assert (totals["igst_total"], totals["cess_total"]) == (D("0.00"), D("0.00"))
    assert totals["total"] == D("1501.00")
    assert totals["round_off"] == D("0.50")


def test_export_with_igst_paid_charges_igst() -> None:
    """With IGST paid: 1500.50 at 18 % is 270.09 IGST, total 1771.00 (1770.59 rounded)."""
    totals = compute_totals([_line("2", "750.25", "18")], intra_state=False)
    assert totals["igst_total"] == D("270.09")
    assert totals["total"] == D("1771.00")


@pytest.mark.parametrize(
    "rate", ["0", "0.1", "0.25", "1", "1.5", "3", "5", "6", "7.5", "12", "18", "28", "40"]
)
def test_every_rate_in_force_computes(rate: str) -> None:
    """Each rate of the list: IGST on 1000.00 is 10 x the rate."""
    assert compute_line(_line("1", "1000", rate), intra_state=False)["igst_amount"] == D(rate) * 10


@pytest.mark.parametrize("rate", ["0.5", "2", "2.5", "9", "14", "41"])
def test_rates_off_the_list_are_refused(rate: str) -> None:
    """Half a rate (an intra-state component) or any other number is not a GST rate."""
    with pytest.raises(DomainError):
        compute_line(_line("1", "1000", rate), intra_state=False)

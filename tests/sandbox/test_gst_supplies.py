"""Rates in force, places of supply 96/97, exports, cess, reverse charge and due dates, over raw HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import invoice_dict, line_dict

from .conftest import Api

D = Decimal
RATES = ["0", "0.1", "0.25", "1", "1.5", "3", "5", "6", "7.5", "12", "18", "28", "40"]


def _b2b(api: Api) -> str:
    return api.sb.seed.customer_b2b_intra


@pytest.mark.parametrize("rate", RATES)
async def test_every_rate_in_force_is_accepted_on_an_invoice(api: Api, rate: str) -> None:
    """Each listed rate, on a line dated after 22 September 2025 (12 and 28 included): 201."""
    body = invoice_dict(_b2b(api), line_dict(gst_rate=D(rate)), invoice_date="2025-10-01")
    reply = await api.post("/books/invoices", body)
    assert reply.status == 201, reply.body
    assert reply.json["line_items"][0]["gst_rate"] == D(rate)  # type: ignore[index]


@pytest.mark.parametrize("rate", ["0.5", "2", "9", "14", "41"])
async def test_a_rate_off_the_list_is_a_400_on_the_line(api: Api, rate: str) -> None:
    """Anything else is refused, naming the line's gst_rate."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), line_dict(gst_rate=D(rate))))
    assert reply.status == 400
    assert ["line_items", 0, "gst_rate"] in reply.paths()


@pytest.mark.parametrize(("rate", "status"), [("0.1", 201), ("7.5", 201), ("2", 400)])
async def test_products_take_the_same_rate_list(api: Api, rate: str, status: int) -> None:
    """A product's gst_rate is checked against the same list as a line's."""
    body = {"name": f"Item {rate}", "hsn_code": "7113", "unit": "NOS", "sale_price": 10, "gst_rate": D(rate)}
    assert (await api.post("/books/products", body)).status == status


@pytest.mark.parametrize("pos", ["96", "97"])
async def test_places_96_and_97_are_inter_state(api: Api, pos: str) -> None:
    """Another country and other territory: one IGST at the full rate, no CGST/SGST."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), place_of_supply=pos))
    assert reply.status == 201, reply.body
    doc = reply.json
    assert doc["supply_type"] == "inter_state"
    assert (doc["igst_total"], doc["cgst_total"]) == (D("360.00"), D("0.00"))


async def test_an_unknown_place_of_supply_is_refused(api: Api) -> None:
    """95 is no state code and no export: 400 on place_of_supply."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), place_of_supply="95"))
    assert reply.status == 400
    assert ["place_of_supply"] in reply.paths()


async def test_export_under_lut_charges_no_igst(api: Api) -> None:
    """export_type lut on place 96: the line keeps 18 %, IGST is 0, the total is the taxable value."""
    body = invoice_dict(_b2b(api), place_of_supply="96", export_type="lut")
    doc = (await api.post("/books/invoices", body)).json
    assert doc["export_type"] == "lut"
    assert (doc["igst_total"], doc["tax_total"], doc["total"]) == (D("0.00"), D("0.00"), D("2000.00"))


async def test_export_with_igst_paid_charges_igst(api: Api) -> None:
    """export_type igst_paid: IGST 18 % of 2000.00."""
    body = invoice_dict(_b2b(api), place_of_supply="96", export_type="igst_paid")
    doc = (await api.post("/books/invoices", body)).json
    assert (doc["igst_total"], doc["total"]) == (D("360.00"), D("2360.00"))


@pytest.mark.parametrize("pos", [None, "29"])
async def test_export_type_needs_place_of_supply_96(api: Api, pos: str | None) -> None:
    """Without place_of_supply, or with a state's code, export_type is a 400."""
    extra = {"place_of_supply": pos} if pos else {}
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), export_type="lut", **extra))
    assert reply.status == 400
    assert any(p and p[0] == "place_of_supply" for p in reply.paths()), reply.body


async def test_cess_is_shown_per_line_and_in_the_totals(api: Api) -> None:
    """2 x 1000 at 28 % (intra-state) with 12 % cess: 280 + 280 tax, 240 cess, total 2800."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), line_dict(gst_rate=28, cess_rate=12)))
    doc = reply.json
    item = doc["line_items"][0]  # type: ignore[index]
    assert (item["cess_rate"], item["cess_amount"], item["total"]) == (D("12"), D("240.00"), D("2800.00"))
    assert (doc["tax_total"], doc["cess_total"], doc["total"]) == (D("560.00"), D("240.00"), D("2800.00"))
    assert doc["balance_due"] == D("2800.00")


@pytest.mark.parametrize(("cess", "status"), [("300", 201), ("300.01", 400), ("0.125", 400)])
async def test_cess_rate_bounds(api: Api, cess: str, status: int) -> None:
    """Up to 300 with 2 decimal places."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), line_dict(cess_rate=D(cess))))
    assert reply.status == status, reply.body


async def test_reverse_charge_shows_the_tax_but_the_customer_owes_the_taxable_value(api: Api) -> None:
    """reverse_charge: CGST/SGST 180 each shown, total and balance due 2000.00; paying 2000 pays it."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), reverse_charge=True))
    doc = reply.json
    assert doc["reverse_charge"] is True
    assert (doc["cgst_total"], doc["sgst_total"], doc["tax_total"]) == (D("180.00"), D("180.00"), D("360.00"))
    assert (doc["total"], doc["balance_due"]) == (D("2000.00"), D("2000.00"))
    invoice_id = doc["_id"]
    await api.post(f"/books/invoices/{invoice_id}/send", {"to": ["a@example.com"]})
    too_much = await api.post(
        f"/books/invoices/{invoice_id}/payments", {"amount": 2000.01, "payment_method": "upi"}
    )
    assert too_much.status == 400
    paid = await api.post(f"/books/invoices/{invoice_id}/payments", {"amount": 2000, "payment_method": "upi"})
    assert paid.json["invoice"]["status"] == "paid"  # type: ignore[index]


async def test_without_reverse_charge_the_customer_owes_the_tax_too(api: Api) -> None:
    """The same invoice with reverse_charge false: total 2360.00, and the flag is echoed."""
    doc = (await api.post("/books/invoices", invoice_dict(_b2b(api), reverse_charge=False))).json
    assert (doc["reverse_charge"], doc["total"]) == (False, D("2360.00"))


@pytest.mark.parametrize(("due", "status"), [("2099-03-31", 400), ("2099-04-01", 201), ("2099-04-02", 201)])
async def test_due_date_is_on_or_after_the_invoice_date(api: Api, due: str, status: int) -> None:
    """The invoice is dated 2099-04-01: a day before is a 400 on due_date; the same day or later is fine."""
    reply = await api.post("/books/invoices", invoice_dict(_b2b(api), due_date=due))
    assert reply.status == status
    if status == 400:
        assert reply.paths() == [["due_date"]]


async def test_a_payment_dated_before_its_invoice_is_accepted(api: Api) -> None:
    """An advance: a payment dated a month before the invoice date is recorded."""
    doc = (await api.post("/books/invoices", invoice_dict(_b2b(api)))).json
    await api.post(f"/books/invoices/{doc['_id']}/send", {"to": ["a@example.com"]})
    body = {"amount": 100, "payment_method": "bank_transfer", "payment_date": "2099-03-01"}
    reply = await api.post(f"/books/invoices/{doc['_id']}/payments", body)
    assert reply.status == 201, reply.body

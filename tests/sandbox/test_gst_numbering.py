"""Invoice numbers are unique per organisation within a financial year (1 April - 31 March), over raw HTTP."""

from __future__ import annotations

import pytest

from tests.factories import invoice_dict

from .conftest import Api


def _invoice(api: Api, number: str, day: str) -> dict[str, object]:
    return invoice_dict(api.sb.seed.customer_b2b_intra, invoice_number=number, invoice_date=day)


async def test_same_number_across_1_april_creates_two_invoices(api: Api) -> None:
    """FY/0001 on 31 March and FY/0001 on 1 April are in two financial years: both 201."""
    first = await api.post("/books/invoices", _invoice(api, "FY/0001", "2026-03-31"))
    second = await api.post("/books/invoices", _invoice(api, "FY/0001", "2026-04-01"))
    assert (first.status, second.status) == (201, 201), second.body
    assert first.json["_id"] != second.json["_id"]


@pytest.mark.parametrize("day", ["2026-04-01", "2027-03-31"])
async def test_same_number_within_one_financial_year_is_a_conflict(api: Api, day: str) -> None:
    """1 April 2026 to 31 March 2027 is one year: the number again on either end is a 409 naming the year."""
    assert (await api.post("/books/invoices", _invoice(api, "FY/0002", "2026-09-30"))).status == 201
    reply = await api.post("/books/invoices", _invoice(api, "FY/0002", day))
    assert reply.status == 409
    assert "2026-27" in str(reply.json["message"])


async def test_bulk_create_with_a_number_in_two_years_succeeds(api: Api) -> None:
    """A bulk array may reuse a number across financial years, not within one."""
    across = [_invoice(api, "B/1", "2025-03-31"), _invoice(api, "B/1", "2025-04-01")]
    assert (await api.post("/books/invoices", across)).status == 201
    within = [_invoice(api, "B/2", "2025-04-01"), _invoice(api, "B/2", "2026-03-31")]
    reply = await api.post("/books/invoices", within)
    assert reply.status == 409
    assert "twice" in str(reply.json["message"])


async def test_validate_reports_a_duplicate_only_in_the_same_year(api: Api) -> None:
    """POST /books/validate flags the number in its own year, and accepts it in the next."""
    assert (await api.post("/books/invoices", _invoice(api, "V/1", "2026-03-31"))).status == 201
    same = await api.post(
        "/books/validate", {"kind": "invoice", "payload": _invoice(api, "V/1", "2025-04-01")}
    )
    other = await api.post(
        "/books/validate", {"kind": "invoice", "payload": _invoice(api, "V/1", "2026-04-01")}
    )
    assert same.json["valid"] is False
    assert other.json["valid"] is True, other.body


async def test_deleting_frees_the_number_in_its_year(api: Api) -> None:
    """Deleting 31 March's D/9 frees the number for its financial year (1 January is in the same year)."""
    made = await api.post("/books/invoices", _invoice(api, "D/9", "2026-03-31"))
    assert (await api.post("/books/invoices", _invoice(api, "D/9", "2026-01-01"))).status == 409
    assert (await api.delete(f"/books/invoices/{made.json['_id']}")).status in (200, 204)
    assert (await api.post("/books/invoices", _invoice(api, "D/9", "2026-01-01"))).status == 201


async def test_quote_numbers_stay_unique_whatever_the_year(api: Api) -> None:
    """A quote is not a tax invoice: its number is unique per organisation, across financial years too."""
    body = {
        "customer_id": api.sb.seed.customer_b2b_intra,
        "quote_number": "Q/1",
        "quote_date": "2026-03-31",
        "line_items": invoice_dict("")["line_items"],
    }
    assert (await api.post("/books/quotes", body)).status == 201
    assert (await api.post("/books/quotes", {**body, "quote_date": "2026-04-01"})).status == 409

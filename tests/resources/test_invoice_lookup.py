"""books.invoices.find_by_number: invoice numbers restart each financial year (1 April - 31 March), so the
look-up takes the year (or a date in it) and the customer, against the sandbox and a scripted server."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from books_async import BooksClient, ConfigurationError, OutcomeUnknownError
from books_async.models import Invoice
from books_async.sandbox import Sandbox, SeedIds
from tests.factories import invoice
from tests.scripted_server import INVOICE, INVOICE_ID, ScriptedServer, respond

MARCH_31 = date(2026, 3, 31)  # the last day of financial year 2025-26
APRIL_1 = date(2026, 4, 1)  # the first day of 2026-27


async def both_years(books: BooksClient, seed: SeedIds) -> tuple[Invoice, Invoice]:
    """FY/0001 dated 31 March for one customer, then FY/0001 dated 1 April for another."""
    march = await books.invoices.create(
        invoice(seed.customer_b2b_intra, invoice_number="FY/0001", invoice_date=MARCH_31, due_date=MARCH_31)
    )
    april = await books.invoices.create(
        invoice(seed.customer_b2c, invoice_number="FY/0001", invoice_date=APRIL_1, due_date=APRIL_1)
    )
    return march, april


async def test_find_by_number_with_a_date_finds_the_invoice_of_that_financial_year(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """Any date of a financial year, or the year itself, picks that year's FY/0001."""
    march, april = await both_years(books, seed)
    found = books.invoices.find_by_number
    assert (await found("FY/0001", invoice_date=APRIL_1)) == april
    assert (await found("FY/0001", invoice_date=MARCH_31)) == march
    assert (await found("FY/0001", invoice_date=date(2025, 6, 1))) == march  # same year, another day
    assert (await found("FY/0001", invoice_date=datetime(2027, 3, 31, 23, 59))) == april  # noqa: DTZ001
    assert (await found("FY/0001", financial_year="2026-27")) == april
    assert (await found("FY/0001", financial_year="2024-25")) is None
    assert (await found("FY/0002", invoice_date=APRIL_1)) is None


async def test_find_by_number_without_a_date_returns_the_most_recently_created(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """Without a year the newest invoice holding the number comes back, as before numbers restarted."""
    march = await books.invoices.create(
        invoice(seed.customer_b2b_intra, invoice_number="FY/0001", invoice_date=MARCH_31, due_date=MARCH_31)
    )
    assert await books.invoices.find_by_number("FY/0001") == march
    april = await books.invoices.create(
        invoice(seed.customer_b2c, invoice_number="FY/0001", invoice_date=APRIL_1, due_date=APRIL_1)
    )
    assert await books.invoices.find_by_number("FY/0001") == april


async def test_find_by_number_with_a_customer_requires_that_customer(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """The year's invoice of another customer is not this customer's: None; the right one is found."""
    march, april = await both_years(books, seed)
    found = books.invoices.find_by_number
    assert await found("FY/0001", invoice_date=APRIL_1, customer_id=seed.customer_b2b_intra) is None
    assert await found("FY/0001", invoice_date=APRIL_1, customer_id=seed.customer_b2c) == april
    assert await found("FY/0001", customer_id=seed.customer_b2b_intra) == march


async def test_find_by_number_after_a_lost_create_tells_this_years_invoice_from_last_years(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """Before April's lost create is looked up, only March's FY/0001 exists: it is not taken for April's."""
    march = await books.invoices.create(
        invoice(seed.customer_b2b_intra, invoice_number="FY/0001", invoice_date=MARCH_31, due_date=MARCH_31)
    )
    draft = invoice(seed.customer_b2b_intra, invoice_number="FY/0001", invoice_date=APRIL_1, due_date=APRIL_1)
    find = books.invoices.find_by_number
    # Not created yet: nothing to find, so sending it is safe (without the year, March's would be found).
    assert await find("FY/0001", invoice_date=APRIL_1, customer_id=draft.customer_id) is None
    assert await find("FY/0001", customer_id=draft.customer_id) == march
    sandbox.set_faults("drop:1.0")  # the create is processed, then its answer is lost
    with pytest.raises(OutcomeUnknownError):
        await books.invoices.create(draft)
    sandbox.set_faults(None)
    april = await find("FY/0001", invoice_date=APRIL_1, customer_id=draft.customer_id)
    assert april is not None
    assert april.id != march.id
    assert april.invoice_date == APRIL_1
    numbers = [d["invoice_number"] for d in sandbox.store.documents("invoices", sandbox.org_id)]
    assert numbers.count("FY/0001") == 2


async def test_find_by_number_refuses_a_bad_year_before_any_request(
    books: BooksClient, sandbox: Sandbox
) -> None:
    """Both a date and a year, a malformed year, or a date as text: ConfigurationError, nothing sent."""
    found = books.invoices.find_by_number
    before = len(sandbox.request_log)
    with pytest.raises(ConfigurationError, match="not both"):
        await found("FY/0001", invoice_date=APRIL_1, financial_year="2026-27")
    for year in ("2026-28", "26-27", "2026-2027", "2026/27"):
        with pytest.raises(ConfigurationError, match="financial_year"):
            await found("FY/0001", financial_year=year)
    with pytest.raises(ConfigurationError, match="invoice_date"):
        await found("FY/0001", invoice_date="2026-04-01")  # type: ignore[arg-type]
    assert len(sandbox.request_log) == before


async def test_find_by_number_reads_a_row_without_its_date_again_by_id(server: ScriptedServer) -> None:
    """A list row that leaves out invoice_date proves nothing: the invoice is read by id, then matched."""
    row = {k: v for k, v in INVOICE.items() if k != "invoice_date"}
    page = {"data": [row], "pagination": {"page": 1, "limit": 100, "total": 1, "pages": 1}}
    server.script("GET", "/books/invoices", respond(200, page), respond(200, page))
    server.script("GET", f"/books/invoices/{INVOICE_ID}", respond(200, INVOICE), respond(200, row))
    async with BooksClient(api_key="k", base_url=server.base_url, rate_limit=None, max_retries=1) as client:
        found = await client.invoices.find_by_number("INV-0001", invoice_date=date(2026, 11, 1))
        assert found is not None
        assert found.id == INVOICE_ID
        # Read again and still without a date: no year, no match.
        assert await client.invoices.find_by_number("INV-0001", financial_year="2026-27") is None
    assert len(server.seen_at("GET", f"/books/invoices/{INVOICE_ID}")) == 2

"""Bulk creates and invoice numbers reused each financial year: a number is the same invoice only in the same
year (1 April - 31 March), through lost answers, reruns and one job holding both years, against the sandbox
and a scripted server that relays to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from books_async import BooksClient, InvalidRequestError, NumberTakenError
from books_async.models import Invoice, InvoiceCreate
from books_async.sandbox import Sandbox, SeedIds
from tests.bulk.helpers import bolts, posts
from tests.scripted_server import INVOICE, Action, ScriptedServer, drop, respond

pytestmark = [pytest.mark.sandbox(rate_limit=None), pytest.mark.books(rate_limit=None)]

MARCH_31 = date(2026, 3, 31)  # the last day of financial year 2025-26
APRIL_1 = date(2026, 4, 1)  # the first day of 2026-27
# Hop-by-hop headers and those aiohttp sets afresh for the relayed body.
_NOT_RELAYED = frozenset({"connection", "content-length", "host", "keep-alive", "transfer-encoding"})


def draft(customer_id: str, number: str, day: date) -> InvoiceCreate:
    return InvoiceCreate(
        customer_id=customer_id, invoice_date=day, invoice_number=number, line_items=[bolts()]
    )


def stored(sb: Sandbox, number: str) -> list[tuple[str, str]]:
    """(id, invoice date) of every stored invoice with ``number``, oldest first."""
    docs = sb.store.documents("invoices", sb.org_id)
    return [(str(d["_id"]), str(d["invoice_date"])[:10]) for d in docs if d["invoice_number"] == number]


def relay(sb: Sandbox, session: aiohttp.ClientSession, *, answer: bool = True) -> Action:
    """Carry the request to the sandbox (so it is processed there); unless ``answer``, lose the answer."""
    origin = URL(sb.base_url).origin()

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _NOT_RELAYED)
        async with session.request(
            request.method,
            origin.join(URL(request.raw_path, encoded=True)),
            headers=headers,
            data=raw or None,
        ) as upstream:
            body = await upstream.read()
            kept = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_RELAYED)
            status = upstream.status
        if not answer:
            return await drop()(request, raw)
        return web.Response(status=status, body=body, headers=kept)

    return act


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def relayed(
    server: ScriptedServer, sandbox: Sandbox, session: aiohttp.ClientSession
) -> AsyncIterator[BooksClient]:
    """A client of the scripted server, which relays whatever it was not scripted to answer to the sandbox."""
    server.default = relay(sandbox, session)
    async with BooksClient(
        api_key=sandbox.api_key, base_url=server.base_url, rate_limit=None, max_retries=1
    ) as client:
        yield client


async def last_years(books: BooksClient, customer: str, number: str = "FY/0001") -> Invoice:
    result = await books.bulk.create_invoices([draft(customer, number, MARCH_31)])
    assert result.ok
    return result.values[0]


# ---------------------------------------------------------------------------------- lost answers


async def test_lost_answer_after_1_april_settles_with_the_new_invoice_not_last_years(
    server: ScriptedServer,
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    relayed: BooksClient,
    books: BooksClient,
    seed: SeedIds,
) -> None:
    """FY/0001 stored in March; April's FY/0001 is created but its answer lost: the result is April's."""
    old = await last_years(books, seed.customer_b2b_intra)
    server.script("POST", "/books/invoices", relay(sandbox, session, answer=False))
    result = await relayed.bulk.create_invoices([draft(seed.customer_b2b_intra, "FY/0001", APRIL_1)])
    assert result.ok, result.errors
    new = result.values[0]
    assert new.id != old.id
    assert new.invoice_date == APRIL_1
    assert result.existing == frozenset()  # created by this job, not found from before
    assert posts(sandbox, "/books/invoices") == 2  # March's, and April's once: never resent
    assert stored(sandbox, "FY/0001") == [(old.id, "2026-03-31"), (new.id, "2026-04-01")]


async def test_lost_request_after_1_april_is_resent_not_taken_for_last_years(
    server: ScriptedServer, sandbox: Sandbox, relayed: BooksClient, books: BooksClient, seed: SeedIds
) -> None:
    """April's FY/0001 never reached the API: last year's does not stand in for it; it is sent again."""
    old = await last_years(books, seed.customer_b2b_intra)
    server.script("POST", "/books/invoices", drop())
    result = await relayed.bulk.create_invoices([draft(seed.customer_b2b_intra, "FY/0001", APRIL_1)])
    assert result.ok, result.errors
    new = result.values[0]
    assert new.id != old.id
    assert len(server.seen_at("POST", "/books/invoices")) == 2  # the lost one, then the resend
    assert posts(sandbox, "/books/invoices") == 2  # March's, and the resend: April's exists once
    assert stored(sandbox, "FY/0001") == [(old.id, "2026-03-31"), (new.id, "2026-04-01")]


async def test_lost_answers_of_a_chunk_across_1_april_settle_each_item_with_its_own_year(
    server: ScriptedServer,
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    relayed: BooksClient,
    books: BooksClient,
    seed: SeedIds,
) -> None:
    """A lost chunk of FY/0001-FY/0005 in April, beside March's five: each item settles as April's invoice."""
    customer = seed.customer_b2b_intra
    march = await books.bulk.create_invoices([draft(customer, f"FY/000{i}", MARCH_31) for i in range(1, 6)])
    assert march.ok
    server.script("POST", "/books/invoices", relay(sandbox, session, answer=False))
    april = [draft(customer, f"FY/000{i}", APRIL_1) for i in range(1, 6)]
    result = await relayed.bulk.create_invoices(april)
    assert result.ok, result.errors  # the reconcile reads the newest page, which holds both years
    assert [inv.invoice_date for inv in result.values] == [APRIL_1] * 5
    assert {inv.id for inv in result.values}.isdisjoint(inv.id for inv in march.values)
    assert posts(sandbox, "/books/invoices") == 2
    assert all(len(stored(sandbox, f"FY/000{i}")) == 2 for i in range(1, 6))


async def test_lost_request_answered_by_a_search_of_last_year_only_is_resent(
    server: ScriptedServer, seed: SeedIds
) -> None:
    """Scripted: the search shows only March's FY/0001; April's lost create is resent and succeeds."""
    march = {**INVOICE, "invoice_number": "FY/0001", "invoice_date": "2026-03-31", "due_date": "2026-03-31"}
    april = {
        **march,
        "_id": "65a1b2c3d4e5f60718293a4d",
        "invoice_date": "2026-04-01",
        "due_date": "2026-04-01",
    }
    page = {"data": [march], "pagination": {"page": 1, "limit": 100, "total": 1, "pages": 1}}
    server.script("POST", "/books/invoices", drop(), respond(201, [april]))
    server.script("GET", "/books/invoices", respond(200, page))
    item = draft(str(INVOICE["customer_id"]), "FY/0001", APRIL_1)
    async with BooksClient(api_key="k", base_url=server.base_url, rate_limit=None, max_retries=1) as client:
        result = await client.bulk.create_invoices([item])
    assert result.ok, result.errors
    assert result.values[0].id == april["_id"]
    assert len(server.seen_at("POST", "/books/invoices")) == 2
    assert len(server.seen_at("GET", "/books/invoices")) == 1


# ---------------------------------------------------------------------------------- one job, two years


async def test_bulk_create_with_one_number_in_two_financial_years_creates_both(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """FY/0001 dated 31 March and FY/0001 dated 1 April in one job are two invoices, both created."""
    items = [draft(seed.customer_b2b_intra, "FY/0001", day) for day in (MARCH_31, APRIL_1)]
    result = await books.bulk.create_invoices(items)
    assert result.ok, result.errors
    assert [inv.invoice_date for inv in result.values] == [MARCH_31, APRIL_1]
    assert [day for _, day in stored(sandbox, "FY/0001")] == ["2026-03-31", "2026-04-01"]
    assert posts(sandbox, "/books/invoices") == 1


async def test_bulk_create_repeating_a_number_within_one_financial_year_refuses_the_repeat_locally(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """FY/0001 dated 1 April and again 31 March of the next year repeat one number in one year: not sent."""
    items = [draft(seed.customer_b2b_intra, "FY/0001", day) for day in (APRIL_1, date(2027, 3, 31))]
    result = await books.bulk.create_invoices(items)
    assert set(result.errors) == {1}
    error = result.results[1]
    assert isinstance(error, InvalidRequestError)
    assert "financial year 2026-27" in str(error)
    assert error.details[0].path == ("invoice_number",)
    assert stored(sandbox, "FY/0001") == [(result.values[0].id, "2026-04-01")]


# ---------------------------------------------------------------------------------- reruns


@pytest.mark.parametrize("rerun", [None, True])
async def test_rerun_across_1_april_neither_matches_nor_conflicts_with_last_years_number(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds, rerun: bool | None
) -> None:
    """Last year's FY/0001-FY/0005 are stored: this year's job with those numbers creates all five."""
    customer = seed.customer_b2b_intra
    march = await books.bulk.create_invoices([draft(customer, f"FY/000{i}", MARCH_31) for i in range(1, 6)])
    assert march.ok
    # Unlike last year's in their date: a match by number alone would be a NumberTakenError.
    april = [draft(customer, f"FY/000{i}", APRIL_1) for i in range(1, 6)]
    result = await books.bulk.create_invoices(april, rerun=rerun)
    assert result.ok, result.errors
    assert result.existing == frozenset()
    assert result.created == 5
    assert all(len(stored(sandbox, f"FY/000{i}")) == 2 for i in range(1, 6))
    assert posts(sandbox, "/books/invoices") == 2  # one chunk each year, no 409 on the way


async def test_rerun_of_a_job_across_1_april_finds_each_number_in_its_own_year(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """A job holding FY/0001 in both years, run again: both items exist, each as its own year's invoice."""
    customer = seed.customer_b2b_intra
    items = [draft(customer, "FY/0001", MARCH_31), draft(customer, "FY/0001", APRIL_1)]
    first = await books.bulk.create_invoices(items)
    assert first.ok
    again = await books.bulk.create_invoices(items, rerun=True)
    assert again.ok, again.errors
    assert again.existing == frozenset({0, 1})
    assert [inv.id for inv in again.values] == [inv.id for inv in first.values]
    assert posts(sandbox, "/books/invoices") == 1


async def test_rerun_with_a_changed_draft_in_the_same_year_is_still_a_number_taken_error(
    books: BooksClient, sandbox: Sandbox, seed: SeedIds
) -> None:
    """Within one year the number still identifies the invoice: another customer's draft conflicts with it."""
    old = await last_years(books, seed.customer_b2b_intra)
    result = await books.bulk.create_invoices([draft(seed.customer_b2c, "FY/0001", date(2025, 4, 1))])
    error = result.results[0]
    assert isinstance(error, NumberTakenError)
    assert error.existing is not None
    assert [d.path for d in error.differences] == [("customer_id",), ("invoice_date",)]
    assert "FY/0001 is already used in financial year 2025-26" in str(error)
    assert stored(sandbox, "FY/0001") == [(old.id, "2026-03-31")]

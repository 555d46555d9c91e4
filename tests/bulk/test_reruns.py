"""Rerunning a bulk create: numbers already stored are found in a few list requests, matched against the
drafts, and settled as already existing or as a NumberTakenError; only new numbers are created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import attrs
import pytest

from books_async import (
    BooksClient,
    ConfigurationError,
    ConflictError,
    FieldDifference,
    NumberTakenError,
    OutcomeUnknownError,
)
from books_async._bulk.existing import find_invoice_numbers
from books_async.bulk import Settled
from books_async.models import Invoice, InvoiceCreate, ItemType, LineItemCreate, Quote, QuoteCreate
from books_async.sandbox import Sandbox, serve
from tests.scripted_server import INVOICE, ScriptedServer, drop, respond, scripted_server

DAY = date(2026, 11, 2)


def line(description: str = "Steel bolts", rate: str = "12.50") -> LineItemCreate:
    return LineItemCreate(
        item_type=ItemType.product,
        description=description,
        quantity=Decimal(2),
        rate=Decimal(rate),
        gst_rate=Decimal(18),
        hsn_sac="7318",
    )


def draft(customer_id: str, number: str) -> InvoiceCreate:
    return InvoiceCreate(
        customer_id=customer_id, invoice_date=DAY, invoice_number=number, line_items=[line()]
    )


def requests_since(sb: Sandbox, mark: int) -> list[tuple[str, str, int]]:
    """(method, path, status) of each request the sandbox received after the first ``mark``."""
    return [(method, path, status) for _, _, method, path, status in list(sb.request_log)[mark:]]


def stored_numbers(sb: Sandbox, prefix: str) -> list[str]:
    docs = sb.store.space(sb.org_id)["invoices"].values()
    return sorted(n for r in docs if (n := str(r.doc["invoice_number"])).startswith(prefix))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with serve(rate_limit=None) as sb:
        yield sb


@pytest.fixture
async def books(sandbox: Sandbox) -> AsyncIterator[BooksClient]:
    async with BooksClient(api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limit=None) as client:
        yield client


@pytest.fixture
def customer(sandbox: Sandbox) -> str:
    assert sandbox.seed is not None
    return sandbox.seed.customer_b2b_intra


async def test_rerun_of_a_finished_job_settles_every_item_as_existing_in_few_requests(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """Rerunning 40 created numbers: each is its stored invoice, flagged existing, for at most 3 requests."""
    drafts = [draft(customer, f"RR-{i:04d}") for i in range(40)]
    first = await books.bulk.create_invoices(drafts)
    assert first.ok
    assert first.existing == frozenset()
    mark = len(sandbox.request_log)
    seen: list[Settled[InvoiceCreate, Invoice]] = []
    again = await books.bulk.create_invoices(drafts, progress=seen.append)
    spent = requests_since(sandbox, mark)
    assert len(spent) <= 3, spent
    assert again.ok
    assert again.existing == frozenset(range(40))
    assert again.created == 0
    assert [inv.id for inv in again.values] == [inv.id for inv in first.values]
    assert sorted(s.index for s in seen if s.existed) == list(range(40))
    assert "existing=40" in repr(again)
    assert stored_numbers(sandbox, "RR-") == [f"RR-{i:04d}" for i in range(40)]


async def test_rerun_true_looks_numbers_up_before_sending_anything(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """With rerun=True a rerun of 40 stored numbers costs one search and sends no POST."""
    drafts = [draft(customer, f"RT-{i:04d}") for i in range(40)]
    assert (await books.bulk.create_invoices(drafts)).ok
    mark = len(sandbox.request_log)
    again = await books.bulk.create_invoices(drafts, rerun=True)
    spent = requests_since(sandbox, mark)
    assert again.existing == frozenset(range(40))
    assert [(method, status) for method, _, status in spent] == [("GET", 200)]


async def test_one_taken_number_in_a_fresh_job_looks_up_its_chunk_only(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A fresh job meeting one stored number looks up that chunk's numbers, not the whole job's."""
    drafts = [draft(customer, f"FJ-{i:04d}") for i in range(40)]
    assert (await books.bulk.create_invoices([drafts[3]])).ok
    mark = len(sandbox.request_log)
    result = await books.bulk.create_invoices(drafts, max_items_per_request=10, concurrency=1)
    spent = requests_since(sandbox, mark)
    assert result.ok
    assert result.existing == frozenset({3})
    searches = [path for method, path, _ in spent if method == "GET"]
    assert len(searches) == 1  # the first chunk's ten numbers; the 30 waiting were not looked up
    assert stored_numbers(sandbox, "FJ-") == [f"FJ-{i:04d}" for i in range(40)]


async def test_rerun_in_many_chunks_looks_up_the_waiting_items_after_the_first_409(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """When a refused chunk was mostly stored, every item waiting is looked up too: one 409, two searches."""
    drafts = [draft(customer, f"MC-{i:04d}") for i in range(40)]
    assert (await books.bulk.create_invoices(drafts)).ok
    mark = len(sandbox.request_log)
    again = await books.bulk.create_invoices(drafts, max_items_per_request=10, concurrency=1)
    spent = requests_since(sandbox, mark)
    assert again.existing == frozenset(range(40))
    assert [(method, status) for method, _, status in spent] == [("POST", 409), ("GET", 200), ("GET", 200)]


async def test_rerun_with_a_differing_draft_fails_that_item_naming_the_field(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A stored invoice unlike its draft is that item's NumberTakenError (a 409); the rest succeed."""
    drafts = [draft(customer, f"RD-{i:04d}") for i in range(40)]
    assert (await books.bulk.create_invoices(drafts)).ok
    changed = list(drafts)
    changed[7] = attrs.evolve(drafts[7], line_items=[line(rate="13.00")])
    again = await books.bulk.create_invoices(changed)
    assert set(again.errors) == {7}
    error = again.results[7]
    assert isinstance(error, NumberTakenError)
    assert isinstance(error, ConflictError)
    assert error.status == 409
    assert error.number == "RD-0007"
    assert error.differences == (
        FieldDifference(("line_items", 0, "rate"), Decimal("12.50"), Decimal("13.00")),
    )
    assert "line_items.0.rate: stored 12.50, draft 13.00" in str(error)
    assert isinstance(error.existing, Invoice)
    assert error.existing.invoice_number == "RD-0007"
    assert again.existing == frozenset(range(40)) - {7}
    assert error not in again.unknown.values()  # refused, nothing changed


async def test_mixed_rerun_creates_only_the_new_numbers_once(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """Half the numbers stored, half new (interleaved): the new ones are created once, the rest found."""
    drafts = [draft(customer, f"MX-{i:04d}") for i in range(40)]
    assert (await books.bulk.create_invoices(drafts[::2])).ok
    before = len(sandbox.store.space(sandbox.org_id)["invoices"])
    mark = len(sandbox.request_log)
    again = await books.bulk.create_invoices(drafts)
    spent = requests_since(sandbox, mark)
    assert again.ok
    assert again.existing == frozenset(range(0, 40, 2))
    assert again.created == 20
    assert len(sandbox.store.space(sandbox.org_id)["invoices"]) == before + 20
    assert stored_numbers(sandbox, "MX-") == [f"MX-{i:04d}" for i in range(40)]
    created = [(m, s) for m, p, s in spent if m == "POST" and s == 201]
    assert len(created) == 1  # the 20 new numbers, in one bulk body
    assert len(spent) <= 3, spent


async def test_rerun_compares_decimals_by_value_and_ignores_fields_left_to_the_server(
    books: BooksClient, customer: str
) -> None:
    """Quantity 2.000 matches a stored 2; fields the draft left to the server are not compared."""
    first = await books.bulk.create_invoices([draft(customer, "DV-1")])
    stored = first.values[0]
    assert stored.due_date is not None
    assert stored.place_of_supply is not None
    same = attrs.evolve(draft(customer, "DV-1"), line_items=[attrs.evolve(line(), quantity=Decimal("2.000"))])
    again = await books.bulk.create_invoices([same], rerun=True)
    assert again.existing == frozenset({0})
    later = attrs.evolve(same, due_date=date(2027, 1, 1))
    refused = await books.bulk.create_invoices([later], rerun=True)
    error = refused.results[0]
    assert isinstance(error, NumberTakenError)
    assert [d.path for d in error.differences] == [("due_date",)]
    assert error.differences[0].stored == stored.due_date


async def test_rerun_false_reports_a_stored_number_as_a_plain_conflict(
    books: BooksClient, customer: str
) -> None:
    """rerun=False never looks numbers up: even an identical stored invoice is a ConflictError."""
    assert (await books.bulk.create_invoices([draft(customer, "RF-1")])).ok
    again = await books.bulk.create_invoices([draft(customer, "RF-1")], rerun=False)
    error = again.results[0]
    assert type(error) is ConflictError
    assert again.existing == frozenset()


async def test_rerun_of_quotes_settles_stored_quotes_as_existing(books: BooksClient, customer: str) -> None:
    """Quotes rerun alike: stored ones matching their drafts are existing, a differing one is refused."""
    drafts = [
        QuoteCreate(customer_id=customer, quote_date=DAY, quote_number=f"QR-{i}", line_items=[line()])
        for i in range(5)
    ]
    assert (await books.bulk.create_quotes(drafts)).ok
    changed = [*drafts[:4], attrs.evolve(drafts[4], quote_date=date(2026, 11, 3))]
    again = await books.bulk.create_quotes(changed)
    assert again.existing == frozenset(range(4))
    assert all(isinstance(q, Quote) for q in again.values)
    error = again.results[4]
    assert isinstance(error, NumberTakenError)
    assert [d.path for d in error.differences] == [("quote_date",)]


async def test_find_invoice_numbers_splits_a_prefix_matching_too_many_invoices(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """Numbers whose common prefix matches 300 other invoices are found by narrower searches, not 4 pages."""
    others = [draft(customer, f"BR-1{i:03d}") for i in range(300)]
    assert (await books.bulk.create_invoices(others)).ok
    wanted = [draft(customer, "BR-2005"), draft(customer, "BR-1005"), draft(customer, "BR-3000")]
    assert (await books.bulk.create_invoices([wanted[0]])).ok
    mark = len(sandbox.request_log)
    found = await find_invoice_numbers(books, wanted)
    spent = requests_since(sandbox, mark)
    assert sorted(found) == [("BR-1005", "2026-27"), ("BR-2005", "2026-27")]
    assert all(method == "GET" for method, _, _ in spent)
    assert len(spent) <= 4, spent  # the broad prefix's first page, then each number alone


async def test_progress_that_is_a_coroutine_function_is_refused_before_any_request(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """An async progress callback is a ConfigurationError, raised before anything is sent."""

    async def progress(settled: Settled[InvoiceCreate, Invoice]) -> None:
        return None

    mark = len(sandbox.request_log)
    with pytest.raises(ConfigurationError, match="plain function"):
        await books.bulk.create_invoices([draft(customer, "PA-1")], progress=progress)
    with pytest.raises(ConfigurationError, match="plain function"):
        await books.bulk.send_invoices(["0123456789abcdef01234567"], progress=progress)
    assert requests_since(sandbox, mark) == []


async def test_progress_returning_an_awaitable_stops_the_job_with_its_partial_result(
    books: BooksClient, customer: str
) -> None:
    """A progress callback that returns a coroutine is a bug: a TypeError carrying the partial result."""

    async def later() -> None:
        return None

    with pytest.raises(TypeError, match="never awaited") as err:
        await books.bulk.create_invoices([draft(customer, "PW-1")], progress=lambda settled: later())
    partial = getattr(err.value, "bulk_result", None)
    assert partial is not None
    assert partial.succeeded == 1


# ---------------------------------------------------------------------------------------- scripted answers


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


@pytest.fixture
async def scripted(server: ScriptedServer) -> AsyncIterator[BooksClient]:
    async with BooksClient(api_key="k", base_url=server.base_url, rate_limit=None, max_retries=1) as client:
        yield client


def page(*invoices: dict[str, object]) -> dict[str, object]:
    return {
        "data": list(invoices),
        "pagination": {"page": 1, "limit": 100, "total": len(invoices), "pages": 1},
    }


def like_invoice(number: str = "INV-0001") -> InvoiceCreate:
    """The draft the scripted server's INVOICE was created from."""
    bolts = attrs.evolve(line(), quantity=Decimal(10), rate=Decimal("150.00"))
    return InvoiceCreate(
        customer_id=INVOICE["customer_id"],
        invoice_date=date(2026, 11, 1),
        invoice_number=number,
        line_items=[bolts],
    )


TAKEN = respond(409, {"error": "conflict", "message": "invoice number is already used"})


async def test_search_matching_whole_numbers_only_falls_back_to_looking_each_number_up(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A search missing a prefix proves nothing: the 409 is narrowed down, the number looked up alone."""
    server.script(
        "POST",
        "/books/invoices",
        TAKEN,
        TAKEN,
        TAKEN,
        respond(201, [{**INVOICE, "invoice_number": "INV-0002"}]),
    )
    server.script("GET", "/books/invoices", respond(200, page()), respond(200, page(INVOICE)))
    result = await scripted.bulk.create_invoices([like_invoice("INV-0001"), like_invoice("INV-0002")])
    assert result.ok
    assert result.existing == frozenset({0})
    assert [s.query.get("search") for s in server.seen_at("GET", "/books/invoices")] == [
        "INV-000",
        "INV-0001",
    ]
    assert len(server.seen_at("POST", "/books/invoices")) == 4


async def test_search_that_never_shows_the_number_leaves_a_plain_conflict(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """When no look-up finds the taken number, the item is the API's ConflictError, never a success."""
    server.script("POST", "/books/invoices", TAKEN, TAKEN)
    server.default = respond(200, page())
    result = await scripted.bulk.create_invoices([like_invoice()])
    error = result.results[0]
    assert type(error) is ConflictError
    assert result.existing == frozenset()


async def test_lost_answer_whose_number_holds_another_invoice_stays_unknown_naming_the_fields(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """After a dropped create, a stored invoice unlike the draft is not taken for ours, nor for a refusal."""
    server.script("POST", "/books/invoices", drop())
    server.script("GET", "/books/invoices", respond(200, page(INVOICE)))
    other = attrs.evolve(like_invoice(), customer_id="65a1b2c3d4e5f60718293aff")
    result = await scripted.bulk.create_invoices([other])
    error = result.results[0]
    assert isinstance(error, OutcomeUnknownError)
    assert 0 in result.unknown
    assert "customer_id: stored '65a1b2c3d4e5f60718293a4c', draft '65a1b2c3d4e5f60718293aff'" in str(error)
    cause = error.__cause__
    assert isinstance(cause, NumberTakenError)
    assert [d.path for d in cause.differences] == [("customer_id",)]
    assert len(server.seen_at("POST", "/books/invoices")) == 1

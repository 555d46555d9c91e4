"""Bulk creates (books_async._bulk.create): packing into bodies, per-item errors, and unknown outcomes
reconciled without a duplicate, against the sandbox and a scripted server."""

from __future__ import annotations

import random
from datetime import date

import attrs
import pytest

from books_async import (
    BooksClient,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    ValidationError,
    WriteAcceptedError,
    _serde,
)
from books_async._transport import MAX_BODY_BYTES
from books_async.bulk import pack
from books_async.models import (
    InvoiceCreate,
    ItemType,
    QuoteCreate,
)
from books_async.sandbox import Sandbox
from tests.bulk.helpers import DAY, MISSING_ID, bolts, draft, numbers_in, posts, size_of
from tests.factories import line
from tests.scripted_server import (
    INVOICE,
    INVOICE_ID,
    ScriptedServer,
    drop,
    respond,
    respond_bytes,
)

# Bulk jobs send more than the API's 100 requests a minute; quotas have tests of their own.
pytestmark = [pytest.mark.sandbox(rate_limit=None), pytest.mark.books(rate_limit=None)]


# ---------------------------------------------------------------------------------------- packing


def test_pack_never_exceeds_limit_and_keeps_input_order() -> None:
    """Greedy packing keeps order, never splits an item and never makes a body over the limit."""
    rng = random.Random(7)  # noqa: S311  # reproducible sizes, not secrets
    sizes = [(i, rng.randint(1, 300)) for i in range(2000)]
    chunks = list(pack(sizes, limit=1000))
    assert [i for chunk in chunks for i in chunk] == list(range(2000))
    for chunk in chunks:
        assert 2 + sum(sizes[i][1] for i in chunk) + len(chunk) - 1 <= 1000


def test_pack_of_equal_items_uses_about_the_minimum_number_of_bodies() -> None:
    """Equal-sized items need ceil(total / limit) bodies, plus one at most."""
    sizes = [(i, 1000) for i in range(10_000)]
    chunks = list(pack(sizes, limit=MAX_BODY_BYTES))
    total = 2 + 10_000 * 1000 + 9_999
    assert -(-total // MAX_BODY_BYTES) <= len(chunks) <= -(-total // MAX_BODY_BYTES) + 1


def test_pack_honours_max_items() -> None:
    """max_items caps a chunk's item count even when bytes would allow more."""
    assert [len(c) for c in pack([(i, 1) for i in range(7)], limit=1000, max_items=3)] == [3, 3, 1]


def test_pack_overhead_matches_the_real_serialised_array() -> None:
    """The computed size of a chunk (brackets and commas) is exactly the bytes the resource sends."""
    items = [draft(MISSING_ID, f"S-{i}", lines=i % 5 + 1) for i in range(30)]
    sized = [(i, size_of(item)) for i, item in enumerate(items)]
    for chunk in pack(sized, limit=2500):
        body = _serde.dumps(_serde.unstructure_request([items[i] for i in chunk]))
        assert len(body) == 2 + sum(sized[i][1] for i in chunk) + len(chunk) - 1 <= 2500


async def test_create_invoices_packs_into_few_requests_in_input_order(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """Items of ~5 KB with a 20 KB limit go out in ceil(total/limit) (+1) bodies and come back in order."""
    items = [draft(customer, f"PK-{i:03d}", lines=30, width=60) for i in range(24)]
    total = 2 + sum(size_of(i) for i in items) + len(items) - 1
    result = await books.bulk.create_invoices(items, max_request_bytes=20_000)
    assert result.ok, result.errors
    assert [inv.invoice_number for inv in result.values] == [f"PK-{i:03d}" for i in range(24)]
    assert -(-total // 20_000) <= posts(sandbox, "/books/invoices") <= -(-total // 20_000) + 1


async def test_create_invoices_fails_an_oversize_item_alone_without_sending_it(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """An item bigger than the limit alone fails with PayloadTooLargeError; its neighbours are created."""
    items = [draft(customer, "OV-1"), draft(customer, "OV-2", lines=200, width=100), draft(customer, "OV-3")]
    result = await books.bulk.create_invoices(items, max_request_bytes=10_000)
    assert isinstance(result.results[1], PayloadTooLargeError)
    assert result.succeeded == 2
    assert sorted(numbers_in(sandbox, "OV-")) == ["OV-1", "OV-3"]


async def test_create_invoices_refuses_a_limit_above_the_api_limit(books: BooksClient) -> None:
    """max_request_bytes over 5 MB is a configuration error, before anything is sent."""
    with pytest.raises(ConfigurationError):
        await books.bulk.create_invoices([], max_request_bytes=MAX_BODY_BYTES + 1)


# ---------------------------------------------------------------------------------------- per-item errors


async def test_create_invoices_maps_400_details_to_the_failing_item(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A 400 for a chunk fails only the item its details name; the rest are resent and created."""
    items = [draft(customer, f"VA-{i}") for i in range(5)]
    items[2] = draft(MISSING_ID, "VA-2")
    result = await books.bulk.create_invoices(items)
    error = result.results[2]
    assert isinstance(error, ValidationError)
    assert error.details[0].path == ("customer_id",)
    assert result.succeeded == 4
    assert sorted(numbers_in(sandbox, "VA-")) == ["VA-0", "VA-1", "VA-3", "VA-4"]


async def test_create_invoices_narrows_a_409_down_to_the_taken_number(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A number already taken fails that item with ConflictError; the others of its chunk are created."""
    await books.invoices.create(draft(customer, "DU-3"))
    items = [draft(customer, f"DU-{i}") for i in range(8)]
    result = await books.bulk.create_invoices(items, rerun=False)  # no look-up: the 409 is narrowed down
    assert isinstance(result.results[3], ConflictError)
    assert result.succeeded == 7
    assert result.failed == 1
    assert sorted(numbers_in(sandbox, "DU-")) == [f"DU-{i}" for i in range(8)]


async def test_create_invoices_checks_items_locally_one_by_one(books: BooksClient, customer: str) -> None:
    """A locally invalid item and a repeated number fail alone, before sending; the rest are created."""
    bad = InvoiceCreate(
        customer_id=customer,
        invoice_date=DAY,
        invoice_number="LC-1",
        line_items=[attrs.evolve(bolts(), rate=1500.0)],  # type: ignore[arg-type]  # a float for money
    )
    items = [draft(customer, "LC-0"), bad, draft(customer, "LC-2"), draft(customer, "LC-0")]
    result = await books.bulk.create_invoices(items)
    assert isinstance(result.results[1], InvalidRequestError)
    assert isinstance(result.results[3], InvalidRequestError)
    assert result.results[3].details[0].path == ("invoice_number",)
    assert result.succeeded == 2


async def test_create_quotes_returns_quotes_in_input_order(books: BooksClient, customer: str) -> None:
    """Bulk quotes come back in input order with their numbers."""
    items = [
        QuoteCreate(customer_id=customer, quote_date=DAY, quote_number=f"Q-{i}", line_items=[bolts()])
        for i in range(5)
    ]
    result = await books.bulk.create_quotes(items)
    assert [q.quote_number for q in result.values] == [f"Q-{i}" for i in range(5)]


# ---------------------------------------------------------------------------------------- unknown outcomes


def _page(*invoices: dict[str, object]) -> dict[str, object]:
    return {
        "data": list(invoices),
        "pagination": {"page": 1, "limit": 100, "total": len(invoices), "pages": 1},
    }


async def test_unknown_outcome_with_number_found_by_look_up_is_not_resent(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A dropped bulk create is reconciled by number: the stored invoice is the result, nothing is resent."""
    server.script("POST", "/books/invoices", drop())
    server.script("GET", "/books/invoices", respond(200, _page(INVOICE)))
    item = InvoiceCreate(  # what INVOICE was created from: a stored invoice unlike it would be a conflict
        customer_id=INVOICE["customer_id"],
        invoice_date=date(2026, 11, 1),
        invoice_number="INV-0001",
        line_items=[
            line(10, "150.00", item_type=ItemType.product, description="Steel bolts", hsn_sac="7318")
        ],
    )
    result = await scripted.bulk.create_invoices([item])
    assert result.ok
    assert result.values[0].id == INVOICE_ID
    assert len(server.seen_at("POST", "/books/invoices")) == 1


async def test_unknown_outcome_with_number_not_found_is_resent_once(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A dropped create whose number is not found is sent again, and succeeds."""
    server.script("POST", "/books/invoices", drop(), respond(201, [INVOICE]))
    server.script("GET", "/books/invoices", respond(200, _page()))
    result = await scripted.bulk.create_invoices([draft(INVOICE["customer_id"], "INV-0001")])
    assert result.ok
    assert len(server.seen_at("POST", "/books/invoices")) == 2


async def test_unknown_outcome_without_number_is_reported_never_resent(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """Items without a number can't be looked up: OutcomeUnknownError each, and exactly one POST."""
    server.script("POST", "/books/invoices", drop())
    result = await scripted.bulk.create_invoices([draft(INVOICE["customer_id"]) for _ in range(3)])
    assert result.failed == 3
    assert all(isinstance(e, OutcomeUnknownError) for e in result.errors.values())
    assert len(server.seen_at("POST", "/books/invoices")) == 1


async def test_503_for_a_chunk_is_resent(server: ScriptedServer, scripted: BooksClient) -> None:
    """A 503 processed nothing: the chunk is sent again, even without numbers."""
    server.script("POST", "/books/invoices", respond(503, {"error": "unavailable", "message": "busy"}))
    server.script("POST", "/books/invoices", respond(201, [INVOICE]))
    result = await scripted.bulk.create_invoices([draft(INVOICE["customer_id"])])
    assert result.ok
    assert len(server.seen_at("POST", "/books/invoices")) == 2


async def test_unknown_outcome_resends_at_most_three_times(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A number never found and a create that always drops ends after three sends, as unknown."""
    server.script("POST", "/books/invoices", drop(), drop(), drop(), drop())
    server.script("GET", "/books/invoices", *[respond(200, _page()) for _ in range(4)])
    result = await scripted.bulk.create_invoices([draft(INVOICE["customer_id"], "INV-0001")])
    assert isinstance(result.results[0], OutcomeUnknownError)
    assert len(server.seen_at("POST", "/books/invoices")) == 3


async def test_unreadable_answer_to_a_created_chunk_is_read_back_and_never_resent(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A 201 whose body cannot be read created the chunk: found items are its results, the others say
    the write happened (WriteAcceptedError), and nothing is sent twice."""
    server.script(
        "POST", "/books/invoices", respond_bytes(b"<html>proxy page</html>", "text/html", status=201)
    )
    server.script("GET", "/books/invoices", respond(200, _page(INVOICE)), respond(200, _page()))
    items = [draft(INVOICE["customer_id"], "INV-0001"), draft(INVOICE["customer_id"], "INV-0002")]
    result = await scripted.bulk.create_invoices([*items, draft(INVOICE["customer_id"])])
    assert result.values[0].id == INVOICE_ID
    assert [type(result.results[i]).__name__ for i in (1, 2)] == ["WriteAcceptedError"] * 2
    assert isinstance(result.results[1], WriteAcceptedError)
    assert result.results[1].status == 201
    assert len(server.seen_at("POST", "/books/invoices")) == 1

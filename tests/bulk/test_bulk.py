"""Bulk helpers (books_async.bulk) end to end against the sandbox: the faulty bulk job, fan-out of sends,
conversions and payments, stopping, bugs that propagate with the partial result, and progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pypdf
import pytest

from books_async import (
    AuthenticationError,
    BooksClient,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimit,
    ValidationError,
)
from books_async.bulk import BulkResult, Settled, is_complete_pdf
from books_async.models import (
    InvoiceCreate,
    PaymentCreate,
    PaymentMethod,
    QuoteCreate,
)
from books_async.sandbox import Sandbox, serve
from tests.bulk.helpers import DAY, MISSING_ID, bolts, draft, listing, numbers_in
from tests.scripted_server import (
    INVOICE,
    INVOICE_ID,
    ScriptedServer,
    drop,
    respond,
)

# Bulk jobs send more than the API's 100 requests a minute; quotas have tests of their own.
pytestmark = [pytest.mark.sandbox(rate_limit=None), pytest.mark.books(rate_limit=None)]


# ---------------------------------------------------------------------------------------- the done-when job


async def test_bulk_job_with_faults_creates_each_invoice_once_and_downloads_every_pdf(tmp_path: Path) -> None:
    """600 invoices through 503s, drops after processing and latency, at 200 requests a second: each is
    stored exactly once, every PDF is on disk and complete, and the results account for every item."""
    faults = "503:0.05,drop:0.03,slow:0.05:0.2"
    async with serve(rate_limit=(200, 1.0), faults=faults, faults_seed=20261125) as sb:
        assert sb.seed is not None
        customers = [sb.seed.customer_b2b_intra, sb.seed.customer_b2b_inter, sb.seed.customer_b2c]
        items = [draft(customers[i % 3], f"JOB-{i:05d}", lines=i % 3 + 1) for i in range(600)]
        async with BooksClient(
            api_key=sb.api_key, base_url=sb.base_url, rate_limit=RateLimit(200, 1.0), max_retries=5
        ) as books:
            done: list[int] = []
            created = await books.bulk.create_invoices(
                items, max_items_per_request=10, progress=lambda settled: done.append(settled.done)
            )
            assert created.succeeded + created.failed == created.total == 600
            assert created.ok, {i: repr(e) for i, e in created.errors.items()}
            assert [inv.invoice_number for inv in created.values] == [i.invoice_number for i in items]
            assert sorted(done) == list(range(1, 601))

            stored = numbers_in(sb, "JOB-")
            assert len(stored) == len(set(stored)) == 600

            pdfs = await books.bulk.download_pdfs([inv.id for inv in created.values], tmp_path)
            assert pdfs.succeeded + pdfs.failed == 600
            assert pdfs.ok, {i: repr(e) for i, e in pdfs.errors.items()}
        assert sum(1 for entry in sb.request_log if entry[4] == 503) > 10  # the faults were really met
    check_job_files(tmp_path, 600)


def check_job_files(directory: Path, count: int) -> None:
    names = listing(directory)
    assert len(names) == count
    assert all(not name.startswith(".") for name in names)  # no temp file left
    assert all(is_complete_pdf(directory / name) for name in names)
    for name in names[:: count // 4]:
        assert len(pypdf.PdfReader(directory / name).pages) >= 1


# ---------------------------------------------------------------------------------------- fan-out


async def test_send_invoices_reports_each_item_in_order(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """Sends fan out; a missing invoice fails alone; progress is called once per item."""
    created = await books.bulk.create_invoices([draft(customer, f"SE-{i}") for i in range(4)])
    ids = [inv.id for inv in created.values] + [MISSING_ID]
    calls: list[tuple[int, int, str]] = []
    result = await books.bulk.send_invoices(ids, progress=lambda s: calls.append((s.done, s.total, s.item)))
    assert result.succeeded == 4
    assert isinstance(result.results[4], NotFoundError)
    assert sorted(c[0] for c in calls) == [1, 2, 3, 4, 5]
    assert {c[1] for c in calls} == {5}
    assert len(sandbox.outbox()) == 4


async def test_convert_quotes_refuses_a_second_conversion(books: BooksClient, customer: str) -> None:
    """Each quote becomes an invoice; converting one again fails alone with ConflictError."""
    quotes = await books.bulk.create_quotes(
        [QuoteCreate(customer_id=customer, quote_date=DAY, line_items=[bolts()]) for _ in range(2)]
    )
    ids = [q.id for q in quotes.values]
    result = await books.bulk.convert_quotes([*ids, ids[0]], concurrency=1)
    assert [inv.quote_id for inv in result.values] == ids
    assert isinstance(result.results[2], ConflictError)


QUOTE_ID = "65a1b2c3d4e5f60718293a4d"
CONVERTED_QUOTE = {
    **{
        k: v
        for k, v in INVOICE.items()
        if k not in ("invoice_number", "invoice_date", "due_date", "payments")
    },
    "_id": QUOTE_ID,
    "quote_number": "QT-0001",
    "quote_date": "2026-11-01",
    "expiry_date": "2026-12-01",
    "status": "converted",
    "converted_invoice_id": INVOICE_ID,
}


async def test_convert_with_unknown_outcome_is_reconciled_from_the_quote(
    server: ScriptedServer, scripted: BooksClient
) -> None:
    """A dropped conversion is looked up: the quote names its invoice, which is the result; no second POST."""
    server.script("POST", f"/books/quotes/{QUOTE_ID}/convert", drop())
    server.script("GET", f"/books/quotes/{QUOTE_ID}", respond(200, CONVERTED_QUOTE))
    result = await scripted.bulk.convert_quotes([QUOTE_ID])
    assert result.ok
    assert result.values[0].id == INVOICE_ID
    assert len(server.seen_at("POST", f"/books/quotes/{QUOTE_ID}/convert")) == 1


async def test_send_quotes_and_download_quote_pdfs(books: BooksClient, customer: str, tmp_path: Path) -> None:
    """Quotes fan out to sends and to PDF downloads named after the quote."""
    quotes = await books.bulk.create_quotes(
        [
            QuoteCreate(customer_id=customer, quote_date=DAY, quote_number=f"SQ-{i}", line_items=[bolts()])
            for i in range(3)
        ]
    )
    ids = [q.id for q in quotes.values]
    sent = await books.bulk.send_quotes(ids)
    assert [r.document_status for r in sent.values] == ["sent"] * 3
    pdfs = await books.bulk.download_pdfs(ids, tmp_path, kind="quote")
    assert pdfs.ok, pdfs.errors
    assert [f.path.name for f in pdfs.values] == [f"quote-SQ-{i}.pdf" for i in range(3)]


async def test_record_payments_fails_an_overpayment_alone(books: BooksClient, customer: str) -> None:
    """Payments fan out; one above the balance due fails with ValidationError, the others are recorded."""
    created = await books.bulk.create_invoices([draft(customer, f"PY-{i}") for i in range(3)])
    invoices = created.values
    await books.bulk.send_invoices([inv.id for inv in invoices])
    pairs = [
        (inv.id, PaymentCreate(amount=inv.total + (1 if i == 1 else 0), payment_method=PaymentMethod.upi))
        for i, inv in enumerate(invoices)
    ]
    result = await books.bulk.record_payments(pairs)
    assert isinstance(result.results[1], ValidationError)
    assert [p.invoice.status.value for p in result.values] == ["paid", "paid"]


async def test_stop_event_leaves_the_rest_cancelled(books: BooksClient, customer: str) -> None:
    """Setting stop lets in-flight items finish, starts no new one, and counts the rest as cancelled."""
    created = await books.bulk.create_invoices([draft(customer, f"ST-{i}") for i in range(5)])
    stop = asyncio.Event()
    result = await books.bulk.send_invoices(
        [inv.id for inv in created.values], concurrency=1, stop=stop, progress=lambda _: stop.set()
    )
    assert (result.succeeded, result.failed, result.cancelled, result.ok) == (1, 0, 4, False)
    assert result.results[1:] == (None, None, None, None)


async def test_a_bad_key_fails_every_item_after_one_request(sandbox: Sandbox) -> None:
    """401 is fatal for the job: the remaining items fail with it without being sent."""
    async with BooksClient(api_key="bad-key", base_url=sandbox.base_url, rate_limit=None) as books:
        result = await books.bulk.send_invoices([MISSING_ID] * 5, concurrency=1)
        assert books.requests_sent == 1
    assert result.failed == 5
    assert all(isinstance(e, AuthenticationError) for e in result.errors.values())


class BoomError(Exception):
    """A bug in a progress callback."""


async def test_a_bug_stops_the_job_and_propagates_with_the_partial_result(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A progress callback raising on the third send stops the job: items in flight finish, no new one
    starts, and the error itself propagates with a BulkResult that matches the outbox."""
    created = await books.bulk.create_invoices([draft(customer, f"BG-{i:02d}") for i in range(40)])
    ids = [inv.id for inv in created.values]

    def progress(settled: Settled[str, object]) -> None:
        if settled.done == 3:
            raise BoomError("progress broke")

    with pytest.raises(BoomError) as err:
        await books.bulk.send_invoices(ids, concurrency=4, progress=progress)
    partial = getattr(err.value, "bulk_result", None)
    assert isinstance(partial, BulkResult)
    assert "bulk_result" in "".join(err.value.__notes__)
    sent = {str(mail["document_id"]) for mail in sandbox.outbox()}
    assert partial.cancelled >= 30
    for doc_id, outcome in zip(ids, partial.results, strict=True):
        assert (doc_id in sent) == (outcome is not None)  # done exactly when settled; untried never sent
    assert partial.failed == 0


async def test_a_bug_in_a_bulk_create_keeps_what_was_created(
    books: BooksClient, sandbox: Sandbox, customer: str
) -> None:
    """A bug met while settling a created chunk propagates; the partial result holds the whole chunk."""
    items = [draft(customer, f"BC-{i:02d}") for i in range(30)]

    def progress(settled: Settled[InvoiceCreate, object]) -> None:
        if settled.done == 1:
            raise BoomError("progress broke")

    with pytest.raises(BoomError) as err:
        await books.bulk.create_invoices(items, max_items_per_request=10, concurrency=1, progress=progress)
    partial = err.value.bulk_result  # type: ignore[attr-defined]
    assert isinstance(partial, BulkResult)
    assert partial.succeeded == 10
    assert partial.cancelled == 20
    assert sorted(numbers_in(sandbox, "BC-")) == [f"BC-{i:02d}" for i in range(10)]


async def test_progress_receives_every_outcome_with_its_index(books: BooksClient, customer: str) -> None:
    """progress=records.append keeps a record of each item: index, item, outcome, errors included."""
    items = [draft(customer, "PR-1"), draft(MISSING_ID, "PR-2"), draft(customer, "PR-1")]
    records: list[Settled[InvoiceCreate, object]] = []
    result = await books.bulk.create_invoices(items, progress=records.append)
    by_index = {r.index: r for r in records}
    assert sorted(by_index) == [0, 1, 2]
    assert all(by_index[i].outcome is result.results[i] for i in range(3))
    assert isinstance(by_index[1].outcome, ValidationError)
    assert isinstance(by_index[2].outcome, InvalidRequestError)
    assert by_index[2].item is items[2]
    assert sorted(r.done for r in records) == [1, 2, 3]
    assert {r.total for r in records} == {3}


def test_bulk_result_counts_and_repr() -> None:
    """BulkResult counts successes, failures and cancelled items, and its repr holds no values."""
    error = NotFoundError("gone", status=404, body=None, method="GET", url="u")
    result: BulkResult[str] = BulkResult(("a", error, None, "b"))
    assert (result.total, result.succeeded, result.failed, result.cancelled, result.ok) == (4, 2, 1, 1, False)
    assert result.values == ["a", "b"]
    assert result.errors == {1: error}
    assert repr(result) == "<BulkResult total=4 succeeded=2 failed=1 cancelled=1>"
    assert orjson.dumps(result.values)

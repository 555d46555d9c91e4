"""Bulk helpers against the sandbox (and, for exact failure modes, a scripted server): packing, per-item
outcomes, reconciling unknown outcomes, streaming PDF downloads, progress and stopping."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import attrs
import orjson
import pypdf
import pytest
from aiohttp import web

from books_async import (
    APIConnectionError,
    AuthenticationError,
    BooksClient,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    RateLimit,
    ResponseDecodeError,
    ValidationError,
    WriteAcceptedError,
    _serde,
)
from books_async._bulk.pool import run_pool
from books_async._transport import MAX_BODY_BYTES
from books_async.bulk import BulkResult, Settled, is_complete_pdf, pack, safe_filename
from books_async.models import (
    InvoiceCreate,
    ItemType,
    LineItemCreate,
    PaymentCreate,
    PaymentMethod,
    QuoteCreate,
)
from books_async.sandbox import Sandbox, serve
from tests.factories import line
from tests.scripted_server import (
    INVOICE,
    INVOICE_ID,
    Action,
    ScriptedServer,
    drop,
    respond,
    respond_bytes,
    scripted_server,
)

DAY = date(2026, 11, 2)
MISSING_ID = "0123456789abcdef01234567"
# Bulk jobs send more than the API's 100 requests a minute; quotas have tests of their own.
pytestmark = [pytest.mark.sandbox(rate_limit=None), pytest.mark.books(rate_limit=None)]


def bolts(description: str = "Steel bolts", quantity: int = 2) -> LineItemCreate:
    return line(quantity, "12.50", item_type=ItemType.product, description=description, hsn_sac="7318")


def draft(customer_id: str, number: str | None = None, *, lines: int = 1, width: int = 20) -> InvoiceCreate:
    """An invoice of about ``lines * (width + 110)`` bytes on the wire."""
    return InvoiceCreate(
        customer_id=customer_id,
        invoice_date=DAY,
        invoice_number=number,
        line_items=[bolts("x" * width) for _ in range(lines)],
    )


def size_of(item: object) -> int:
    return len(_serde.dumps(_serde.unstructure_request(item)))


def numbers_in(sb: Sandbox, prefix: str) -> list[str]:
    docs = sb.store.space(sb.org_id)["invoices"].values()
    return [str(r.doc["invoice_number"]) for r in docs if str(r.doc["invoice_number"]).startswith(prefix)]


def listing(directory: Path, pattern: str = "*") -> list[str]:
    """The names in ``directory`` (hidden ones included), sorted; a plain function, for async tests."""
    return sorted(p.name for p in directory.glob(pattern)) + sorted(
        p.name for p in directory.glob("." + pattern)
    )


def posts(sb: Sandbox, path: str) -> int:
    return sum(1 for entry in sb.request_log if entry[2] == "POST" and entry[3].endswith(path))


@pytest.fixture
def customer(sandbox: Sandbox) -> str:
    assert sandbox.seed is not None
    return sandbox.seed.customer_b2b_intra


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


@pytest.fixture
async def scripted(server: ScriptedServer) -> AsyncIterator[BooksClient]:
    async with BooksClient(api_key="k", base_url=server.base_url, rate_limit=None, max_retries=1) as client:
        yield client


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
    result = await books.bulk.create_invoices(items)
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
    item = draft(INVOICE["customer_id"], "INV-0001")
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


async def test_pool_runs_10000_items_with_bounded_concurrency() -> None:
    """10,000 items never run more than `concurrency` at once nor create a task each."""
    running = peak = 0
    peak_tasks = 0

    async def work(item: int) -> int:
        nonlocal running, peak, peak_tasks
        running += 1
        peak = max(peak, running)
        peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        await asyncio.sleep(0)
        running -= 1
        return item * 2

    result: BulkResult[int] = await run_pool(
        list(range(10_000)), work, concurrency=8, progress=None, stop=None
    )
    assert result.values == [i * 2 for i in range(10_000)]
    assert peak == 8
    assert peak_tasks <= 8 + 1  # the workers and the test itself


# ---------------------------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("suggested", "expected"),
    [
        ("invoice-INV-0001.pdf", "invoice-INV-0001.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("/etc/cron.d/evil.pdf", "evil.pdf"),
        ("..\\..\\windows\\system32\\x.pdf", "x.pdf"),
        ("..", "fallback.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("-rf.pdf", "rf.pdf"),
        ("in voice\x00;rm -rf.pdf", "in-voice-rm--rf.pdf"),
        ("résumé.PDF", "r-sum.pdf"),
        ("CON.pdf", "fallback.pdf"),
        ("report", "report.pdf"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
        ("", "fallback.pdf"),
        (None, "fallback.pdf"),
    ],
)
def test_safe_filename_keeps_names_inside_the_directory(suggested: str | None, expected: str) -> None:
    """Untrusted names lose any path, odd characters and leading dots; nothing usable gives the fallback."""
    assert safe_filename(suggested, "fallback.pdf") == expected


def _pdf(body: bytes = b"hello") -> bytes:
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


def pdf_answer(name: str, body: bytes | None = None) -> Action:
    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        return web.Response(
            body=body if body is not None else _pdf(),
            content_type="application/pdf",
            headers={"Content-Disposition": name},
        )

    return act


def broken_body(total: int, sent: int, *, stall: float = 0.0) -> Action:
    """Announce ``total`` bytes, send ``sent`` of a PDF, then stall and/or cut the connection."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "application/pdf", "Content-Length": str(total)}
        )
        await response.prepare(request)
        await response.write(b"%PDF-1.4\n" + b"x" * (sent - 9))
        transport = request.transport
        assert transport is not None
        # Stall until the client goes away (or the time is up), so the server can shut down promptly.
        for _ in range(int(stall / 0.02)):
            if transport.is_closing():
                break
            await asyncio.sleep(0.02)
        transport.close()
        return response

    return act


PDF_PATH = f"/books/invoices/{INVOICE_ID}/pdf"


async def test_download_with_hostile_names_stays_inside_the_directory(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Content-Disposition names with paths, encoded slashes or nothing usable land inside the directory."""
    ids = [f"{i:024x}" for i in range(1, 5)]
    hostile = [
        'attachment; filename="../../escape.pdf"',
        "attachment; filename*=UTF-8''..%2F..%2Fencoded.pdf",
        'attachment; filename="/etc/abs.pdf"',
        'attachment; filename=".."',
    ]
    for doc_id, name in zip(ids, hostile, strict=True):
        server.script("GET", f"/books/invoices/{doc_id}/pdf", pdf_answer(name))
    out = tmp_path / "out"
    result = await scripted.bulk.download_pdfs(ids, out)
    assert result.ok, result.errors
    assert listing(out) == sorted(["escape.pdf", "encoded.pdf", "abs.pdf", f"invoice-{ids[3]}.pdf"])
    assert listing(tmp_path) == ["out"]


async def test_download_two_ids_with_one_name_keeps_both(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Two documents the server names alike are both kept: the second gets its id appended."""
    ids = [f"{i:024x}" for i in range(1, 3)]
    for doc_id in ids:
        server.script("GET", f"/books/invoices/{doc_id}/pdf", pdf_answer('attachment; filename="same.pdf"'))
    result = await scripted.bulk.download_pdfs(ids, tmp_path, concurrency=1)
    assert [f.path.name for f in result.values] == ["same.pdf", f"same-{ids[1]}.pdf"]


async def test_download_broken_midway_is_retried_and_completes(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """A body cut off midway is downloaded again; the file is complete and no temp file remains."""
    server.script("GET", PDF_PATH, broken_body(100_000, 30_000), pdf_answer('attachment; filename="a.pdf"'))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert result.ok, result.errors
    assert listing(tmp_path) == ["a.pdf"]
    assert result.values[0].size == len(_pdf())


async def test_download_broken_every_time_leaves_no_partial_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """When every attempt breaks midway the item fails and the directory stays empty."""
    server.script("GET", PDF_PATH, *[broken_body(600_000, 400_000) for _ in range(2)])
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert isinstance(result.results[0], APIConnectionError)
    assert listing(tmp_path) == []


async def test_download_of_a_non_pdf_fails_without_a_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """An answer that is not a PDF fails the item with ResponseDecodeError and writes nothing."""
    server.script("GET", PDF_PATH, pdf_answer('attachment; filename="a.pdf"', b"<html>login</html>"))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert isinstance(result.results[0], ResponseDecodeError)
    assert listing(tmp_path) == []


async def test_cancelled_download_removes_its_temp_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Cancelling mid-body re-raises CancelledError and leaves neither a partial nor a temp file."""
    server.script("GET", PDF_PATH, broken_body(2_000_000, 600_000, stall=30))
    task = asyncio.create_task(scripted.bulk.download_pdfs([INVOICE_ID], tmp_path))
    for _ in range(500):
        if listing(tmp_path, "*.part"):
            break
        await asyncio.sleep(0.01)
    assert listing(tmp_path, "*.part"), "the download never started writing"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(tmp_path) == []


async def test_no_overwrite_skips_complete_files_without_requests(
    books: BooksClient, sandbox: Sandbox, customer: str, tmp_path: Path
) -> None:
    """With names, overwrite=False keeps complete files without a request; a cut-off one is redone."""
    created = await books.bulk.create_invoices([draft(customer, f"OW-{i}") for i in range(3)])
    ids = [inv.id for inv in created.values]
    names = {inv.id: f"invoice-{inv.invoice_number}.pdf" for inv in created.values}
    first = await books.bulk.download_pdfs(ids, tmp_path, names=names)
    assert first.ok
    assert not any(f.skipped for f in first.values)
    truncated = first.values[2].path
    truncated.write_bytes(truncated.read_bytes()[:100])
    before = books.requests_sent
    again = await books.bulk.download_pdfs(ids, tmp_path, names=names, overwrite=False)
    assert [f.skipped for f in again.values] == [True, True, False]
    assert books.requests_sent - before == 1
    assert is_complete_pdf(truncated)


async def test_no_overwrite_without_names_skips_after_the_headers(
    books: BooksClient, customer: str, tmp_path: Path
) -> None:
    """Without names the server's name is needed, so a skip costs a request but keeps the file."""
    created = await books.bulk.create_invoices([draft(customer, "ON-1")])
    first = await books.bulk.download_pdfs([created.values[0].id], tmp_path)
    mtime = first.values[0].path.stat().st_mtime_ns
    again = await books.bulk.download_pdfs([created.values[0].id], tmp_path, overwrite=False)
    assert again.values[0].skipped
    assert again.values[0].path.stat().st_mtime_ns == mtime


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


def big_pdf(size: int, *, declared: bool) -> Action:
    """A PDF of ``size`` bytes, its length declared or streamed in pieces without one."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        body = _pdf(b"x" * (size - len(_pdf(b""))))
        headers = {"Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="big.pdf"'}
        if declared:
            headers["Content-Length"] = str(len(body))
        response = web.StreamResponse(headers=headers)
        if not declared:
            response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response

    return act


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_download_over_the_size_cap_leaves_no_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path, declared: bool
) -> None:
    """A PDF over max_file_bytes fails with ResponseDecodeError and leaves neither a file nor a temp file."""
    server.script("GET", PDF_PATH, big_pdf(700_000, declared=declared))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path, max_file_bytes=300_000)
    error = result.results[0]
    assert isinstance(error, ResponseDecodeError)
    assert "max_file_bytes" in str(error)
    assert listing(tmp_path) == []
    assert len(server.seen_at("GET", PDF_PATH)) == 1  # not downloaded again


async def test_download_under_the_size_cap_is_kept(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """A PDF of exactly max_file_bytes is written whole."""
    server.script("GET", PDF_PATH, big_pdf(300_000, declared=False))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path, max_file_bytes=300_000)
    assert result.ok, result.errors
    assert result.values[0].size == 300_000
    assert listing(tmp_path) == ["big.pdf"]


def test_bulk_result_counts_and_repr() -> None:
    """BulkResult counts successes, failures and cancelled items, and its repr holds no values."""
    error = NotFoundError("gone", status=404, body=None, method="GET", url="u")
    result: BulkResult[str] = BulkResult(("a", error, None, "b"))
    assert (result.total, result.succeeded, result.failed, result.cancelled, result.ok) == (4, 2, 1, 1, False)
    assert result.values == ["a", "b"]
    assert result.errors == {1: error}
    assert repr(result) == "<BulkResult total=4 succeeded=2 failed=1 cancelled=1>"
    assert orjson.dumps(result.values)

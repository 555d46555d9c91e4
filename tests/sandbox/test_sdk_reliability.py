"""Issue 6's quota, faults and persistence, driven through the SDK against ``serve()``.

Real time is inherent to a quota, so these tests use short windows and assert what the server saw (its
request log), never how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from books_async import (
    APITimeoutError,
    BooksClient,
    ConflictError,
    OutcomeUnknownError,
    RateLimit,
    RateLimitError,
)
from books_async.models import (
    InvoiceStatus,
    InvoiceUpdate,
    PaymentCreate,
    PaymentMethod,
)
from books_async.sandbox import Sandbox, serve
from tests.factories import invoice
from tests.virtual_time import max_in_any_window

D = Decimal


def customer(sandbox: Sandbox) -> str:
    """The seeded B2C customer's id."""
    assert sandbox.seed is not None
    return sandbox.seed.customer_b2c


def statuses(sandbox: Sandbox, org_id: str | None = None) -> list[int]:
    """The statuses the sandbox answered, oldest first (only ``org_id``'s when given)."""
    return [s for _, org, _, _, s in sandbox.request_log if org_id is None or org == org_id]


def test_max_in_window_counts_half_open_windows() -> None:
    """The sweep treats two requests exactly one period apart as in different windows, like the server."""
    assert max_in_any_window([], 1.0, closed=False) == 0
    assert max_in_any_window([0.0, 1.0, 2.0], 1.0, closed=False) == 1
    assert max_in_any_window([0.0, 0.5, 0.99, 1.0, 1.2], 1.0, closed=False) == 4
    assert max_in_any_window([3.0, 0.1, 0.2], 1.0, closed=False) == 2  # unsorted input


# ------------------------------------------------------------------------------------------ rate limit


@pytest.mark.sandbox(rate_limit=(5, 2.0))
async def test_rate_limit_is_shared_by_an_orgs_keys(sandbox: Sandbox) -> None:
    """Five calls over the owner and member keys spend the org's quota; the sixth is a RateLimitError."""
    options = {"base_url": sandbox.base_url, "rate_limit": None, "max_retries": 0}
    async with (
        BooksClient(sandbox.api_key, **options) as owner,  # type: ignore[arg-type]
        BooksClient(sandbox.member_key, **options) as member,  # type: ignore[arg-type]
        BooksClient(sandbox.other_org_key, **options) as other,  # type: ignore[arg-type]
    ):
        for books in (owner, member, owner, member, member):
            await books.invoices.list()
        with pytest.raises(RateLimitError) as err:
            await owner.validate.context()
        # Another organisation has a quota of its own.
        assert (await other.validate.context()).org_id == sandbox.other_org_id
    retry_after = err.value.retry_after
    assert retry_after is not None
    assert retry_after == int(retry_after)
    assert 1 <= retry_after <= 2
    assert err.value.status == 429
    assert owner.rate_limited == 1
    assert statuses(sandbox, sandbox.org_id) == [200] * 5 + [429]


@pytest.mark.sandbox(rate_limit=(5, 1.0))
@pytest.mark.books(rate_limit=None)
async def test_rate_limit_retry_waits_then_succeeds(sandbox: Sandbox, books: BooksClient) -> None:
    """With retries on (and no client-side limit) a 429 is waited out and the call then succeeds."""
    for _ in range(5):
        await books.invoices.list()
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert books.rate_limited >= 1
    log = statuses(sandbox, sandbox.org_id)
    assert log[:6] == [200] * 5 + [429]
    assert log[-1] == 200


@pytest.mark.sandbox(rate_limit=(20, 1.0))
async def test_client_limiter_keeps_every_server_window_under_the_quota(sandbox: Sandbox) -> None:
    """120 concurrent calls through ``RateLimit(20, 1.0)``: no 429, no 1 s window at the server over 20."""
    async with BooksClient(
        sandbox.api_key, base_url=sandbox.base_url, rate_limit=RateLimit(20, 1.0)
    ) as books:
        known = await books.invoices.create(invoice(customer(sandbox)))
        calls = [books.invoices.list() if i % 2 else books.invoices.get(known.id) for i in range(120)]
        results = await asyncio.gather(*calls)
    assert len(results) == 120
    assert books.rate_limited == 0
    mine = [(t, s) for t, org, _, _, s in sandbox.request_log if org == sandbox.org_id]
    assert len(mine) == 121
    assert [s for _, s in mine].count(429) == 0
    assert max_in_any_window([t for t, _ in mine], 1.0, closed=False) <= 20


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.sandbox(faults="drop:1.0", faults_seed=1)
async def test_dropped_create_is_outcome_unknown_yet_stored(sandbox: Sandbox, books: BooksClient) -> None:
    """A POST whose answer is lost raises OutcomeUnknownError, is not resent, and the invoice was created."""
    with pytest.raises(OutcomeUnknownError) as err:
        await books.invoices.create(invoice(customer(sandbox), invoice_number="DROP-1"))
    assert err.value.method == "POST"
    assert statuses(sandbox) == [201]  # one attempt, processed; never retried
    assert [d["invoice_number"] for d in sandbox.store.documents("invoices", sandbox.org_id)] == ["DROP-1"]
    sandbox.set_faults(None)
    found = await books.invoices.find_by_number("DROP-1")
    assert found is not None
    assert found.status is InvoiceStatus.draft


# Seed 1's first draw is under 0.5 and its second over it: the first attempt gets a 503, the retry succeeds.
@pytest.mark.sandbox(faults="503:0.5", faults_seed=1)
async def test_get_survives_injected_503s_through_retries(sandbox: Sandbox, books: BooksClient) -> None:
    """A GET answered 503 is retried with backoff and succeeds."""
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert statuses(sandbox) == [503, 200]
    assert books.requests_sent == 2


@pytest.mark.sandbox(faults="slow:1:0.3")
async def test_slow_fault_adds_latency_but_succeeds(sandbox: Sandbox, books: BooksClient) -> None:
    """Every request is delayed: a call with a 50 ms budget times out; the default timeout succeeds."""
    with pytest.raises(APITimeoutError):
        await books.validate.context(timeout=0.05)
    assert (await books.validate.context()).org_id == sandbox.org_id
    assert statuses(sandbox)[-1] == 200


# ------------------------------------------------------------------------------------------ persistence


async def test_data_file_keeps_documents_across_restarts(tmp_path: Path) -> None:
    """With ``data=FILE`` an invoice, its payment and the keys survive stopping and serving again."""
    path = tmp_path / "books.sqlite"
    async with (
        serve(data=path) as sb,
        BooksClient(sb.api_key, base_url=sb.base_url, rate_limit=None) as books,
    ):
        made = await books.invoices.create(invoice(customer(sb), invoice_number="KEEP-1"))
        await books.invoices.update(made.id, InvoiceUpdate(status=InvoiceStatus.sent))
        await books.invoices.record_payment(
            made.id, PaymentCreate(amount=D("10.10"), payment_method=PaymentMethod.cash)
        )
        key = sb.api_key

    async with serve(data=path) as sb, BooksClient(key, base_url=sb.base_url, rate_limit=None) as books:
        assert sb.api_key == key
        got = await books.invoices.get(made.id)
        assert (got.invoice_number, got.status, got.amount_paid) == (
            "KEEP-1",
            InvoiceStatus.partially_paid,
            D("10.10"),
        )
        assert got.balance_due == D("2349.90")
        with pytest.raises(ConflictError):
            await books.invoices.create(invoice(customer(sb), invoice_number="KEEP-1"))
        numbers = [i.invoice_number async for i in books.invoices.iter()]
        assert numbers == ["KEEP-1"]


async def test_without_data_file_nothing_survives() -> None:
    """The default in-memory store starts fresh each time (the contrast to ``data=FILE``)."""
    for _ in itertools.repeat(None, 2):
        async with serve() as sb, BooksClient(sb.api_key, base_url=sb.base_url, rate_limit=None) as books:
            assert (await books.invoices.list()).pagination.total == 0
            await books.invoices.create(invoice(customer(sb), invoice_number="ONCE-1"))

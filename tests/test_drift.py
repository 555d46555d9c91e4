"""The client against an off-spec API (the sandbox behind tests/drift_server.py), over real sockets.

Reads return data by default, whatever drift the live API plausibly has; strict mode refuses each drift with
its path; a write whose answer is off-spec never reads as a failure; paging that does not behave as guessed
neither loops nor crashes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from books_async import BooksClient, ResponseDecodeError, WriteAcceptedError, extra
from books_async.models import (
    InvoiceStatus,
    PaymentCreate,
    PaymentMethod,
    QuoteCreate,
    SendRequest,
)
from books_async.sandbox import Sandbox
from tests.drift_server import DriftProxy
from tests.factories import DAY, invoice, line


@pytest.fixture(autouse=True)
def _fresh_notes() -> None:
    from books_async import _hooks

    _hooks.noted.clear()  # warnings are once per process: each test starts as a fresh process would


@pytest_asyncio.fixture
async def b2c(sandbox: Sandbox) -> str:
    """A B2C customer's id, and a few invoices and a quote for it, made straight on the sandbox."""
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url, rate_limit=None) as direct:
        customer = next(c for c in (await direct.customers.list()).data if c.gstin is None)
        made = await direct.invoices.create(
            [invoice(customer.id, invoice_number=f"SEED-{i}") for i in range(3)]
        )
        await direct.invoices.send(made[0].id, SendRequest(to=["a@example.com"]))
        await direct.invoices.record_payment(
            made[0].id, PaymentCreate(amount=Decimal("10.00"), payment_method=PaymentMethod.upi)
        )
        await direct.quotes.create(QuoteCreate(customer_id=customer.id, quote_date=DAY, line_items=[line()]))
        return customer.id


@pytest_asyncio.fixture
async def client(sandbox: Sandbox, drift_proxy: DriftProxy, b2c: str) -> AsyncIterator[BooksClient]:
    async with BooksClient(sandbox.api_key, base_url=drift_proxy.base_url, rate_limit=None) as books:
        yield books


@pytest_asyncio.fixture
async def strict(sandbox: Sandbox, drift_proxy: DriftProxy, b2c: str) -> AsyncIterator[BooksClient]:
    async with BooksClient(
        sandbox.api_key, base_url=drift_proxy.base_url, rate_limit=None, strict_responses=True
    ) as books:
        yield books


async def test_every_ordinary_read_returns_data_under_every_drift(
    client: BooksClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The ten reads a new user tries first all return data; off-spec values read as documented."""
    with caplog.at_level(logging.WARNING, logger="books_async"):
        orgs = await client.orgs.list()
        customers = await client.customers.list()
        products = await client.products.list()
        services = await client.services.list()
        quotes = await client.quotes.list()
        invoices = await client.invoices.list()
        every = [invoice async for invoice in client.invoices.iter()]
        one = await client.invoices.get(invoices.data[0].id)
        await client.customers.get(customers.data[0].id)
        await client.mobile.dashboard()
    assert all(page.data for page in (orgs, products, services, quotes, invoices))
    assert invoices.pagination is None  # no_pagination
    assert {c.type for c in customers.data} >= {"SEZ"}
    sez = next(c.type for c in customers.data if c.type == "SEZ")
    assert sez is not None
    assert not sez.is_known()
    assert one.status == "unpaid" or one.status in set(InvoiceStatus)
    assert (one.round_off, one.updated_at) == (None, None)  # missing_computed
    assert one.invoice_date == DAY  # a date, from a date-time
    assert isinstance(one.total, Decimal)  # from a numeric string
    assert len(one.customer_id or "") == 24  # from a populated reference
    assert extra(one)["x_new_field"] == {"a": 1}  # unknown keys kept
    assert {inv.id for inv in every} == {inv.id for inv in invoices.data} | {inv.id for inv in every}
    assert len(every) == len({inv.id for inv in every})
    warned = [r.getMessage() for r in caplog.records]
    assert any("Invoice.round_off" in m for m in warned)
    assert len([m for m in warned if "Invoice.round_off" in m]) == 1  # once per process, for many rows


async def test_strict_mode_refuses_each_drift_with_its_path(strict: BooksClient) -> None:
    with pytest.raises(ResponseDecodeError) as err:
        await strict.invoices.list()
    assert "$.data[0]." in str(err.value) or "$.pagination" in str(err.value)
    with pytest.raises(ResponseDecodeError, match=r"\$\.data\[\d+\]\.updatedAt"):
        await strict.services.list()


@pytest.mark.drift("unknown_keys")
async def test_strict_mode_allows_unknown_keys_and_keeps_them(strict: BooksClient) -> None:
    page = await strict.invoices.list()
    assert page.data
    assert extra(page.data[0]) == {"x_new_field": {"a": 1}, "__v": 0}
    assert page.pagination is not None
    assert extra(page.pagination)["__v"] == 0


async def test_writes_read_back_tolerantly_after_create_send_and_pay(client: BooksClient, b2c: str) -> None:
    """After a write the answer is off-spec too: it reads, so no one is invited to resend."""
    created = await client.invoices.create(invoice(b2c, invoice_number="DRIFT-1"))
    assert created.invoice_number == "DRIFT-1"
    assert created.round_off is None
    receipt = await client.invoices.send(created.id, SendRequest(to=["a@example.com"]))
    assert receipt.document_status == "sent"
    paid = await client.invoices.record_payment(
        created.id, PaymentCreate(amount=Decimal("100.00"), payment_method=PaymentMethod.upi)
    )
    assert paid.payment is not None
    assert paid.payment.payment_method == "neft"  # an unknown value, kept
    assert paid.invoice is not None
    assert paid.invoice.amount_paid == Decimal("100.00")


async def test_an_unreadable_answer_to_a_write_says_the_write_happened(
    strict: BooksClient, sandbox: Sandbox, b2c: str
) -> None:
    """Even strictly, a 2xx to a create is never reported as a plain failure: WriteAcceptedError."""
    with pytest.raises(WriteAcceptedError) as err:
        await strict.invoices.create(invoice(b2c, invoice_number="DRIFT-2"))
    assert err.value.status == 201
    assert b"DRIFT-2" in (err.value.body or b"")
    assert "do not send it again" in str(err.value)
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url, rate_limit=None) as direct:
        assert await direct.invoices.find_by_number("DRIFT-2") is not None  # it was created, once


@pytest.mark.drift("stuck_pagination")
async def test_iter_stops_when_pages_do_not_advance(client: BooksClient, drift_proxy: DriftProxy) -> None:
    """A server that ignores `page` (always page 1 of 99) ends iter() after one repeat, not 99 requests."""
    rows = [invoice.id async for invoice in client.invoices.iter()]
    assert len(rows) == len(set(rows)) > 0
    assert len(drift_proxy.requests) == 2


@pytest.mark.drift("no_pagination")
async def test_iter_without_pagination_follows_full_pages_until_a_short_one(
    client: BooksClient, sandbox: Sandbox, b2c: str
) -> None:
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url, rate_limit=None) as direct:
        await direct.invoices.create([invoice(b2c, invoice_number=f"NP-{i}") for i in range(130)])
        expected = {inv.id async for inv in direct.invoices.iter()}
    assert {inv.id async for inv in client.invoices.iter()} == expected

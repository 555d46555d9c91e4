"""``limiter=aiolimiter.AsyncLimiter(...)``: adapted to the Limiter protocol, with a pause for 429s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiolimiter import AsyncLimiter

from books_async import BooksClient, ConfigurationError, RateLimit
from books_async.limiters import AiolimiterAdapter
from books_async.sandbox import Sandbox
from tests.scripted_server import INVOICE_ID, ScriptedServer, respond, scripted_server
from tests.test_transport import client_for

INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


async def test_aiolimiter_429_pauses_and_retries_instead_of_crashing(server: ScriptedServer) -> None:
    """A 429 through an AsyncLimiter starts the adapter's pause and the call is retried, no AttributeError."""
    server.script("GET", INVOICE_PATH, respond(429, {"error": "Too Many Requests", "retryAfter": 0.2}))
    bucket = AsyncLimiter(10, 1.0)
    async with client_for(server, limiter=bucket) as books:
        invoice = await books.invoices.get(INVOICE_ID)
        adapter = books.limiter
    assert invoice.id == INVOICE_ID
    assert isinstance(adapter, AiolimiterAdapter)
    assert adapter.bucket is bucket
    assert adapter.pauses == 1
    assert adapter.admitted == 2
    assert len(server.seen) == 2


async def test_aiolimiter_shared_bucket_shares_one_adapter(server: ScriptedServer) -> None:
    """Two clients given one AsyncLimiter share the adapter, so a 429 one meets pauses the other."""
    bucket = AsyncLimiter(10, 1.0)
    async with client_for(server, limiter=bucket) as first, client_for(server, limiter=bucket) as second:
        assert first.limiter is second.limiter
        assert first.limiter is not client_for(server, limiter=AsyncLimiter(10, 1.0)).limiter


async def test_aiolimiter_and_rate_limit_together_rejected(server: ScriptedServer) -> None:
    """An AsyncLimiter brings its own quota: rate_limit= as well is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="rate_limit= or limiter="):
        BooksClient("k", base_url=server.base_url, limiter=AsyncLimiter(10), rate_limit=RateLimit(5, 1.0))


async def test_limiter_without_protocol_rejected_before_io(server: ScriptedServer) -> None:
    """A limiter= that is neither a Limiter nor an AsyncLimiter is refused at construction, named."""
    with pytest.raises(ConfigurationError, match=r"limiter= must be .* got Semaphore"):
        BooksClient("k", base_url=server.base_url, limiter=asyncio.Semaphore(3))  # type: ignore[arg-type]
    assert server.seen == []


@pytest.mark.sandbox(rate_limit=(5, 1.0))
async def test_aiolimiter_burst_every_call_succeeds_each_429_pauses(sandbox: Sandbox) -> None:
    """A leaky bucket may exceed the server's window; every 429 it earns pauses it and the calls succeed."""
    bucket = AsyncLimiter(5, 1.0)
    books = BooksClient(sandbox.api_key, base_url=sandbox.base_url, limiter=bucket, max_retries=8)
    async with books:
        results = await asyncio.gather(*(books.validate.context() for _ in range(12)))
        adapter = books.limiter
        assert isinstance(adapter, AiolimiterAdapter)
        refused = sum(1 for *_, status in sandbox.request_log if status == 429)
        assert len(results) == 12
        assert books.rate_limited == refused
        assert adapter.admitted == books.requests_sent == 12 + refused
        # A bucket of 5 a second admits a 6th request 0.2 s after a burst of 5: the server refuses it.
        assert refused >= 1
        assert 1 <= adapter.pauses <= refused

"""``BooksClient.with_options`` and per-call ``max_retries``, against a scripted real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from books_async import APITimeoutError, ClientClosedError, ConfigurationError, RateLimitError, ServerError
from tests.scripted_server import INVOICE_ID, ScriptedServer, respond, scripted_server, stall
from tests.test_transport import client_for

INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"


class CountingLimiter:
    """A limiter that admits at once and counts what it was asked, to see who shares it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.penalties: list[float] = []

    async def acquire(self) -> None:
        self.acquired += 1

    def penalise(self, retry_after: float) -> None:
        self.penalties.append(retry_after)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


async def test_with_options_headers_and_retries_on_wire_parent_unchanged(server: ScriptedServer) -> None:
    """The view's extra headers and max_retries apply to its calls only; the parent keeps its own."""
    server.script("GET", INVOICE_PATH, *[respond(503, {"error": "Unavailable"})] * 6)
    async with client_for(server, max_retries=3) as books:
        view = books.with_options(max_retries=1, extra_headers={"X-Tenant": "north"})
        with pytest.raises(ServerError):
            await view.invoices.get(INVOICE_ID)
        by_view = server.seen_at("GET", INVOICE_PATH)
        assert len(by_view) == 2
        assert all(seen.headers.get("X-Tenant") == "north" for seen in by_view)
        with pytest.raises(ServerError):
            await books.invoices.get(INVOICE_ID)
    by_parent = server.seen_at("GET", INVOICE_PATH)[2:]
    assert len(by_parent) == 4
    assert all("X-Tenant" not in seen.headers for seen in by_parent)


async def test_with_options_shares_limiter_and_counters_with_parent(server: ScriptedServer) -> None:
    """A view waits on the parent's limiter, its 429s pause it, and its attempts count on the client."""
    limiter = CountingLimiter()
    server.script("GET", INVOICE_PATH, respond(429, {"error": "Too Many Requests", "retryAfter": 2}))
    async with client_for(server, limiter=limiter) as books:
        view = books.with_options(timeout=30.0)
        assert view.limiter is books.limiter
        await view.invoices.get(INVOICE_ID)
        await books.invoices.get(INVOICE_ID)
        assert books.requests_sent == 3
        assert view.rate_limited == books.rate_limited == 1
    assert limiter.acquired == 3
    assert limiter.penalties == [2.0]


async def test_with_options_timeout_fires_on_view_only(server: ScriptedServer) -> None:
    """A short timeout on the view ends its stalled call; the parent's call waits the stall out."""
    server.script("GET", INVOICE_PATH, stall(3.0), stall(0.5))
    async with client_for(server) as books:
        with pytest.raises(APITimeoutError):
            await books.with_options(timeout=0.2, max_retries=0).invoices.get(INVOICE_ID)
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID


async def test_with_options_aclose_leaves_parent_session_open(server: ScriptedServer) -> None:
    """Closing a view refuses its later calls but leaves the parent, and the session they share, open."""
    async with client_for(server) as books:
        view = books.with_options(max_retries=0)
        await view.invoices.get(INVOICE_ID)
        session = books._transport._sessions._session
        await view.aclose()
        assert view.closed
        assert not books.closed
        with pytest.raises(ClientClosedError, match="view"):
            await view.invoices.get(INVOICE_ID)
        await books.invoices.get(INVOICE_ID)
        assert books._transport._sessions._session is session
        assert session is not None
        assert not session.closed
        other = books.with_options(max_retries=0)
    with pytest.raises(ClientClosedError):
        await other.invoices.get(INVOICE_ID)
    assert len(server.seen) == 2


async def test_per_call_max_retries_overrides_client_and_view(server: ScriptedServer) -> None:
    """max_retries= on one call (typed resource or request()) replaces the client's and the view's."""
    server.script("GET", INVOICE_PATH, *[respond(503)] * 3)
    async with client_for(server, max_retries=3) as books:
        with pytest.raises(ServerError):
            await books.invoices.get(INVOICE_ID, max_retries=0)
        assert len(server.seen) == 1
        with pytest.raises(ServerError):
            await books.with_options(max_retries=5).request("GET", INVOICE_PATH, max_retries=1)
        assert len(server.seen) == 3


async def test_per_call_max_retries_zero_raises_429_at_once(server: ScriptedServer) -> None:
    """With max_retries=0 a 429 is raised to the caller, not waited out."""
    server.script("GET", "/books/invoices", respond(429, {"error": "Too Many Requests", "retryAfter": 1}))
    async with client_for(server) as books:
        with pytest.raises(RateLimitError):
            await books.invoices.list(max_retries=0)
        assert books.waits == []
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 2.5}, "max_retries"),
        ({"max_retry_wait": -3}, "max_retry_wait"),
        ({"timeout": "soon"}, "timeout"),
        ({"extra_headers": {"X-API-Key": "other"}}, "X-API-Key"),
        ({"extra_headers": {"X-Tenant": "a\r\nb"}}, "X-Tenant"),
        ({"max_retrys": 1}, "no option 'max_retrys'"),
    ],
)
async def test_with_options_rejects_bad_settings_before_io(
    server: ScriptedServer, options: dict[str, object], named: str
) -> None:
    """A bad with_options() setting is a ConfigurationError naming it, raised at once; nothing is sent."""
    async with client_for(server) as books:
        with pytest.raises(ConfigurationError, match=named):
            books.with_options(**options)  # type: ignore[arg-type]
    assert server.seen == []


async def test_per_call_max_retries_rejects_non_integer_before_io(server: ScriptedServer) -> None:
    """A per-call max_retries that is not a non-negative integer is refused before any request."""
    async with client_for(server) as books:
        with pytest.raises(ConfigurationError, match="max_retries"):
            await books.invoices.get(INVOICE_ID, max_retries="3")  # type: ignore[arg-type]
    assert server.seen == []

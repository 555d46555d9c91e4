"""The transport against a scripted real server: error mapping, retries, redirects, secrets, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from books_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BooksClient,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ServerError,
    Timeout,
    ValidationError,
)
from books_async.models import InvoiceCreate, ItemType, LineItemCreate
from tests.scripted_server import INVOICE_ID, ScriptedServer, drop, respond, scripted_server, stall

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key the tests hunt for
INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


def client_for(server: ScriptedServer, **kwargs: object) -> BooksClient:
    options: dict[str, object] = {"rate_limit": None, "max_retries": 3, "timeout": Timeout(total=10.0)}
    options.update(kwargs)
    return BooksClient(SECRET, base_url=server.base_url, **options)  # type: ignore[arg-type]


def an_invoice_create(lines: int = 1) -> InvoiceCreate:
    line = LineItemCreate(
        item_type=ItemType.product,
        description="Steel bolts, zinc plated, M8 x 40 mm, box of one hundred pieces",
        hsn_sac="7318",
        quantity=Decimal(10),
        unit="NOS",
        rate=Decimal("150.00"),
        gst_rate=Decimal(18),
    )
    return InvoiceCreate(
        customer_id="65a1b2c3d4e5f60718293a4c",
        invoice_date=__import__("datetime").date(2026, 11, 1),
        line_items=[line] * lines,
    )


async def test_get_structures_invoice_and_ignores_unknown_keys(server: ScriptedServer) -> None:
    """A 2xx body becomes the typed model: money exact as Decimal, extra server keys ignored."""
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert invoice.total == Decimal("1770.00")
    assert invoice.line_items[0].cgst_amount == Decimal("135.00")
    assert server.seen[0].headers["x-api-key"] == SECRET


async def test_bearer_scheme_sends_authorization_header(server: ScriptedServer) -> None:
    """auth_scheme="bearer" sends the key as Authorization: Bearer and no x-api-key."""
    async with client_for(server, auth_scheme="bearer") as books:
        await books.invoices.get(INVOICE_ID)
    headers = server.seen[0].headers
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert "x-api-key" not in {k.lower() for k in headers}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (500, ServerError),
        (418, APIStatusError),
    ],
)
async def test_status_maps_to_error_class(
    server: ScriptedServer, status: int, error: type[APIStatusError]
) -> None:
    """Each error status raises its own class carrying status, parsed body, method and URL."""
    body = {"error": "some_kind", "message": "the server's words"}
    server.script("GET", INVOICE_PATH, respond(status, body))
    async with client_for(server) as books:
        with pytest.raises(error) as caught:
            await books.invoices.get(INVOICE_ID)
    exc = caught.value
    assert type(exc) is error
    assert (exc.status, exc.body, exc.method) == (status, body, "GET")
    assert exc.url.endswith(INVOICE_PATH)
    assert "the server's words" in str(exc)
    assert len(server.seen) == 1  # none of these is retried


async def test_validation_error_exposes_details(server: ScriptedServer) -> None:
    """A 400 exposes .details: every failing field with its path, message and code."""
    details = [
        {"path": ["line_items", 0, "gst_rate"], "message": "Invalid GST rate", "code": "custom"},
        {"path": ["customer_id"], "message": "Required", "code": "invalid_type"},
    ]
    server.script(
        "POST",
        "/books/invoices",
        respond(400, {"error": "validation_error", "message": "2 problems", "details": details}),
    )
    async with client_for(server) as books:
        with pytest.raises(ValidationError) as caught:
            await books.invoices.create(an_invoice_create())
    got = caught.value.details
    assert [(d.path, d.code) for d in got] == [
        (("line_items", 0, "gst_rate"), "custom"),
        (("customer_id",), "invalid_type"),
    ]
    assert "line_items.0.gst_rate" in str(caught.value)


async def test_429_is_retried_after_retry_after_and_succeeds(server: ScriptedServer) -> None:
    """A 429 is waited out (retryAfter from the body) and the same request then succeeds."""
    server.script(
        "GET", INVOICE_PATH, respond(429, {"error": "rate_limited", "message": "slow down", "retryAfter": 1})
    )
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
        assert books.rate_limited == 1
    assert invoice.id == INVOICE_ID
    first, second = server.seen_at("GET", INVOICE_PATH)
    assert second.at - first.at >= 1.0  # what the server saw, not a client-side timing


async def test_429_pauses_every_task_sharing_the_limiter(server: ScriptedServer) -> None:
    """After one task meets a 429, no task sharing its limiter sends anything until retryAfter has passed."""
    server.script(
        "GET", INVOICE_PATH, respond(429, {"error": "rate_limited", "message": "wait", "retryAfter": 1})
    )
    async with client_for(server, rate_limit=RateLimit(1000, 1.0)) as books:
        await books.invoices.get(INVOICE_ID)  # meets the 429, pauses the limiter, then succeeds
        penalty_at = server.seen[0].at
        server.seen.clear()
        results = await asyncio.gather(*(books.invoices.get(INVOICE_ID) for _ in range(5)))
    assert all(r.id == INVOICE_ID for r in results)
    assert all(s.at >= penalty_at + 1.0 for s in server.seen)


async def test_429_longer_than_cap_fails_fast(server: ScriptedServer) -> None:
    """A retryAfter above max_retry_wait raises RateLimitError at once instead of sleeping."""
    server.script(
        "GET", INVOICE_PATH, respond(429, {"error": "rate_limited", "message": "wait", "retryAfter": 3600})
    )
    async with client_for(server, max_retry_wait=30.0) as books:
        with pytest.raises(RateLimitError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert caught.value.retry_after == 3600
    assert len(server.seen) == 1


async def test_retry_after_header_is_used_without_body_field(server: ScriptedServer) -> None:
    """A Retry-After header (seconds) is honoured when the body has no retryAfter."""
    server.script(
        "GET", INVOICE_PATH, respond(429, {"error": "x", "message": "y"}, headers={"Retry-After": "1"})
    )
    async with client_for(server) as books:
        await books.invoices.get(INVOICE_ID)
    first, second = server.seen_at("GET", INVOICE_PATH)
    assert second.at - first.at >= 1.0


async def test_503_is_retried_for_get(server: ScriptedServer) -> None:
    """GET is retried on 503 with backoff and succeeds."""
    server.script(
        "GET", INVOICE_PATH, respond(503, {"error": "unavailable", "message": "busy"}), respond(502)
    )
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(server.seen) == 3


async def test_503_is_not_retried_for_post(server: ScriptedServer) -> None:
    """A POST that got a 503 is not resent: only idempotent methods are retried after a 5xx."""
    server.script("POST", "/books/invoices", respond(503, {"error": "unavailable", "message": "busy"}))
    async with client_for(server) as books:
        with pytest.raises(ServerError):
            await books.invoices.create(an_invoice_create())
    assert len(server.seen) == 1


async def test_post_dropped_after_processing_raises_outcome_unknown(server: ScriptedServer) -> None:
    """A POST whose connection drops after the server read it is not retried: OutcomeUnknownError."""
    server.script("POST", "/books/invoices", drop())
    async with client_for(server) as books:
        with pytest.raises(OutcomeUnknownError) as caught:
            await books.invoices.create(an_invoice_create())
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert len(server.seen_at("POST", "/books/invoices")) == 1


async def test_get_dropped_is_retried_and_succeeds(server: ScriptedServer) -> None:
    """A GET whose connection drops is retried and succeeds."""
    server.script("GET", INVOICE_PATH, drop())
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(server.seen_at("GET", INVOICE_PATH)) == 2


async def test_delete_retried_after_drop_then_404_reports_success(server: ScriptedServer) -> None:
    """A DELETE whose first answer was lost, retried into a 404, counts as done."""
    server.script("DELETE", INVOICE_PATH, drop(), respond(404, {"error": "not_found", "message": "gone"}))
    async with client_for(server) as books:
        assert await books.invoices.delete(INVOICE_ID) is None
    assert len(server.seen_at("DELETE", INVOICE_PATH)) == 2


async def test_plain_404_on_delete_still_raises(server: ScriptedServer) -> None:
    """Without an earlier lost answer, a DELETE's 404 is a real NotFoundError."""
    server.script("DELETE", INVOICE_PATH, respond(404, {"error": "not_found", "message": "gone"}))
    async with client_for(server) as books:
        with pytest.raises(NotFoundError):
            await books.invoices.delete(INVOICE_ID)


async def test_get_timeout_raises_api_timeout_after_retries(server: ScriptedServer) -> None:
    """A server slower than the read timeout gives APITimeoutError once the retries are spent."""
    server.default = stall(2.0)
    async with client_for(server, timeout=Timeout(connect=1.0, read=0.2, total=30.0), max_retries=1) as books:
        with pytest.raises(APITimeoutError):
            await books.invoices.get(INVOICE_ID)
    assert len(server.seen) == 2


async def test_post_timeout_raises_outcome_unknown(server: ScriptedServer) -> None:
    """A POST that timed out waiting for its answer may have been processed: OutcomeUnknownError."""
    server.default = stall(2.0)
    async with client_for(server, timeout=Timeout(connect=1.0, read=0.2, total=30.0)) as books:
        with pytest.raises(OutcomeUnknownError):
            await books.invoices.create(an_invoice_create())
    assert len(server.seen) == 1


async def test_connect_failure_is_connection_error_with_nothing_sent() -> None:
    """Nothing listening: APIConnectionError with request_sent False (even a POST was retried)."""
    async with scripted_server() as gone:
        url = gone.base_url
    async with BooksClient(SECRET, base_url=url, rate_limit=None, max_retries=1) as books:
        with pytest.raises(APIConnectionError) as caught:
            await books.invoices.create(an_invoice_create())
        assert books.requests_sent == 2  # the POST was retried: it provably never left
    assert caught.value.request_sent is False


async def test_redirect_is_not_followed_and_key_never_reaches_other_host() -> None:
    """A redirect to another origin raises, and the other server never sees a request (nor the key)."""
    async with scripted_server() as api, scripted_server() as elsewhere:
        api.default = respond(302, headers={"Location": elsewhere.base_url + INVOICE_PATH})
        for scheme in ("x-api-key", "bearer"):
            async with client_for(api, auth_scheme=scheme) as books:
                with pytest.raises(APIStatusError) as caught:
                    await books.invoices.get(INVOICE_ID)
            assert caught.value.status == 302
            assert "not followed" in str(caught.value)
        assert elsewhere.seen == []


async def test_body_over_5mb_is_refused_before_sending(server: ScriptedServer) -> None:
    """A serialised body over 5 MB raises PayloadTooLargeError naming size and limit; nothing is sent."""
    many = [an_invoice_create(lines=500)] * 100
    async with client_for(server) as books:
        with pytest.raises(PayloadTooLargeError) as caught:
            await books.invoices.create(many)
    assert "5,242,880" in str(caught.value)
    assert server.seen == []


def test_missing_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key anywhere: ConfigurationError at construction, naming BOOKS_API_KEY."""
    monkeypatch.delenv("BOOKS_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="BOOKS_API_KEY"):
        BooksClient()


def test_key_and_base_url_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOOKS_API_KEY and BOOKS_BASE_URL are read when no arguments are given; no loop is needed."""
    monkeypatch.setenv("BOOKS_API_KEY", SECRET)
    monkeypatch.setenv("BOOKS_BASE_URL", "http://127.0.0.1:9/api/v1/")
    client = BooksClient()
    assert client.base_url == "http://127.0.0.1:9/api/v1"


@pytest.mark.parametrize(
    "url", ["http://techliftdigital.in/api/v1", "http://10.0.0.5/api", "ftp://x/y", "nope"]
)
def test_non_https_base_url_is_refused(url: str) -> None:
    """Plain HTTP to anything but loopback is refused, so the key never travels unencrypted."""
    with pytest.raises(ConfigurationError):
        BooksClient(SECRET, base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/api/v1", "http://[::1]:80/api/v1", "http://localhost/api/v1"]
)
def test_loopback_http_is_allowed(url: str) -> None:
    """http:// to loopback addresses is fine (the sandbox)."""
    assert BooksClient(SECRET, base_url=url).base_url == url


async def test_closed_client_raises_clear_error(server: ScriptedServer) -> None:
    """After aclose(), any call raises ClientClosedError; aclose() twice is fine."""
    books = client_for(server)
    await books.invoices.get(INVOICE_ID)
    await books.aclose()
    await books.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await books.invoices.get(INVOICE_ID)


async def test_borrowed_session_is_not_closed(server: ScriptedServer) -> None:
    """A session passed in is used and left open by aclose()."""
    async with aiohttp.ClientSession() as session:
        async with client_for(server, session=session) as books:
            await books.invoices.get(INVOICE_ID)
        assert not session.closed
    assert len(server.seen) == 1


async def test_key_never_appears_in_logs_reprs_or_errors(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is in no log record, repr or exception text, across successes, retries and failures."""
    server.script(
        "GET",
        INVOICE_PATH,
        respond(429, {"error": "rate_limited", "message": "x", "retryAfter": 0}),
        respond(503),
        drop(),
        respond(401, {"error": "unauthorized", "message": "bad key"}),
    )
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="books_async"):
        async with client_for(server, rate_limit=RateLimit(100, 60.0)) as books:
            texts += [repr(books), repr(books.invoices), repr(books.limiter)]
            with pytest.raises(AuthenticationError) as caught:
                await books.invoices.get(INVOICE_ID)
            texts += [str(caught.value), repr(caught.value), repr(caught.value.body)]
            server.script("POST", "/books/invoices", drop())
            with pytest.raises(OutcomeUnknownError) as unknown:
                await books.invoices.create(an_invoice_create())
            texts += [str(unknown.value), repr(unknown.value), str(unknown.value.__cause__)]
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) >= 4  # the retries were logged
    assert not [t for t in texts if SECRET in t]


def test_client_built_without_a_running_loop_works_inside_one() -> None:
    """A client built at module level (no loop running) makes its session lazily, inside the loop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    books = BooksClient(SECRET, base_url=f"http://127.0.0.1:{port}/api/v1", rate_limit=RateLimit(50, 1.0))

    async def main() -> str:
        async with scripted_server(port), books:
            return (await books.invoices.get(INVOICE_ID)).id

    assert asyncio.run(main()) == INVOICE_ID
    assert books.closed


async def test_stream_reports_the_declared_content_type_without_parameters(server: ScriptedServer) -> None:
    """A streamed body says which media type the server declared (the doctor checks PDFs with it)."""

    async def pdf(request: web.Request, raw: bytes) -> web.StreamResponse:
        return web.Response(body=b"%PDF-1.7\n", headers={"Content-Type": "application/pdf; name=x.pdf"})

    server.script("GET", INVOICE_PATH + "/pdf", pdf)
    async with client_for(server) as books, books._transport.stream("GET", INVOICE_PATH + "/pdf") as body:
        assert body.content_type == "application/pdf"
        assert b"".join([chunk async for chunk in body.chunks()]) == b"%PDF-1.7\n"

"""The transport against a scripted real server: error mapping, retries, redirects, secrets, lifecycle."""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import socket
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import date
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
    BooksError,
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
    SlidingWindowLimiter,
    Timeout,
    ValidationError,
    WriteAcceptedError,
)
from books_async._config import as_timeout
from books_async._retry import RetryPolicy
from books_async.models import InvoiceCreate, ValidateRequest, ValidationKind
from books_async.sandbox import Sandbox, serve
from tests.factories import bolts_invoice
from tests.hostile_server import Gateway, gateway, stall_body, stall_head
from tests.scripted_server import (
    INVOICE_ID,
    ScriptedServer,
    drop,
    respond,
    respond_bytes,
    scripted_server,
    stall,
)
from tests.virtual_time import RecordingClient

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key the tests hunt for
INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"


def client_for(server: ScriptedServer, **kwargs: object) -> RecordingClient:
    options: dict[str, object] = {"max_retries": 3, "timeout": Timeout(total=10.0)}
    if "limiter" not in kwargs:
        options["rate_limit"] = None
    options.update(kwargs)
    return RecordingClient(SECRET, base_url=server.base_url, **options)


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
            await books.invoices.create(bolts_invoice())
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
    assert len(server.seen_at("GET", INVOICE_PATH)) == 2
    (wait,) = books.waits
    assert 1.0 <= wait <= 1.1  # retryAfter plus jitter that is added, never subtracted


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
    assert len(server.seen_at("GET", INVOICE_PATH)) == 2
    (wait,) = books.waits
    assert 1.0 <= wait <= 1.1


async def test_503_is_retried_for_get(server: ScriptedServer) -> None:
    """GET is retried on 503 with backoff and succeeds."""
    server.script(
        "GET", INVOICE_PATH, respond(503, {"error": "unavailable", "message": "busy"}), respond(502)
    )
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(server.seen) == 3
    # Full jitter under a doubling ceiling: the first wait is at most backoff_base, the second twice that.
    policy = RetryPolicy()  # the client's defaults
    assert len(books.waits) == 2
    assert 0.0 <= books.waits[0] <= policy.backoff_base
    assert 0.0 <= books.waits[1] <= 2 * policy.backoff_base


async def test_503_is_not_retried_for_post(server: ScriptedServer) -> None:
    """A POST that got a 503 is not resent: only idempotent methods are retried after a 5xx."""
    server.script("POST", "/books/invoices", respond(503, {"error": "unavailable", "message": "busy"}))
    async with client_for(server) as books:
        with pytest.raises(ServerError):
            await books.invoices.create(bolts_invoice())
    assert len(server.seen) == 1
    assert books.waits == []


async def test_post_dropped_after_processing_raises_outcome_unknown(server: ScriptedServer) -> None:
    """A POST whose connection drops after the server read it is not retried: OutcomeUnknownError."""
    server.script("POST", "/books/invoices", drop())
    async with client_for(server) as books:
        with pytest.raises(OutcomeUnknownError) as caught:
            await books.invoices.create(bolts_invoice())
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert len(server.seen_at("POST", "/books/invoices")) == 1


async def test_get_dropped_is_retried_and_succeeds(server: ScriptedServer) -> None:
    """A GET whose connection drops is retried and succeeds."""
    server.script("GET", INVOICE_PATH, drop())
    async with client_for(server) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(server.seen_at("GET", INVOICE_PATH)) == 2
    assert len(books.waits) == 1


async def test_delete_retried_after_drop_then_404_reports_success(server: ScriptedServer) -> None:
    """A DELETE whose first answer was lost, retried into a 404, counts as done."""
    server.script("DELETE", INVOICE_PATH, drop(), respond(404, {"error": "not_found", "message": "gone"}))
    async with client_for(server) as books:
        assert await books.invoices.delete(INVOICE_ID) is None
    assert len(server.seen_at("DELETE", INVOICE_PATH)) == 2
    assert len(books.waits) == 1


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
    assert len(books.waits) == 1  # one backoff between the two attempts, none after the last


async def test_post_timeout_raises_outcome_unknown(server: ScriptedServer) -> None:
    """A POST that timed out waiting for its answer may have been processed: OutcomeUnknownError."""
    server.default = stall(2.0)
    async with client_for(server, timeout=Timeout(connect=1.0, read=0.2, total=30.0)) as books:
        with pytest.raises(OutcomeUnknownError):
            await books.invoices.create(bolts_invoice())
    assert len(server.seen) == 1


async def test_connect_failure_is_connection_error_with_nothing_sent() -> None:
    """Nothing listening: APIConnectionError with request_sent False (even a POST was retried)."""
    async with scripted_server() as gone:
        url = gone.base_url
    async with BooksClient(SECRET, base_url=url, rate_limit=None, max_retries=1) as books:
        with pytest.raises(APIConnectionError) as caught:
            await books.invoices.create(bolts_invoice())
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
    many = [bolts_invoice(lines=500)] * 100
    async with client_for(server) as books:
        with pytest.raises(PayloadTooLargeError) as caught:
            await books.invoices.create(many)
    error = caught.value
    assert "5,242,880" in str(error)
    assert server.seen == []
    assert error.refused_locally is True
    assert error.limit == 5 * 1024 * 1024
    assert error.body_size is not None
    assert error.body_size > error.limit


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"Request Entity Too Large\n\nFUNCTION_PAYLOAD_TOO_LARGE\n\nbom1::abcde-1234\n", "text/plain"),
        (b'{"error": "payload_too_large", "message": "Request body exceeds 5MB"}', "application/json"),
    ],
    ids=["vercel-text", "api-json"],
)
async def test_413_from_the_server_says_how_big_the_refused_body_was(
    server: ScriptedServer, body: bytes, content_type: str
) -> None:
    """A server's 413, JSON or not, is PayloadTooLargeError with the size refused, marked as the server's."""
    server.script("POST", "/books/invoices", respond_bytes(body, content_type, status=413))
    async with client_for(server) as books:
        with pytest.raises(PayloadTooLargeError) as caught:
            await books.invoices.create([bolts_invoice(lines=50)] * 20)
    error = caught.value
    assert error.refused_locally is False
    assert error.limit is None
    assert error.body_size == len(server.seen[0].body)
    assert f"{error.body_size:,} bytes" in str(error)
    assert error.status == 413
    assert len(server.seen) == 1


def test_rate_limit_with_a_limiter_is_a_configuration_error() -> None:
    """A limiter= brings its own quota: a rate_limit= beside it (even None) is refused, not ignored."""
    limiter = SlidingWindowLimiter(RateLimit(10, 1.0))
    for rate_limit in (RateLimit(50, 1.0), None):
        with pytest.raises(ConfigurationError, match="not both"):
            BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", rate_limit=rate_limit, limiter=limiter)
    assert BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", limiter=limiter).limiter is limiter


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (2.0, Timeout(connect=2.0, read=2.0, total=2.0)),
        (20, Timeout(connect=5.0, read=20, total=20)),
        (Timeout(read=1.0), Timeout(read=1.0)),
    ],
)
def test_timeout_seconds_become_one_timeout(timeout: float | Timeout, expected: Timeout) -> None:
    """Seconds bound the whole call and each read, and cap the connect timeout; a Timeout is kept as is."""
    assert as_timeout(timeout) == expected


@pytest.mark.parametrize("timeout", [True, "30", None])
def test_client_refuses_a_timeout_that_is_not_seconds(timeout: object) -> None:
    """A bool, a string or None for the client's timeout is a ConfigurationError at construction."""
    with pytest.raises(ConfigurationError, match="timeout must be seconds or a Timeout"):
        BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", timeout=timeout)  # type: ignore[arg-type]


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
                await books.invoices.create(bolts_invoice())
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


# ---------------------------------------------------------------------------------- a POST answered 5xx


@pytest.fixture
async def sandbox_behind_gateway() -> AsyncIterator[tuple[Sandbox, Gateway]]:
    async with serve(rate_limit=None) as sb, gateway(sb.base_url) as gw:
        yield sb, gw


def invoice_numbers(sb: Sandbox) -> list[str]:
    return [str(record.doc["invoice_number"]) for record in sb.store.space(sb.org_id)["invoices"].values()]


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_post_answered_5xx_after_it_was_processed_is_outcome_unknown(
    sandbox_behind_gateway: tuple[Sandbox, Gateway], status: int
) -> None:
    """A gateway that forwarded the create, then answered 500/502/504: OutcomeUnknownError keeping the
    status and body, never resent, and the invoice exists."""
    sb, gw = sandbox_behind_gateway
    assert sb.seed is not None
    gw.fail("POST", "/books/invoices", status)
    draft = InvoiceCreate(
        customer_id=sb.seed.customer_b2b_intra,
        invoice_number=f"GW-{status}",
        invoice_date=date(2026, 11, 1),
        line_items=bolts_invoice().line_items,
    )
    async with BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books:
        with pytest.raises(OutcomeUnknownError) as caught:
            await books.invoices.create(draft)
    error = caught.value
    assert (error.status, error.method) == (status, "POST")
    assert error.body == {"error": "bad_gateway", "message": "upstream connection reset"}
    assert "look the object up" in str(error)
    assert gw.forwarded.count(("POST", "/books/invoices")) == 1
    assert f"GW-{status}" in invoice_numbers(sb)


async def test_read_only_post_answered_502_is_retried(
    sandbox_behind_gateway: tuple[Sandbox, Gateway],
) -> None:
    """POST /books/validate writes nothing: a 502 after it was forwarded is retried like a GET's."""
    sb, gw = sandbox_behind_gateway
    gw.fail("POST", "/books/validate", 502)
    request = ValidateRequest(kind=ValidationKind.customer, payload={"type": "B2C", "name": "Asha"})
    async with BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books:
        result = await books.validate.check(request)
        assert result.kind == ValidationKind.customer
        gw.fail("POST", "/books/validate", 500)
        with pytest.raises(ServerError) as caught:  # a 500 is not retried, and is no unknown outcome
            await books.validate.check(request)
    assert caught.value.status == 500
    assert gw.forwarded.count(("POST", "/books/validate")) == 3


# ---------------------------------------------------------------------------------- lifecycle


async def arrived(server: ScriptedServer, count: int) -> None:
    """Return once the server has received ``count`` requests."""
    async with asyncio.timeout(10):  # a hang guard
        # The server records requests and signals nothing: polling its record is the simple way to wait.
        while len(server.seen) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_aclose_lets_calls_in_flight_finish_within_grace(server: ScriptedServer) -> None:
    """aclose() waits for a call in flight that finishes within the grace period; it succeeds."""
    server.script("GET", INVOICE_PATH, stall(0.3))
    books = client_for(server)
    call = asyncio.ensure_future(books.invoices.get(INVOICE_ID))
    await arrived(server, 1)
    await books.aclose(grace=30.0)
    assert (await call).id == INVOICE_ID
    assert books.closed


async def test_aclose_ends_calls_still_running_after_grace(server: ScriptedServer) -> None:
    """Past the grace period: a POST that was sent is OutcomeUnknownError (WriteAcceptedError once its 201
    came), a GET, a read-only POST and a call still queued in the limiter are ClientClosedError."""
    server.default = stall_head(30.0)
    server.script("POST", "/books/invoices/" + INVOICE_ID + "/send", stall_body(30.0, 200))
    limiter = SlidingWindowLimiter(RateLimit(4, 60.0))
    books = client_for(server, limiter=limiter)
    request = ValidateRequest(kind=ValidationKind.customer, payload={"name": "Asha"})
    calls = [
        asyncio.ensure_future(books.invoices.get(INVOICE_ID)),
        asyncio.ensure_future(books.invoices.create(bolts_invoice())),
        asyncio.ensure_future(books.invoices.send(INVOICE_ID)),
        asyncio.ensure_future(books.validate.check(request)),
    ]
    await arrived(server, 4)
    queued = asyncio.ensure_future(books.invoices.get(INVOICE_ID))  # the limiter's fifth slot is a minute off
    await asyncio.sleep(0.05)
    await books.aclose(grace=0.2)
    results = await asyncio.gather(*calls, queued, return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "ClientClosedError",
        "OutcomeUnknownError",
        "WriteAcceptedError",
        "ClientClosedError",
        "ClientClosedError",
    ]
    assert isinstance(results[2], WriteAcceptedError)
    assert results[2].status == 200
    assert len(server.seen) == 4
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, BooksError)]


async def test_aclose_ends_a_stream_whose_body_is_still_arriving(server: ScriptedServer) -> None:
    """A download still open past the grace period ends with ClientClosedError from chunks()."""
    server.script("GET", INVOICE_PATH + "/pdf", stall_body(30.0, sent=b"%PDF-1.7\n"))
    books = client_for(server)
    got: list[bytes] = []

    async def download() -> None:
        async with books._transport.stream("GET", INVOICE_PATH + "/pdf") as body:
            async for chunk in body.chunks():
                got.append(chunk)

    task = asyncio.ensure_future(download())
    await arrived(server, 1)
    await asyncio.sleep(0.1)
    await books.aclose(grace=0.1)
    with pytest.raises(ClientClosedError):
        await task
    assert got == [b"%PDF-1.7\n"]


def test_client_works_again_in_a_second_event_loop() -> None:
    """A client used in one asyncio.run() works in the next: its old connections are dropped, not reused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    books = BooksClient(SECRET, base_url=f"http://127.0.0.1:{port}/api/v1", rate_limit=RateLimit(50, 1.0))

    async def once() -> str:
        async with scripted_server(port):
            return (await books.invoices.get(INVOICE_ID)).id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert asyncio.run(once()) == INVOICE_ID
        assert asyncio.run(once()) == INVOICE_ID
        asyncio.run(books.aclose())
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]


def test_client_in_use_by_another_running_loop_says_what_to_do(server_in_thread: str) -> None:
    """Used from a second loop while the first still runs (another thread): ConfigurationError, clearly."""
    books = BooksClient(SECRET, base_url=server_in_thread, rate_limit=None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        first = asyncio.run_coroutine_threadsafe(books.invoices.get(INVOICE_ID), loop).result(timeout=30)
        assert first.id == INVOICE_ID
        with pytest.raises(ConfigurationError, match="one BooksClient per event loop"):
            asyncio.run(books.invoices.get(INVOICE_ID))
        asyncio.run_coroutine_threadsafe(books.aclose(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture
def server_in_thread() -> Iterator[str]:
    """A scripted server running in a thread of its own, for tests that run several event loops."""
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    async def run() -> None:
        async with scripted_server() as s:
            ready.put(s.base_url)
            while not stop.is_set():  # noqa: ASYNC110 - a threading.Event, set from the test's thread
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)


async def test_borrowed_session_closed_by_its_owner_raises_client_closed(server: ScriptedServer) -> None:
    """A session passed in and then closed by its owner: ClientClosedError naming the session."""
    session = aiohttp.ClientSession()
    books = client_for(server, session=session)
    await session.close()
    with pytest.raises(ClientClosedError, match="session passed"):
        await books.invoices.get(INVOICE_ID)
    assert server.seen == []


def test_borrowed_session_of_another_loop_raises_configuration_error(server_in_thread: str) -> None:
    """A session made in one event loop and used from another: ConfigurationError saying what to do."""

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    session = asyncio.run(make())
    books = BooksClient(SECRET, base_url=server_in_thread, rate_limit=None, session=session)
    with pytest.raises(ConfigurationError, match="another event loop"):
        asyncio.run(books.invoices.get(INVOICE_ID))
    session.detach()  # its loop is gone: nothing to close, and no warning about it either


@pytest.mark.parametrize("grace", [-1, float("inf"), float("nan"), True])
async def test_aclose_refuses_a_bad_grace(server: ScriptedServer, grace: float) -> None:
    """grace must be a finite, non-negative number of seconds."""
    async with client_for(server) as books:
        with pytest.raises(ConfigurationError, match="grace"):
            await books.aclose(grace=grace)

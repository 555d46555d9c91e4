"""Transport failures (books_async._failures): one translation for the whole attempt, body included, and
nothing secret reachable from any error.

Every server here is real and on 127.0.0.1: the scripted aiohttp server for bodies cut or stalled mid-way,
a bare asyncio server for answers aiohttp's server cannot make (a malformed status line, broken chunked
framing, gzip that is not gzip).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
import pytest

from books_async import (
    APIConnectionError,
    APITimeoutError,
    BooksClient,
    BooksError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    Timeout,
    UnderlyingError,
    ValidationError,
    WriteAcceptedError,
)
from books_async.models import ValidateRequest, ValidationKind
from tests.factories import bolts_invoice
from tests.hostile_server import Meter, cut_body, flood, raw_server, stall_body, stall_head
from tests.scripted_server import (
    INVOICE_ID,
    ScriptedServer,
    drop,
    respond,
    scripted_server,
)
from tests.virtual_time import RecordingClient, assert_backed_off

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key the tests hunt for
PROXY_USER = "proxyuser"
PROXY_PASSWORD = "proxy-pass-do-not-leak-42"  # noqa: S105
BASIC_TOKEN = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
SECRETS = (SECRET, PROXY_PASSWORD, BASIC_TOKEN)
INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"

BAD_STATUS_LINE = (b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",)
# The status line first, then a body aiohttp cannot decode: a chunk cut short, or gzip that is not.
BAD_CHUNKS = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    b'64\r\n{"_id": "65a1',
)
BAD_GZIP = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Content-Length: 12\r\n\r\n",
    b"not gzip at!",
)


def client_for(base_url: str, **kwargs: object) -> RecordingClient:
    options: dict[str, object] = {
        "rate_limit": None,
        "max_retries": 3,
        "timeout": Timeout(connect=2.0, read=2.0, total=20.0),
    }
    options.update(kwargs)
    return RecordingClient(SECRET, base_url=base_url, **options)


def chain(error: BaseException) -> list[BaseException]:
    """Every exception reachable from ``error`` through __cause__ and __context__."""
    found: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return found


def assert_only_ours(error: BaseException) -> None:
    """No aiohttp or asyncio exception (nor any other foreign one) is raised or chained."""
    foreign = [type(e) for e in chain(error) if not isinstance(e, BooksError)]
    assert foreign == [], foreign


# ---------------------------------------------------------------------------------- a body cut or stalled


async def test_cut_body_of_a_get_is_retried_then_succeeds(server: ScriptedServer) -> None:
    """A 200 whose body is cut short (Content-Length 1000, a few bytes, close) is retried like a reset."""
    server.script("GET", INVOICE_PATH, cut_body())
    async with client_for(server.base_url) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(server.seen) == 2
    assert_backed_off(books.waits, 1)


async def test_cut_body_of_a_get_raises_connection_error_when_retries_run_out(server: ScriptedServer) -> None:
    """Cut every time: APIConnectionError (never aiohttp's ClientPayloadError), with a summary as cause."""
    server.default = cut_body()
    async with client_for(server.base_url, max_retries=2) as books:
        with pytest.raises(APIConnectionError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert len(server.seen) == 3
    assert_backed_off(books.waits, 2)
    cause = caught.value.__cause__
    assert isinstance(cause, UnderlyingError)
    assert cause.kind == "aiohttp.ClientPayloadError"
    assert (cause.status, cause.method) == (200, "GET")
    assert_only_ours(caught.value)


async def test_stalled_body_of_a_get_raises_api_timeout(server: ScriptedServer) -> None:
    """A body that stops arriving for longer than the read timeout is APITimeoutError, retried first."""
    server.default = stall_body(30.0)
    async with client_for(server.base_url, max_retries=1, timeout=Timeout(read=0.3, total=20.0)) as books:
        with pytest.raises(APITimeoutError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert len(server.seen) == 2
    assert_backed_off(books.waits, 1)
    assert_only_ours(caught.value)


@pytest.mark.parametrize("broken", [cut_body(201), stall_body(30.0, 201)], ids=["cut", "stalled"])
async def test_broken_body_of_a_created_write_says_it_happened(
    server: ScriptedServer, broken: Callable[..., Awaitable[object]]
) -> None:
    """A POST answered 201 whose body broke off is a write that happened: WriteAcceptedError, not resent."""
    server.script("POST", "/books/invoices", broken)
    async with client_for(server.base_url, timeout=Timeout(read=0.3, total=20.0)) as books:
        with pytest.raises(WriteAcceptedError) as caught:
            await books.invoices.create(bolts_invoice())
    error = caught.value
    assert (error.status, error.body, error.method) == (201, b'{"_id": "65a1b2', "POST")
    assert "do not send it again" in str(error)
    assert len(server.seen) == 1
    assert books.waits == []
    assert_only_ours(error)


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ValidationError), (409, ConflictError), (503, ServerError), (500, OutcomeUnknownError)],
)
async def test_broken_error_body_of_a_post_keeps_the_status_it_got(
    server: ScriptedServer, status: int, error: type[BooksError]
) -> None:
    """A 4xx with a cut body is still a refusal, a 503 still "not processed", a 500 still unknown."""
    server.script("POST", "/books/invoices", cut_body(status))
    async with client_for(server.base_url) as books:
        with pytest.raises(error) as caught:
            await books.invoices.create(bolts_invoice())
    assert type(caught.value) is error
    assert getattr(caught.value, "status", None) == status
    assert len(server.seen) == 1
    assert books.waits == []
    assert_only_ours(caught.value)


async def test_broken_error_body_of_a_get_keeps_the_status_it_got(server: ScriptedServer) -> None:
    """A 404 whose body broke off is a 404: the status line is the answer, nothing to retry."""
    server.script("GET", INVOICE_PATH, cut_body(404))
    async with client_for(server.base_url) as books:
        with pytest.raises(NotFoundError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert caught.value.body == '{"_id": "65a1b2'  # what arrived, as text
    assert "could not be read" in str(caught.value)
    assert len(server.seen) == 1
    assert books.waits == []


async def test_broken_body_of_a_read_only_post_is_retried(server: ScriptedServer) -> None:
    """POST /books/validate changes nothing: a cut answer is retried like a GET's."""
    answer = {"valid": True, "kind": "customer", "details": []}
    server.script("POST", "/books/validate", cut_body(200), respond(200, answer))
    request = ValidateRequest(kind=ValidationKind.customer, payload={"name": "Acme"})
    async with client_for(server.base_url) as books:
        result = await books.validate.check(request)
    assert result.valid is True
    assert len(server.seen) == 2
    assert_backed_off(books.waits, 1)


async def test_delete_whose_2xx_body_broke_off_then_404_counts_as_deleted(server: ScriptedServer) -> None:
    """A DELETE whose answer broke off after its 200, retried into a 404, did delete it."""
    server.script("DELETE", INVOICE_PATH, cut_body(200), respond(404, {"error": "not_found", "message": "x"}))
    async with client_for(server.base_url) as books:
        assert await books.invoices.delete(INVOICE_ID) is None
    assert len(server.seen) == 2
    assert_backed_off(books.waits, 1)


# ---------------------------------------------------------------------------------- malformed answers


async def test_malformed_status_line_is_a_connection_error_for_a_get() -> None:
    """An answer that is not HTTP is APIConnectionError (retried), caused by a summary of aiohttp's error."""
    async with raw_server(*BAD_STATUS_LINE) as raw, client_for(raw.base_url, max_retries=1) as books:
        with pytest.raises(APIConnectionError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert raw.requests == 2
    assert_backed_off(books.waits, 1)
    cause = caught.value.__cause__
    assert isinstance(cause, UnderlyingError)
    assert cause.kind == "aiohttp.ClientResponseError"
    assert_only_ours(caught.value)


async def test_malformed_status_line_after_a_post_is_outcome_unknown() -> None:
    """A POST answered with garbage may have been processed: OutcomeUnknownError, sent once."""
    async with raw_server(*BAD_STATUS_LINE) as raw, client_for(raw.base_url) as books:
        with pytest.raises(OutcomeUnknownError) as caught:
            await books.invoices.create(bolts_invoice())
    assert raw.requests == 1
    assert books.waits == []
    assert caught.value.status is None
    assert_only_ours(caught.value)


@pytest.mark.parametrize("answer", [BAD_CHUNKS, BAD_GZIP], ids=["chunked", "gzip"])
async def test_malformed_body_of_a_get_is_a_connection_error(answer: tuple[bytes, ...]) -> None:
    """Broken chunked framing or gzip that is not gzip: APIConnectionError after the retries."""
    async with raw_server(*answer) as raw, client_for(raw.base_url, max_retries=1) as books:
        with pytest.raises(APIConnectionError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert raw.requests == 2
    assert_backed_off(books.waits, 1)
    assert isinstance(caught.value.__cause__, UnderlyingError)
    assert caught.value.__cause__.kind == "aiohttp.ClientPayloadError"
    assert_only_ours(caught.value)


async def test_malformed_body_of_a_created_write_says_it_happened() -> None:
    """A 201 whose chunked framing is broken is still a 201: WriteAcceptedError, sent once."""
    async with raw_server(*BAD_CHUNKS) as raw, client_for(raw.base_url) as books:
        with pytest.raises(WriteAcceptedError) as caught:
            await books.invoices.create(bolts_invoice())
    assert (raw.requests, caught.value.status) == (1, 201)
    assert_only_ours(caught.value)


# ---------------------------------------------------------------------------------- a session passed in


async def test_borrowed_session_does_not_resend_a_dropped_get_by_itself(server: ScriptedServer) -> None:
    """aiohttp's silent resend is off on a session passed in: each attempt is ours, counted and limited."""
    server.script("GET", INVOICE_PATH, drop(), drop())
    async with aiohttp.ClientSession() as session:
        async with client_for(server.base_url, session=session, max_retries=0) as books:
            with pytest.raises(APIConnectionError) as caught:
                await books.invoices.get(INVOICE_ID)
            assert books.requests_sent == len(server.seen) == 1
            assert_only_ours(caught.value)
        assert not session.closed


async def test_borrowed_session_retries_are_ours_and_pass_the_limiter(server: ScriptedServer) -> None:
    """With retries on, every resend of a dropped GET is one of ours: the server saw what we sent."""
    server.script("GET", INVOICE_PATH, drop(), drop())
    async with (
        aiohttp.ClientSession() as session,
        client_for(server.base_url, session=session, rate_limit=None) as books,
    ):
        invoice = await books.invoices.get(INVOICE_ID)
        assert books.requests_sent == len(server.seen) == 3
    assert invoice.id == INVOICE_ID


async def test_borrowed_session_raising_for_status_still_maps_statuses(server: ScriptedServer) -> None:
    """A session made with raise_for_status=True does not turn a 404 into a connection failure."""
    server.script("GET", INVOICE_PATH, respond(404, {"error": "not_found", "message": "gone"}))
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        client_for(server.base_url, session=session) as books,
    ):
        with pytest.raises(NotFoundError):
            await books.invoices.get(INVOICE_ID)


# ---------------------------------------------------------------------------------- secrets


async def arrived(server: ScriptedServer, method: str, path: str, count: int) -> None:
    """Return once the server has received ``count`` requests to ``method path``."""
    async with asyncio.timeout(10):  # a hang guard
        # The server records requests and signals nothing: polling its record is the simple way to wait.
        while len(server.seen_at(method, path)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def caught(call: Awaitable[object]) -> BaseException:
    try:
        await call
    except BaseException as exc:
        return exc
    raise AssertionError("the call did not fail")


def leaks(error: BaseException, secrets: Sequence[str] = SECRETS) -> list[str]:
    """Where a secret shows in anything reachable from ``error``, as an error tracker would print it.

    Exceptions are walked through args, attributes, __cause__ and __context__, recursively; the frames of
    their tracebacks through their locals, each printed with repr() and, for containers, item by item.
    """
    found: list[str] = []
    seen: set[int] = set()

    def shows(obj: object) -> bool:
        texts = [repr(obj)] + ([str(obj)] if isinstance(obj, BaseException) else [])
        return any(secret in text for text in texts for secret in secrets)

    def walk(obj: object, where: str, *, attributes: bool) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if shows(obj):
            found.append(where)
        if isinstance(obj, dict):
            for key, value in obj.items():
                walk(key, f"{where}.keys()", attributes=attributes)
                walk(value, f"{where}[{key!r}]", attributes=attributes)
        elif isinstance(obj, list | tuple | set | frozenset):
            for index, item in enumerate(obj):
                walk(item, f"{where}[{index}]", attributes=attributes)
        elif isinstance(obj, BaseException):
            walk(obj.args, f"{where}.args", attributes=True)
            walk(dict(vars(obj)), f"{where}.__dict__", attributes=True)
            for link in ("__cause__", "__context__"):
                if (linked := getattr(obj, link)) is not None:
                    walk(linked, f"{where}.{link}", attributes=True)
            tb = obj.__traceback__
            while tb is not None:
                frame = tb.tb_frame
                for name, value in frame.f_locals.items():
                    walk(value, f"{where} frame {frame.f_code.co_qualname}: {name}", attributes=False)
                tb = tb.tb_next
        elif attributes and hasattr(obj, "__dict__") and not isinstance(obj, type):
            walk(dict(vars(obj)), f"{where}.__dict__", attributes=True)

    walk(error, type(error).__name__, attributes=True)
    return found


def with_userinfo(base_url: str) -> str:
    return base_url.replace("://", f"://{PROXY_USER}:{PROXY_PASSWORD}@")


async def every_failure(server: ScriptedServer, auth_scheme: str, *, userinfo: bool) -> list[BaseException]:
    """One error of each kind the transport raises, from clients set up alike."""

    def client(base_url: str, **kwargs: object) -> BooksClient:
        address = with_userinfo(base_url) if userinfo else base_url
        return client_for(address, auth_scheme=auth_scheme, **kwargs)

    books = client(server.base_url, max_retries=1)
    errors: list[BaseException] = []
    server.script("GET", "/books/cut", cut_body(), cut_body())
    errors.append(await caught(books.request("GET", "/books/cut")))
    server.script("POST", "/books/invoices", cut_body(201))
    errors.append(await caught(books.invoices.create(bolts_invoice())))
    server.script("GET", "/books/stalled", stall_body(30.0), stall_body(30.0))
    errors.append(await caught(books.request("GET", "/books/stalled", timeout=Timeout(read=0.2, total=10))))
    server.script("GET", "/books/denied", respond(401, {"error": "unauthorized", "message": "bad key"}))
    errors.append(await caught(books.request("GET", "/books/denied")))
    server.script("POST", "/books/invoices", respond(500, {"error": "internal", "message": "boom"}))
    errors.append(await caught(books.invoices.create(bolts_invoice())))
    server.script("GET", "/books/huge", flood(Meter()))
    errors.append(await caught(books.request("GET", "/books/huge")))
    errors.append(await caught(books.request("GET", "/x", extra_headers={"X-Bad": "a\r\nb"})))
    server.script("GET", "/books/slow", stall_head(30.0))

    async def within(seconds: float) -> None:
        async with asyncio.timeout(seconds):  # the caller's own deadline: cancellation, then TimeoutError
            await books.request("GET", "/books/slow")

    errors.append(await caught(within(0.3)))
    async with raw_server(*BAD_STATUS_LINE) as raw, client(raw.base_url) as bad:
        errors.append(await caught(bad.invoices.create(bolts_invoice())))
        errors.append(await caught(bad.request("GET", "/x")))
    async with scripted_server() as closed_soon:
        gone = closed_soon.base_url
    async with client(gone, max_retries=0) as nowhere:
        errors.append(await caught(nowhere.request("GET", "/x")))
    server.script("POST", "/books/invoices", stall_head(30.0))
    pending = asyncio.ensure_future(books.invoices.create(bolts_invoice()))
    await arrived(server, "POST", "/books/invoices", 3)
    await books.aclose(grace=0.05)
    errors.append(await caught(pending))
    return errors


@pytest.mark.parametrize(
    ("auth_scheme", "userinfo"),
    [("x-api-key", False), ("bearer", False), ("x-api-key", True)],
    ids=["x-api-key", "bearer", "userinfo"],
)
async def test_no_secret_is_reachable_from_any_error(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, auth_scheme: str, userinfo: bool
) -> None:
    """Neither the key nor base_url's password is in repr() of anything reachable from an error: causes,
    contexts, attributes, args, and the locals of every frame of their tracebacks."""
    with caplog.at_level(logging.DEBUG, logger="books_async"):
        errors = await every_failure(server, auth_scheme, userinfo=userinfo)
    assert [type(e).__name__ for e in errors] == [
        "APIConnectionError",
        "WriteAcceptedError",
        "APITimeoutError",
        "AuthenticationError",
        "OutcomeUnknownError",
        "ResponseTooLargeError",
        "ConfigurationError",
        "TimeoutError",
        "OutcomeUnknownError",
        "APIConnectionError",
        "APIConnectionError",
        "OutcomeUnknownError",
    ]
    for error in errors:
        assert leaks(error) == [], type(error).__name__
        if not isinstance(error, TimeoutError):  # the caller's own asyncio.timeout(): cancellation
            assert_only_ours(error)
    assert not [r for r in caplog.records if any(s in r.getMessage() for s in SECRETS)]
    if userinfo:
        shown = [e.url for e in errors if isinstance(e, OutcomeUnknownError | WriteAcceptedError)]
        assert len(shown) == 4
        assert all("[redacted]@127.0.0.1" in url for url in shown)


def test_the_walk_finds_a_key_in_a_frame_local() -> None:
    """The leak finder itself works: a key held in a plain local of a raising frame is found."""

    def fails(key: str) -> None:
        raise ValueError("no key in the message")

    with pytest.raises(ValueError, match="no key") as raised:
        fails(SECRET)
    where = "ValueError frame test_the_walk_finds_a_key_in_a_frame_local.<locals>.fails: key"
    assert leaks(raised.value) == [where]


def test_a_refused_setting_leaves_no_key_in_the_constructor_frame() -> None:
    """A ConfigurationError at construction carries no frame where the key is a plain local."""
    with pytest.raises(ConfigurationError) as refused:
        BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", timeout=-1)
    found = leaks(refused.value)  # computed apart: pytest keeps an assert's operands as locals of this frame
    assert found == []


async def test_userinfo_is_sent_as_basic_auth_and_redacted(server: ScriptedServer) -> None:
    """user:password in base_url go out as HTTP Basic auth, and show as [redacted]@ in the client."""
    url = server.base_url.replace("://", f"://{PROXY_USER}:{PROXY_PASSWORD}@")
    async with client_for(url) as books:
        await books.invoices.get(INVOICE_ID)
        assert books.base_url == server.base_url.replace("://", "://[redacted]@")
        assert PROXY_PASSWORD not in repr(books) + repr(books.invoices) + repr(books._transport)
    headers = server.seen[0].headers
    assert headers["Authorization"] == f"Basic {BASIC_TOKEN}"
    assert headers["x-api-key"] == SECRET


def test_bearer_with_userinfo_is_refused() -> None:
    """Both need the Authorization header: refused at construction, naming neither secret."""
    url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9/api/v1"
    with pytest.raises(ConfigurationError, match="Basic") as refused:
        BooksClient(SECRET, base_url=url, auth_scheme="bearer")
    assert not [s for s in SECRETS if s in str(refused.value)]


def test_messages_about_a_bad_base_url_redact_its_userinfo() -> None:
    """A refused base_url is quoted with its credentials redacted."""
    with pytest.raises(ConfigurationError) as refused:
        BooksClient(SECRET, base_url=f"http://{PROXY_USER}:{PROXY_PASSWORD}@example.com/api/v1")
    assert PROXY_PASSWORD not in str(refused.value)
    assert "[redacted]@example.com" in str(refused.value)

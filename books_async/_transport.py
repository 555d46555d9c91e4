"""The thin HTTP layer: one aiohttp session, auth, the limiter, retries, and status → exception.

This is the only module that calls the aiohttp client. Everything above it deals in paths, bytes and
:class:`~books_async.BooksError`; nothing aiohttp-shaped escapes. An attempt runs from the limiter's slot
to the last byte of its answer's body: a failure anywhere in it is translated in one place
(``_failures``), the body is read with a bound on memory (``_body``), and then the method and the status
that arrived decide what the caller is told (:meth:`Transport._unreadable`).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import ipaddress
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar, cast, final
from urllib.parse import unquote, urlsplit

import aiohttp
import orjson

from books_async._auth import AuthScheme, Credentials, Secret, split_userinfo
from books_async._body import DEFAULT_MAX_RESPONSE_BYTES, TooLarge, UnreadableBody, read_body
from books_async._config import Timeout, as_timeout
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BooksError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UnderlyingError,
    ValidationError,
    WriteAcceptedError,
)
from books_async._failures import TRANSPORT_ERRORS, Phase, no_silent_resend, translate
from books_async._limiter import Limiter, ReleasingLimiter
from books_async._logging import redact_url
from books_async._logging import transport_log as log
from books_async._retry import (
    NOT_PROCESSED_STATUSES,
    READ_ONLY_POSTS,
    RetryPolicy,
    is_idempotent,
    parse_retry_after,
)
from books_async._types import NOT_GIVEN, TimeoutArg
from books_async._version import __version__

__all__ = ["CLOSE_GRACE", "MAX_BODY_BYTES", "AuthScheme", "ByteStream", "RawAnswer", "Transport"]

T = TypeVar("T")

MAX_BODY_BYTES = 5 * 1024 * 1024
"""The API's request body limit (5 MB); larger bodies are refused before sending."""

CLOSE_GRACE = 5.0
"""Seconds :meth:`Transport.aclose` lets calls in flight finish before it ends them."""

# Once aclose() has ended the calls still in flight, how long it waits for their tasks to unwind (each only
# has to reach its next await) before closing the session under them.
_UNWIND = 1.0

# Answers that are reads: an unreadable 2xx answer to anything else is a write that happened.
_READ_METHODS = frozenset({"GET", "HEAD"})

# Of an error answer whose body could not be read whole, the part kept for .body (the rest is no help).
_ERROR_BODY_KEPT = 64 * 1024

_USER_AGENT = f"books-async/{__version__}"

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}

_HINTS: dict[type[APIStatusError], str] = {
    ValidationError: "Fix the fields listed in .details and send again.",
    AuthenticationError: (
        "Check the API key (BooksClient(api_key=...) or BOOKS_API_KEY); keys are made in the Books UI."
    ),
    PermissionDeniedError: (
        "The key may not do this: keys are scoped to the books app, and some routes need an owner's key."
    ),
    NotFoundError: "No such object in this key's organisation.",
    ConflictError: "The object's current state forbids this; fetch it and check.",
    RateLimitError: (
        "The organisation's quota is spent; wait retry_after seconds (the client retries by itself)."
    ),
    ServerError: "The API failed; safe requests were already retried. Try again later.",
}

# extra_headers may add or replace any header but these: the key goes only where the client puts it.
_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(base_url: str) -> str:
    """Return ``base_url`` without a trailing slash, refusing plain HTTP to anything but loopback.

    Raises:
        ConfigurationError: not an absolute http(s) URL, or plain HTTP to a non-loopback host.
    """
    parts = urlsplit(base_url)
    shown = redact_url(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an absolute http(s) URL; got {shown!r}.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {shown!r} is plain HTTP: the API key would travel unencrypted. "
            "Use https://, or http:// only to a loopback address (127.0.0.1, ::1, localhost)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment; got {shown!r}.")
    return base_url.rstrip("/")


def _query_value(value: object) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | Decimal | int | float | str):
        return value.isoformat() if isinstance(value, date) else str(value)
    raise ConfigurationError(
        f"Query parameters must be str, int, Decimal, date, bool or enums; got {value!r}."
    )


def _merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """Return ``base`` with ``extra`` added, a name in ``extra`` replacing ``base``'s in any letter case.

    Raises:
        ConfigurationError: ``extra`` names an auth header, or holds a non-str or a line break. The
            message names the header, never its value.
    """
    merged = dict(base)
    names = {name.lower(): name for name in base}
    # Typed as str, but a caller's int or None would otherwise reach aiohttp and fail mid-call.
    for name, value in cast("Mapping[object, object]", extra).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError(f"extra_headers: names and values must be str; check {name!r}.")
        lowered = name.lower()
        if lowered in _AUTH_HEADERS:
            raise ConfigurationError(
                f"extra_headers may not set {name!r}: the client sends the API key itself "
                "(BooksClient(api_key=..., auth_scheme=...))."
            )
        # Caught here, before any I/O: aiohttp would raise a bare ValueError in the middle of the call.
        if not name or any(char in name or char in value for char in "\r\n\x00"):
            raise ConfigurationError(
                f"extra_headers: {name!r} is empty or its name or value has a line break."
            )
        replaced = names.pop(lowered, None)
        if replaced is not None:
            del merged[replaced]
        merged[name] = value
        names[lowered] = name
    return merged


def _nothing() -> None:
    """What a limiter without ``release()`` is told when an answer arrives."""


class RawAnswer(NamedTuple):
    """A 2xx answer as it arrived: status, headers (read-only, any letter case) and body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class _AlreadyDeletedError(Exception):
    """A retried DELETE met 404: an earlier attempt whose answer was lost did the deletion."""

    def __init__(self, answer: RawAnswer) -> None:
        self.answer = answer


@final
class _Flight:
    """A call in progress, as :meth:`Transport.aclose` needs to know it to end it."""

    __slots__ = ("ended", "posted", "sent", "status")

    def __init__(self, *, posted: bool) -> None:
        self.posted = posted
        """A write that must never be sent twice (a POST other than the read-only ones)."""
        self.sent = False
        """The current attempt may have reached the server."""
        self.status: int | None = None
        """The current attempt's status, once it arrived."""
        self.ended = False
        """aclose() cancelled it: the CancelledError is ours to turn into an error."""


class ByteStream:
    """A response body being received; read it with :meth:`chunks` inside :meth:`Transport.stream`."""

    __slots__ = ("_content_type", "_method", "_path", "_response", "_transport", "content_length", "filename")

    def __init__(
        self, response: aiohttp.ClientResponse, transport: Transport, method: str, path: str
    ) -> None:
        self._response = response
        self._transport = transport
        self._method = method
        self._path = path
        self.content_length: int | None = response.content_length
        # aiohttp reports application/octet-stream for an answer without the header; None says it was absent.
        self._content_type = response.content_type if "Content-Type" in response.headers else None
        match = _FILENAME.search(response.headers.get("Content-Disposition", ""))
        self.filename: str | None = unquote(match.group(1)) if match else None
        """The file name the server suggests. Untrusted: never use it as a path without sanitising."""

    @property
    def content_type(self) -> str | None:
        """The media type the server declared, without parameters (``application/pdf``); None if none."""
        return self._content_type

    async def chunks(self, size: int = 64 * 1024, *, max_bytes: int | None = None) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes, as they arrive.

        Args:
            max_bytes: the most bytes to accept. A larger body raises :class:`ResponseTooLargeError` once
                past it (at once, reading nothing, when its declared ``Content-Length`` is already over).
                ``None``: no cap.

        Raises:
            APIConnectionError: the connection broke mid-body, or the body was malformed.
            APITimeoutError: the server went silent for longer than the read timeout.
            ResponseTooLargeError: the body is larger than ``max_bytes``.
            ClientClosedError: the client was closed while the body was being read.
        """
        response = self._response
        declared = self.content_length
        if (
            max_bytes is not None
            and declared is not None
            and declared > max_bytes
            and "Content-Encoding" not in response.headers
        ):
            raise self._too_large(TooLarge(max_bytes, 0, declared))
        received = 0
        pieces = response.content.iter_chunked(size)
        while True:
            try:
                chunk = await anext(pieces)
            except StopAsyncIteration:
                return
            except TRANSPORT_ERRORS as exc:
                failure = self._transport._failed(
                    exc, phase="body", method=self._method, path=self._path, status=response.status
                )
            else:
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise self._too_large(TooLarge(max_bytes, received, declared))
                yield chunk
                continue
            # Raised here, out of the except block, so aiohttp's exception is not left as __context__.
            raise failure

    def _too_large(self, why: TooLarge) -> ResponseTooLargeError:
        status = self._response.status
        return ResponseTooLargeError(
            f"{self._method} {self._path} -> {status}: the body {why.describe('max_bytes')}.",
            status=status,
            method=self._method,
            url=self._transport.base_url + self._path,
            limit=why.limit,
            received=why.received,
        )


class Transport:
    """Sends requests for one API key: auth, limiter, retries and error mapping.

    It owns its aiohttp session unless one is passed in; a borrowed session is never closed here.
    """

    def __init__(
        self,
        *,
        api_key: Secret,
        base_url: str,
        auth_scheme: str,
        timeout: Timeout,
        limiter: Limiter,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        url, basic = split_userinfo(base_url)
        self._credentials = Credentials(api_key, auth_scheme, basic)
        self._url = url
        self.base_url = redact_url(base_url)
        """The API's address as it may be shown: credentials in it are redacted."""
        self.limiter = limiter
        self._release = limiter.release if isinstance(limiter, ReleasingLimiter) else _nothing
        self.retry = retry
        self._timeout = timeout
        self._sleep = sleep
        self.max_response_bytes = max_response_bytes
        """The largest answer read into memory; reading stops there."""
        self._headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        # The usual header sets, signed once so most calls build no dict. Attributes, never locals (_auth).
        self._signed = self._credentials.sign(self._headers)
        self._signed_json = self._credentials.sign(self._json_headers)
        self._session = session
        self._owns_session = session is None
        # aiohttp keeps a session's loop private (its public `loop` property is deprecated).
        self._session_loop: asyncio.AbstractEventLoop | None = getattr(session, "_loop", None)
        # A session of ours has aiohttp's silent resend switched off (_get_session); a borrowed one is not
        # ours to change, so each of our requests gets the middleware that stops it. aiohttp lets per-request
        # middlewares replace the session's, so the session's own run first, as they would have.
        self._middlewares = (
            None if session is None else (*getattr(session, "_middlewares", ()), no_silent_resend)
        )
        self._closed = False
        self._flights: dict[asyncio.Task[object], _Flight] = {}
        self._streams: set[aiohttp.ClientResponse] = set()
        self._idle: asyncio.Event | None = None
        self.requests_sent = 0
        """Attempts that reached the network, retries included (for the demo's summary and benchmarks)."""
        self.rate_limited = 0
        """429 answers met."""

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} closed={self._closed}>"

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def _get_session(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        """The session to send with in ``loop``: ours, made on first use, or a new one for a new loop.

        Raises:
            ClientClosedError: this client, or the session passed in, is closed.
            ConfigurationError: the session belongs to another event loop that is still open.
        """
        if self._closed:
            raise ClientClosedError("This BooksClient is closed; create a new one.")
        session = self._session
        if session is not None and not self._owns_session:
            if session.closed:
                raise ClientClosedError(
                    "The aiohttp session passed as BooksClient(session=...) was closed by its owner. Pass an "
                    "open one, or none to let the client make its own."
                )
            if self._session_loop is None or self._session_loop is loop:
                return session
            raise ConfigurationError(
                "The aiohttp session passed as BooksClient(session=...) belongs to another event loop. Make "
                "the session, and the client, in the event loop that uses them."
            )
        if session is not None and not session.closed:
            previous = self._session_loop
            if previous is not None and not previous.is_closed():
                raise ConfigurationError(
                    "This BooksClient is in use by another event loop that is still open (another thread?). "
                    "A client serves one event loop at a time: make one BooksClient per event loop, each "
                    "with its own limiter= if they run in threads."
                )
            # Its loop is gone (e.g. an earlier asyncio.run()), and its connections with it: closing it does
            # no I/O, and the next asyncio.run() gets a session of its own.
            await session.close()
        # Made here, inside the running loop, so a client can be built at import time (FastAPI apps).
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300, enable_cleanup_closed=True),
            # aiohttp's own default is 300 s total; every request passes its own ClientTimeout anyway.
            timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout.connect),
            # Cookies would be state shared between calls that the API does not use.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # aiohttp silently resends a GET or DELETE once when a connection drops. Ours must be the only
        # retry: it waits for the limiter, backs off, logs, and knows that a DELETE answered 404 after a lost
        # answer succeeded. The flag is private (though listed in ClientSession's ATTRS) and costs nothing
        # per request; an aiohttp without it gets the middleware borrowed sessions get.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        else:
            self._middlewares = (no_silent_resend,)
        self._session, self._session_loop = session, loop
        return session

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self, grace: float = CLOSE_GRACE) -> None:
        """Close the client; close the session if we made it. Idempotent.

        Calls in flight get up to ``grace`` seconds to finish. Those still running then are ended: a POST
        that may have reached the API raises :class:`OutcomeUnknownError` (:class:`WriteAcceptedError` once
        its 2xx status arrived), anything else :class:`ClientClosedError`, and so does a stream's body.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._busy():
                await self._drain(grace)
        finally:
            session, self._session = self._session, None
            previous = self._session_loop
            # A session of a loop that is still running elsewhere cannot be closed from here.
            if (
                self._owns_session
                and session is not None
                and (previous is None or previous is asyncio.get_running_loop() or previous.is_closed())
            ):
                await session.close()

    def _busy(self) -> bool:
        loop = asyncio.get_running_loop()
        return bool(self._streams) or any(task.get_loop() is loop for task in self._flights)

    def _settle(self) -> None:
        if self._idle is not None and not self._busy():
            self._idle.set()

    async def _drain(self, grace: float) -> None:
        self._idle = idle = asyncio.Event()
        try:
            with suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await idle.wait()
            if idle.is_set():
                return
            loop = asyncio.get_running_loop()
            ended = 0
            for task, flight in list(self._flights.items()):
                if task.get_loop() is loop and not task.done():
                    flight.ended = True
                    task.cancel()
                    ended += 1
            for response in list(self._streams):
                response.close()
            streams = len(self._streams)
            log.debug("aclose(): ended %d call(s) and %d stream(s) after %.1fs", ended, streams, grace)
            with suppress(TimeoutError):
                async with asyncio.timeout(_UNWIND):
                    await idle.wait()
        finally:
            self._idle = None

    # ---- requests --------------------------------------------------------------------------------------

    def _resolve_timeout(self, timeout: TimeoutArg) -> Timeout:
        if timeout is NOT_GIVEN:
            return self._timeout
        if timeout is None:
            return Timeout(connect=self._timeout.connect, read=self._timeout.read, total=None)
        return as_timeout(timeout, self._timeout)

    def _params(self, params: Mapping[str, object] | None) -> dict[str, str] | None:
        if not params:
            return None
        return {k: _query_value(v) for k, v in params.items() if v is not NOT_GIVEN and v is not None}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> bytes:
        """Send one call (with retries) and return the body of its 2xx answer.

        ``extra_headers`` are added to (or replace) the client's own, except the auth headers.

        Raises:
            ConfigurationError: ``extra_headers`` tries to set an auth header; nothing was sent.
            PayloadTooLargeError: ``body`` is over 5 MB (nothing was sent), or the server refused it.
            APIStatusError: the API answered with an error (a subclass per status).
            OutcomeUnknownError: a POST failed after it may have been processed.
            WriteAcceptedError: a write was accepted (2xx) but its answer could not be read.
            ResponseTooLargeError: the answer of a read was over ``max_response_bytes``.
            APIConnectionError: no answer, or an unreadable one, after retries where they were safe.
            ClientClosedError: the client was closed before (or, by aclose(), during) the call.
        """
        try:
            return await self._call(method, path, params, body, extra_headers, timeout, self._body_of)
        except _AlreadyDeletedError:
            return b""

    async def request_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> RawAnswer:
        """Like :meth:`request`, returning the answer's status and headers with its body.

        A DELETE whose lost answer had already deleted the object answers with the 404 that showed it.
        """
        try:
            return await self._call(method, path, params, body, extra_headers, timeout, self._answer_of)
        except _AlreadyDeletedError as gone:
            return gone.answer

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[ByteStream]:
        """Open a call whose 2xx body is read incrementally, for downloads of any size.

        Getting the response is retried like :meth:`request`; a body that breaks off midway is not (the
        caller decides, since it may have written part of it somewhere). ``chunks(max_bytes=...)`` caps it.
        """
        body = await self._call(method, path, params, None, None, timeout, self._open_stream, stream=True)
        try:
            yield body
        finally:
            body._response.release()
            self._streams.discard(body._response)
            self._settle()

    async def _body_of(self, response: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        failed = functools.partial(
            self._failed, phase="body", method=method, path=path, status=response.status
        )
        return await read_body(response, self.max_response_bytes, failed)

    async def _answer_of(self, response: aiohttp.ClientResponse, method: str, path: str) -> RawAnswer:
        return RawAnswer(response.status, response.headers, await self._body_of(response, method, path))

    async def _open_stream(self, response: aiohttp.ClientResponse, method: str, path: str) -> ByteStream:
        self._streams.add(response)
        return ByteStream(response, self, method, path)

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        body: bytes | None,
        extra_headers: Mapping[str, str] | None,
        timeout: TimeoutArg,
        on_success: Callable[[aiohttp.ClientResponse, str, str], Awaitable[T]],
        *,
        stream: bool = False,
    ) -> T:
        if body is not None and len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(
                f"{method} {path}: the request body is {len(body):,} bytes, over the API's limit of "
                f"{MAX_BODY_BYTES:,} bytes (5 MB). Nothing was sent; send fewer items per request.",
                status=413,
                body=None,
                method=method,
                url=self.base_url + path,
                body_size=len(body),
                limit=MAX_BODY_BYTES,
                refused_locally=True,
            )
        headers = self._headers if body is None else self._json_headers
        if extra_headers:
            headers = _merge_headers(headers, extra_headers)
        limits = self._resolve_timeout(timeout)
        query = self._params(params)
        if self._closed:
            raise ClientClosedError("This BooksClient is closed; create a new one.")
        idempotent = is_idempotent(method, path)
        flight = _Flight(posted=not idempotent)
        task = asyncio.current_task()
        if task is not None:
            self._flights[task] = flight
        try:
            return await self._attempts(
                method, path, query, body, headers, limits, on_success, stream, flight, idempotent
            )
        except asyncio.CancelledError:
            # uncancel() > 0: the task was cancelled by someone else too, and that must go on.
            if not flight.ended or task is None or task.uncancel() > 0:
                raise
        finally:
            if task is not None:
                del self._flights[task]
                if self._idle is not None:  # aclose() is waiting for calls in flight
                    self._settle()
        # Only reached when aclose() ended this call; raised here, with no CancelledError as its context.
        raise self._ended_error(method, path, flight)

    async def _attempts(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: bytes | None,
        headers: dict[str, str],
        limits: Timeout,
        on_success: Callable[[aiohttp.ClientResponse, str, str], Awaitable[T]],
        stream: bool,
        flight: _Flight,
        idempotent: bool,
    ) -> T:
        url = self._url + path
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        ambiguous_delete = False
        attempt = 0
        while True:
            # The deadline starts after the first wait for the limiter: that wait is queueing, not the call
            # taking long, and a bulk job's calls at the back of a long queue must not time out there.
            await self.limiter.acquire()
            if deadline is None:
                deadline = math.inf if limits.total is None else loop.time() + limits.total
            remaining = deadline - loop.time()
            flight.sent, flight.status = False, None
            try:
                if remaining <= 0:
                    raise APITimeoutError(f"{method} {path}: the call's {limits.total}s deadline passed.")
                session = self._session
                if session is None or session.closed or self._session_loop is not loop:
                    session = await self._get_session(loop)
                client_timeout = aiohttp.ClientTimeout(
                    total=None if math.isinf(remaining) else remaining,
                    sock_connect=limits.connect,
                    sock_read=limits.read,
                )
                self.requests_sent += 1
                flight.sent = True
                response = await self._send(session, method, url, path, query, body, headers, client_timeout)
                # The server saw this request before its answer reached us, so a slot counted from now is
                # exact (see _limiter). Attempts that got no answer are not released: they may yet arrive.
                self._release()
                flight.status = status = response.status
                broken: UnreadableBody | None = None
                try:
                    if status < 300:
                        log.debug("%s %s -> %d (attempt %d)", method, path, status, attempt + 1)
                        return await on_success(response, method, path)
                    raw = await self._body_of(response, method, path)
                except UnreadableBody as unreadable:
                    broken = unreadable
                finally:
                    # A body not read to its end closes the connection instead of returning it to the pool.
                    if not stream or status >= 300:
                        response.release()
                if broken is not None:
                    raise self._unreadable(broken, method, path, response.headers, flight, len(body or b""))
                if status == 404 and ambiguous_delete:
                    # An earlier attempt whose answer we lost did delete it: the caller's intent is met.
                    log.debug("%s %s -> 404 after an unanswered attempt: already deleted", method, path)
                    raise _AlreadyDeletedError(RawAnswer(status, response.headers, raw))
                raise self._status_error(method, path, status, raw, response.headers, len(body or b""))
            except BooksError as exc:
                delay = self.retry.delay_for(attempt, exc, method, idempotent=idempotent)
                if isinstance(exc, RateLimitError):
                    self.rate_limited += 1
                    if delay is not None:
                        self.limiter.penalise(exc.retry_after if exc.retry_after is not None else delay)
                outcome = exc.status if isinstance(exc, APIStatusError) else type(exc).__name__
                if delay is None or loop.time() + delay >= deadline:
                    log.debug("%s %s -> %s (attempt %d); not retried", method, path, outcome, attempt + 1)
                    if self.retry.outcome_unknown(exc, method, idempotent=idempotent):
                        raise self._outcome_unknown(method, path, exc) from exc
                    raise
                if method == "DELETE" and isinstance(exc, APIConnectionError):
                    ambiguous_delete = True
                log.debug(
                    "%s %s -> %s (attempt %d); retrying in %.2fs", method, path, outcome, attempt + 1, delay
                )
                await self._sleep(delay)
                attempt += 1

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        path: str,
        query: dict[str, str] | None,
        body: bytes | None,
        headers: dict[str, str],
        client_timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        failure: BooksError | None = None
        cancelled: tuple[object, ...] = ()
        try:
            # Redirects are never followed: aiohttp would carry x-api-key to whatever host a redirect names.
            # The auth headers are added inside this expression, so that no frame of ours holds them.
            return await session.request(
                method,
                url,
                params=query,
                data=body,
                headers=(
                    self._signed
                    if headers is self._headers
                    else self._signed_json
                    if headers is self._json_headers
                    else self._credentials.sign(headers)
                ),
                timeout=client_timeout,
                allow_redirects=False,
                raise_for_status=False,
                middlewares=self._middlewares,
            )
        except asyncio.CancelledError as exc:
            cancelled = exc.args
        except TRANSPORT_ERRORS as exc:
            failure = self._failed(exc, phase="send", method=method, path=path, status=None)
        if failure is not None:
            raise failure
        # A fresh CancelledError, raised outside aiohttp's frames: their locals hold the request headers, and
        # a caller's asyncio.timeout() chains the CancelledError as the cause of the TimeoutError it raises.
        raise asyncio.CancelledError(*cancelled)

    def _failed(
        self, exc: BaseException, *, phase: Phase, method: str, path: str, status: int | None
    ) -> BooksError:
        """The error for ``exc``, met by an attempt of ``method path``; raise it outside the ``except``."""
        error = translate(
            exc,
            phase=phase,
            method=method,
            path=path,
            url=self.base_url + path,
            base_url=self.base_url,
            status=status,
            credentials=self._credentials,
        )
        if self._closed and phase == "body" and not isinstance(error, ConfigurationError):
            # aclose() closed the connection under a stream whose body was still being read.
            closed = ClientClosedError(
                f"{method} {path}: the client was closed (aclose()) while this answer's body was being read."
            )
            closed.__cause__ = error.__cause__
            return closed
        return error

    def _unreadable(
        self,
        broken: UnreadableBody,
        method: str,
        path: str,
        headers: Mapping[str, str],
        flight: _Flight,
        sent: int,
    ) -> BooksError:
        """The error for an answer whose status arrived but whose body could not be read whole.

        The status line is what the server said. An error status is still that error (``.body`` holds what
        arrived), so a 4xx is a known refusal and a 503 is still "not processed". A 2xx body that broke off
        or stalled is a transient failure for a read or an idempotent write (retried), and a write that
        happened for a POST; a 2xx body over ``max_response_bytes`` is :class:`ResponseTooLargeError` for a
        read and a write that happened otherwise.
        """
        status = cast(int, flight.status)
        reason = broken.reason
        url = self.base_url + path
        if isinstance(reason, TooLarge):
            why = f"the answer {reason.describe('max_response_bytes')}"
        else:
            library = reason.__cause__
            kind = library.kind if isinstance(library, UnderlyingError) else type(reason).__name__
            why = f"the answer's body could not be read ({kind})"
        if status >= 300:
            kept = broken.partial[:_ERROR_BODY_KEPT]
            error: BooksError = self._status_error(
                method, path, status, kept, headers, sent, note=f"(And {why}; .body holds what arrived.)"
            )
            error.__cause__ = None if isinstance(reason, TooLarge) else reason.__cause__
            return error
        reads = method in _READ_METHODS or (method == "POST" and path in READ_ONLY_POSTS)
        if isinstance(reason, TooLarge):
            too_large = ResponseTooLargeError(
                f"{method} {path} -> {status}: {why}. Pass BooksClient(max_response_bytes=...) if answers "
                "this large are expected.",
                status=status,
                method=method,
                url=url,
                limit=reason.limit,
                received=reason.received,
            )
            if reads:
                return too_large
            cause: BaseException | None = too_large
            partial = b""
        elif not flight.posted:
            return reason
        else:
            cause, partial = reason.__cause__, broken.partial
        accepted = WriteAcceptedError(
            f"{method} {path} -> {status}: the API accepted this write, but {why}, so the write happened: do "
            "not send it again. Read the object back (by its number or id).",
            status=status,
            body=partial,
            method=method,
            url=url,
        )
        accepted.__cause__ = cause
        return accepted

    def _outcome_unknown(self, method: str, path: str, exc: BooksError) -> OutcomeUnknownError:
        url = self.base_url + path
        if isinstance(exc, APIStatusError):
            return OutcomeUnknownError(
                f"{method} {path} -> {exc.status}: the API, or a gateway in front of it, failed after the "
                "request reached it, so it may have been processed. It was not retried, to avoid a "
                "duplicate: look the object up (e.g. by its number) before sending again.",
                method=method,
                url=url,
                status=exc.status,
                body=exc.body,
            )
        return OutcomeUnknownError(
            f"{method} {path}: the connection failed after the request was sent, so the API may have "
            "processed it. It was not retried, to avoid a duplicate: look the object up (e.g. by its number) "
            "before sending again.",
            method=method,
            url=url,
        )

    def _ended_error(self, method: str, path: str, flight: _Flight) -> BooksError:
        """What a call ended by :meth:`aclose` raises, from how far it got."""
        url = self.base_url + path
        status = flight.status
        if flight.posted and flight.sent:
            if status is not None and status < 300:
                return WriteAcceptedError(
                    f"{method} {path} -> {status}: the API accepted this write, but the client was closed "
                    "(aclose()) before its answer was read, so the write happened: do not send it again. "
                    "Read the object back (by its number or id).",
                    status=status,
                    body=b"",
                    method=method,
                    url=url,
                )
            if status is None or (status >= 500 and status not in NOT_PROCESSED_STATUSES):
                return OutcomeUnknownError(
                    f"{method} {path}: the client was closed (aclose()) while this request was in flight, "
                    "after it may have reached the API. Look the object up (e.g. by its number) before "
                    "sending it again.",
                    method=method,
                    url=url,
                    status=status,
                )
        return ClientClosedError(
            f"{method} {path}: the client was closed (aclose()) before this call finished, so it was "
            "stopped. Make the call again on an open client."
        )

    def _status_error(
        self,
        method: str,
        path: str,
        status: int,
        raw: bytes,
        headers: Mapping[str, str],
        sent: int,
        note: str = "",
    ) -> APIStatusError:
        try:
            body: object = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw[:500].decode("utf-8", "replace")
        kind = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIStatusError)
        said = ""
        if isinstance(body, Mapping):
            error, message = body.get("error"), body.get("message")
            said = ": ".join(str(part) for part in (error, message) if part)
        url = self.base_url + path
        text = f"{method} {path} -> {status}" + (f" {said}" if said else "") + "."
        if 300 <= status < 400:
            location = headers.get("Location", "?")
            return APIStatusError(
                _words(
                    f"{method} {path} -> {status}: redirected to {location}, not followed so the API key "
                    "cannot leak to another host. Point base_url at the final address.",
                    note,
                ),
                status=status,
                body=body,
                method=method,
                url=url,
            )
        if kind is RateLimitError:
            return RateLimitError(
                _words(text, _HINTS[RateLimitError], note),
                status=status,
                body=body,
                method=method,
                url=url,
                retry_after=parse_retry_after(body, headers, datetime.now(UTC)),
            )
        if kind is PayloadTooLargeError:
            # Whatever the body says, if anything: Vercel, in front of the API, answers its own text 413 for
            # bodies over 4.5 MB, under the documented 5 MB. The size refused is what the caller can act on.
            return PayloadTooLargeError(
                _words(
                    text,
                    f"The server refused a request body of {sent:,} bytes as too large; the API documents "
                    "5 MB, but what stands in front of it may allow less. Send fewer items per request (the "
                    "bulk helpers split for you).",
                    note,
                ),
                status=status,
                body=body,
                method=method,
                url=url,
                body_size=sent,
                refused_locally=False,
            )
        message = _words(text, _HINTS.get(kind, ""), note)
        return kind(message, status=status, body=body, method=method, url=url)


def _words(*parts: str) -> str:
    return " ".join(part for part in parts if part)

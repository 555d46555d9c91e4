"""The thin HTTP layer: one aiohttp session, auth, the limiter, retries, and status → exception.

This is the only module that imports the aiohttp client. Everything above it deals in paths, bytes and
:class:`~books_async.BooksError`; nothing aiohttp-shaped escapes.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple, NoReturn, TypeVar, cast
from urllib.parse import unquote, urlsplit

import aiohttp
import orjson

from books_async._config import Timeout
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
    ServerError,
    ValidationError,
)
from books_async._limiter import Limiter, ReleasingLimiter
from books_async._logging import transport_log as log
from books_async._retry import RetryPolicy, parse_retry_after
from books_async._types import NOT_GIVEN, TimeoutArg
from books_async._version import __version__

__all__ = ["MAX_BODY_BYTES", "ByteStream", "RawAnswer", "Transport"]

T = TypeVar("T")

MAX_BODY_BYTES = 5 * 1024 * 1024
"""The API's request body limit (5 MB); larger bodies are refused before sending."""

AuthScheme = Literal["x-api-key", "bearer"]

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
    PayloadTooLargeError: "Send fewer items per request (the limit is 5 MB); the bulk helpers split for you.",
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
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an absolute http(s) URL; got {base_url!r}.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {base_url!r} is plain HTTP: the API key would travel unencrypted. "
            "Use https://, or http:// only to a loopback address (127.0.0.1, ::1, localhost)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment; got {base_url!r}.")
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


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()


async def _read_answer(response: aiohttp.ClientResponse) -> RawAnswer:
    return RawAnswer(response.status, response.headers, await response.read())


class _AlreadyDeletedError(Exception):
    """A retried DELETE met 404: an earlier attempt whose answer was lost did the deletion."""

    def __init__(self, answer: RawAnswer) -> None:
        self.answer = answer


class ByteStream:
    """A response body being received; read it with :meth:`chunks` inside :meth:`Transport.stream`."""

    __slots__ = ("_content_type", "_response", "content_length", "filename")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
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

    async def chunks(self, size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes, as they arrive.

        Raises:
            APIConnectionError: the connection broke mid-body.
            APITimeoutError: the server went silent for longer than the read timeout.
        """
        try:
            async for chunk in self._response.content.iter_chunked(size):
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise APITimeoutError("The download stalled; try again.") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"The download broke off ({type(exc).__name__}); try again.") from exc


class Transport:
    """Sends requests for one API key: auth, limiter, retries and error mapping.

    It owns its aiohttp session unless one is passed in; a borrowed session is never closed here.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        auth_scheme: AuthScheme,
        timeout: Timeout,
        limiter: Limiter,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if auth_scheme == "x-api-key":
            auth = {"x-api-key": api_key}
        elif auth_scheme == "bearer":
            auth = {"Authorization": f"Bearer {api_key}"}
        else:
            raise ConfigurationError(f"auth_scheme must be 'x-api-key' or 'bearer'; got {auth_scheme!r}.")
        self.base_url = base_url
        self.limiter = limiter
        self._release = limiter.release if isinstance(limiter, ReleasingLimiter) else _nothing
        self.retry = retry
        self._timeout = timeout
        self._client_timeouts: dict[Timeout, float | None] = {}
        self._sleep = sleep
        self._headers = {"Accept": "application/json", "User-Agent": _USER_AGENT, **auth}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self.requests_sent = 0
        """Attempts that reached the network, retries included (for the demo's summary and benchmarks)."""
        self.rate_limited = 0
        """429 answers met."""

    def __repr__(self) -> str:
        # Never the headers: they hold the key.
        return f"<Transport {self.base_url} closed={self._closed}>"

    # ---- lifecycle -------------------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("This BooksClient is closed; create a new one.")
        if self._session is None:
            # Made here, inside the running loop, so a client can be built at import time (FastAPI apps).
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300, enable_cleanup_closed=True),
                # aiohttp's own default is 300 s total; every request passes its own ClientTimeout anyway.
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout.connect),
                # Cookies would be state shared between calls that the API does not use.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            # aiohttp silently resends a GET or DELETE once when a connection drops. Ours must be the only
            # retry: it backs off, logs, and knows that a DELETE answered 404 after a lost answer succeeded.
            # (A private attribute, but listed in ClientSession's own ATTRS; absent, nothing changes.)
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Close the session if we made it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    # ---- requests --------------------------------------------------------------------------------------

    def _resolve_timeout(self, timeout: TimeoutArg) -> Timeout:
        if timeout is NOT_GIVEN:
            return self._timeout
        if timeout is None:
            return Timeout(connect=self._timeout.connect, read=self._timeout.read, total=None)
        if isinstance(timeout, Timeout):
            return timeout
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            return Timeout(connect=min(self._timeout.connect, timeout), read=timeout, total=timeout)
        raise ConfigurationError(f"timeout must be seconds, a Timeout or None; got {timeout!r}.")

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
            PayloadTooLargeError: ``body`` is over 5 MB; nothing was sent.
            APIStatusError: the API answered with an error (a subclass per status).
            OutcomeUnknownError: a POST failed after it may have been processed.
            APIConnectionError: no answer, after retries where they were safe.
        """
        try:
            return await self._call(method, path, params, body, extra_headers, timeout, _read_body)
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
            return await self._call(method, path, params, body, extra_headers, timeout, _read_answer)
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
        caller decides, since it may have written part of it somewhere).
        """
        opened: list[aiohttp.ClientResponse] = []

        async def keep_open(response: aiohttp.ClientResponse) -> ByteStream:
            opened.append(response)
            return ByteStream(response)

        body_stream = await self._call(method, path, params, None, None, timeout, keep_open, stream=True)
        try:
            yield body_stream
        finally:
            for response in opened:
                response.release()

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        body: bytes | None,
        extra_headers: Mapping[str, str] | None,
        timeout: TimeoutArg,
        on_success: Callable[[aiohttp.ClientResponse], Awaitable[T]],
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
            )
        headers = self._headers if body is None else self._json_headers
        if extra_headers:
            headers = _merge_headers(headers, extra_headers)
        session = self._get_session()
        limits = self._resolve_timeout(timeout)
        url = self.base_url + path
        query = self._params(params)
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
            try:
                if remaining <= 0:
                    raise APITimeoutError(f"{method} {path}: the call's {limits.total}s deadline passed.")
                client_timeout = aiohttp.ClientTimeout(
                    total=None if math.isinf(remaining) else remaining,
                    sock_connect=limits.connect,
                    sock_read=limits.read,
                )
                self.requests_sent += 1
                response = await self._send(session, method, url, path, query, body, headers, client_timeout)
                # The server saw this request before its answer reached us, so a slot counted from now is
                # exact (see _limiter). Attempts that got no answer are not released: they may yet arrive.
                self._release()
                try:
                    if response.status < 300:
                        log.debug("%s %s -> %d (attempt %d)", method, path, response.status, attempt + 1)
                        return await on_success(response)
                    raw = await response.read()
                finally:
                    if not stream:
                        response.release()
                if response.status == 404 and ambiguous_delete:
                    # An earlier attempt whose answer we lost did delete it: the caller's intent is met.
                    log.debug("%s %s -> 404 after an unanswered attempt: already deleted", method, path)
                    raise _AlreadyDeletedError(RawAnswer(response.status, response.headers, raw))
                self._raise_for_status(method, path, response.status, raw, response.headers)
            except BooksError as exc:
                delay = self.retry.delay_for(attempt, exc, method)
                if isinstance(exc, RateLimitError):
                    self.rate_limited += 1
                    if delay is not None:
                        self.limiter.penalise(exc.retry_after if exc.retry_after is not None else delay)
                outcome = exc.status if isinstance(exc, APIStatusError) else type(exc).__name__
                if delay is None or loop.time() + delay >= deadline:
                    log.debug("%s %s -> %s (attempt %d); not retried", method, path, outcome, attempt + 1)
                    if self.retry.outcome_unknown(exc, method):
                        raise OutcomeUnknownError(
                            f"{method} {path}: the connection failed after the request was sent, so the API "
                            "may have processed it. It was not retried, to avoid a duplicate: look the "
                            "object up (e.g. by its number) before sending again.",
                            method=method,
                            url=url,
                        ) from exc
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
        try:
            # Redirects are never followed: aiohttp would carry x-api-key to whatever host a redirect names.
            return await session.request(
                method,
                url,
                params=query,
                data=body,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=False,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(
                f"{method} {path}: connecting to the API timed out; nothing was sent.", request_sent=False
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise APIConnectionError(
                f"{method} {path}: could not connect to {self.base_url} ({exc.os_error.strerror or exc}); "
                "nothing was sent. Check the network and base_url.",
                request_sent=False,
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise APITimeoutError(f"{method} {path}: the API did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"{method} {path}: the connection failed ({type(exc).__name__}) before an answer came."
            ) from exc

    def _raise_for_status(
        self, method: str, path: str, status: int, raw: bytes, headers: Mapping[str, str]
    ) -> NoReturn:
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
        if 300 <= status < 400:
            location = headers.get("Location", "?")
            raise APIStatusError(
                f"{method} {path} -> {status}: redirected to {location}, not followed so the API key cannot "
                "leak to another host. Point base_url at the final address.",
                status=status,
                body=body,
                method=method,
                url=url,
            )
        text = f"{method} {path} -> {status}" + (f" {said}" if said else "") + "."
        hint = _HINTS.get(kind)
        if kind is RateLimitError:
            retry_after = parse_retry_after(body, headers, datetime.now(UTC))
            raise RateLimitError(
                f"{text} {hint}",
                status=status,
                body=body,
                method=method,
                url=url,
                retry_after=retry_after,
            )
        raise kind(f"{text} {hint}" if hint else text, status=status, body=body, method=method, url=url)

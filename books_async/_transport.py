"""The attempt loop: one call's attempts, each from the limiter's slot to the last byte of its answer.

This is the only module that sends with the aiohttp client (the session itself is :mod:`._session`'s).
Everything above it deals in paths, bytes and :class:`~books_async.BooksError`; nothing aiohttp-shaped
escapes. A failure anywhere in an attempt is translated in one place (``_failures``), the body is read
with a bound on memory (``_body``), the retry policy (``_retry``) decides whether to try again, and the
method and the status that arrived decide what the caller is told (``_status``).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from ssl import SSLContext
from typing import NamedTuple, TypeVar, Unpack

import aiohttp
import attrs

from books_async._auth import AuthScheme, Credentials, Secret, split_userinfo
from books_async._body import DEFAULT_MAX_RESPONSE_BYTES, UnreadableBody, read_body
from books_async._config import CallArgs, Timeout, ViewOptions, as_timeout
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BooksError,
    ClientClosedError,
    ConfigurationError,
    PayloadTooLargeError,
    RateLimitError,
)
from books_async._failures import TRANSPORT_ERRORS, Phase, translate
from books_async._limiter import Limiter, ReleasingLimiter
from books_async._logging import redact_url
from books_async._logging import transport_log as log
from books_async._retry import RetryPolicy, is_idempotent
from books_async._session import CLOSE_GRACE, Flight, SessionKeeper
from books_async._status import (
    ended_error,
    explain_timeout,
    outcome_unknown_error,
    status_error,
    unreadable_error,
)
from books_async._stream import ByteStream
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg
from books_async._wire import MAX_BODY_BYTES, USER_AGENT, encode_query, merge_headers, normalise_base_url

# The names importers of this module use, wherever they now live.
__all__ = [
    "CLOSE_GRACE",
    "MAX_BODY_BYTES",
    "AuthScheme",
    "ByteStream",
    "RawAnswer",
    "Transport",
    "normalise_base_url",
]

T = TypeVar("T")


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
        trust_env: bool = False,
        ssl: SSLContext | None = None,
        connector: aiohttp.BaseConnector | None = None,
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
        self._sessions = SessionKeeper(
            session, connect_timeout=timeout.connect, url=url, trust_env=trust_env, connector=connector
        )
        self._ssl: SSLContext | bool = True if ssl is None else ssl
        self._view_closed: bool | None = None
        """None for the client's own transport; for a view, whether the view was closed."""
        self._use_headers({"Accept": "application/json", "User-Agent": USER_AGENT})

    def _use_headers(self, headers: dict[str, str]) -> None:
        self._headers = headers
        self._json_headers = {**headers, "Content-Type": "application/json"}
        # The usual header sets, signed once so most calls build no dict. Attributes, never locals (_auth).
        self._signed = self._credentials.sign(self._headers)
        self._signed_json = self._credentials.sign(self._json_headers)

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} closed={self.closed}>"

    @property
    def requests_sent(self) -> int:
        """Attempts that reached the network, retries included (for the demo's summary and benchmarks)."""
        return self._sessions.requests_sent

    @property
    def rate_limited(self) -> int:
        """429 answers met."""
        return self._sessions.rate_limited

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called (on this view, or on the client all views share)."""
        return bool(self._view_closed) or self._sessions.closed

    async def aclose(self, grace: float = CLOSE_GRACE) -> None:
        """Close the client; close the session if we made it. Idempotent.

        Calls in flight get up to ``grace`` seconds to finish. Those still running then are ended: a POST
        that may have reached the API raises :class:`OutcomeUnknownError` (:class:`WriteAcceptedError` once
        its 2xx status arrived), anything else :class:`ClientClosedError`, and so does a stream's body.
        A view (:meth:`with_options`) only stops taking calls: the session and its calls are the client's.
        """
        if self._view_closed is None:
            await self._sessions.aclose(grace)
        else:
            self._view_closed = True

    def with_options(self, **options: Unpack[ViewOptions]) -> Transport:
        """A view with other defaults sharing this one's session, limiter, credentials and counters.

        Raises:
            ConfigurationError: a bad setting, or ``extra_headers`` naming an auth header.
        """
        unknown = sorted(options.keys() - ViewOptions.__optional_keys__)
        if unknown:
            raise ConfigurationError(
                f"with_options() has no option {', '.join(map(repr, unknown))}; it takes "
                f"{', '.join(sorted(ViewOptions.__optional_keys__))} and strict_responses."
            )
        view = copy.copy(self)
        view._view_closed = False
        view._timeout = self._resolve_timeout(options.get("timeout", NOT_GIVEN))
        view.retry = self._resolve_retry(options.get("max_retries", NOT_GIVEN))
        max_retry_wait = options.get("max_retry_wait", NOT_GIVEN)
        if not isinstance(max_retry_wait, NotGiven):
            view.retry = attrs.evolve(view.retry, max_retry_wait=max_retry_wait)
        if extra_headers := options.get("extra_headers"):
            view._use_headers(merge_headers(self._headers, extra_headers))
        return view

    def _resolve_timeout(self, timeout: TimeoutArg) -> Timeout:
        if timeout is NOT_GIVEN:
            return self._timeout
        if timeout is None:
            return Timeout(connect=self._timeout.connect, read=self._timeout.read, total=None)
        return as_timeout(timeout, self._timeout)

    def _resolve_retry(self, max_retries: int | NotGiven) -> RetryPolicy:
        if isinstance(max_retries, NotGiven):
            return self.retry
        return attrs.evolve(self.retry, max_retries=max_retries)

    async def request(self, method: str, path: str, **call: Unpack[CallArgs]) -> bytes:
        """Send one call (with retries) and return the body of its 2xx answer.

        ``extra_headers`` are added to (or replace) the client's own, except the auth headers;
        ``timeout`` and ``max_retries`` replace the client's for this call.

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
            return await self._call(method, path, call, self._body_of)
        except _AlreadyDeletedError:
            return b""

    async def request_raw(self, method: str, path: str, **call: Unpack[CallArgs]) -> RawAnswer:
        """Like :meth:`request`, returning the answer's status and headers with its body.

        A DELETE whose lost answer had already deleted the object answers with the 404 that showed it.
        """
        try:
            return await self._call(method, path, call, self._answer_of)
        except _AlreadyDeletedError as gone:
            return gone.answer

    @asynccontextmanager
    async def stream(self, method: str, path: str, **call: Unpack[CallArgs]) -> AsyncIterator[ByteStream]:
        """Open a call whose 2xx body is read incrementally, for downloads of any size.

        Getting the response is retried like :meth:`request`; a body that breaks off midway is not (the
        caller decides, since it may have written part of it somewhere). ``chunks(max_bytes=...)`` caps it.
        """
        body = await self._call(method, path, call, self._open_stream, stream=True)
        try:
            yield body
        finally:
            body._response.release()
            self._sessions.streams.discard(body._response)
            self._sessions.settle()

    async def _body_of(
        self, response: aiohttp.ClientResponse, method: str, path: str, limits: Timeout
    ) -> bytes:
        failed = self._body_failure(response, method, path, limits)
        return await read_body(response, self.max_response_bytes, failed)

    async def _answer_of(
        self, response: aiohttp.ClientResponse, method: str, path: str, limits: Timeout
    ) -> RawAnswer:
        return RawAnswer(
            response.status, response.headers, await self._body_of(response, method, path, limits)
        )

    async def _open_stream(
        self, response: aiohttp.ClientResponse, method: str, path: str, limits: Timeout
    ) -> ByteStream:
        self._sessions.streams.add(response)
        failed = self._body_failure(response, method, path, limits)
        return ByteStream(response, failed, self.base_url + path, method, path)

    def _body_failure(
        self, response: aiohttp.ClientResponse, method: str, path: str, limits: Timeout
    ) -> Callable[[BaseException], BooksError]:
        return functools.partial(
            self._failed, phase="body", method=method, path=path, status=response.status, limits=limits
        )

    async def _call(
        self,
        method: str,
        path: str,
        call: CallArgs,
        on_success: Callable[[aiohttp.ClientResponse, str, str, Timeout], Awaitable[T]],
        *,
        stream: bool = False,
    ) -> T:
        body = call.get("body")
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
        if extra_headers := call.get("extra_headers"):
            headers = merge_headers(headers, extra_headers)
        limits = self._resolve_timeout(call.get("timeout", NOT_GIVEN))
        retry = self._resolve_retry(call.get("max_retries", NOT_GIVEN))
        query = encode_query(call.get("params"))
        sessions = self._sessions
        if self.closed:
            raise ClientClosedError(
                "This BooksClient is closed; create a new one."
                if sessions.closed
                else "This view of the client (with_options) is closed; the client it came from is not."
            )
        idempotent = is_idempotent(method, path)
        flight = Flight(posted=not idempotent)
        task = asyncio.current_task()
        if task is not None:
            sessions.flights[task] = flight
        try:
            return await self._attempts(
                method, path, query, body, headers, limits, retry, on_success, stream, flight, idempotent
            )
        except asyncio.CancelledError:
            # uncancel() > 0: the task was cancelled by someone else too, and that must go on.
            if not flight.ended or task is None or task.uncancel() > 0:
                raise
        finally:
            if task is not None:
                del sessions.flights[task]
                sessions.settle()  # aclose() may be waiting for calls in flight
        # Only reached when aclose() ended this call; raised here, with no CancelledError as its context.
        raise ended_error(method, path, flight, base_url=self.base_url)

    async def _attempts(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: bytes | None,
        headers: dict[str, str],
        limits: Timeout,
        retry: RetryPolicy,
        on_success: Callable[[aiohttp.ClientResponse, str, str, Timeout], Awaitable[T]],
        stream: bool,
        flight: Flight,
        idempotent: bool,
    ) -> T:
        url = self._url + path
        sessions = self._sessions
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
                    passed = APITimeoutError(f"{method} {path}: the call's {limits.total}s deadline passed.")
                    raise explain_timeout(passed, "total", limits)
                session = await sessions.session_for(loop)
                sessions.requests_sent += 1
                flight.sent = True
                response = await self._send(
                    session, method, url, path, query, body, headers, limits, remaining
                )
                # The server saw this request before its answer reached us, so a slot counted from now is
                # exact (see _limiter). Attempts that got no answer are not released: they may yet arrive.
                self._release()
                flight.status = status = response.status
                broken: UnreadableBody | None = None
                try:
                    if status < 300:
                        log.debug("%s %s -> %d (attempt %d)", method, path, status, attempt + 1)
                        return await on_success(response, method, path, limits)
                    raw = await self._body_of(response, method, path, limits)
                except UnreadableBody as unreadable:
                    broken = unreadable
                finally:
                    # A body not read to its end closes the connection instead of returning it to the pool.
                    if not stream or status >= 300:
                        response.release()
                sent = len(body or b"")
                if broken is not None:
                    raise unreadable_error(
                        broken, method, path, response.headers, flight, sent, base_url=self.base_url
                    )
                if status == 404 and ambiguous_delete:
                    # An earlier attempt whose answer we lost did delete it: the caller's intent is met.
                    log.debug("%s %s -> 404 after an unanswered attempt: already deleted", method, path)
                    raise _AlreadyDeletedError(RawAnswer(status, response.headers, raw))
                raise status_error(method, path, status, raw, response.headers, sent, base_url=self.base_url)
            except BooksError as exc:
                delay = retry.delay_for(attempt, exc, method, idempotent=idempotent)
                if isinstance(exc, RateLimitError):
                    sessions.rate_limited += 1
                    if delay is not None:
                        self.limiter.penalise(exc.retry_after if exc.retry_after is not None else delay)
                outcome = exc.status if isinstance(exc, APIStatusError) else type(exc).__name__
                if delay is None or loop.time() + delay >= deadline:
                    log.debug("%s %s -> %s (attempt %d); not retried", method, path, outcome, attempt + 1)
                    if retry.outcome_unknown(exc, method, idempotent=idempotent):
                        raise outcome_unknown_error(method, path, exc, base_url=self.base_url) from exc
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
        limits: Timeout,
        remaining: float,
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
                timeout=aiohttp.ClientTimeout(
                    total=None if math.isinf(remaining) else remaining,
                    sock_connect=limits.connect,
                    sock_read=limits.read,
                ),
                allow_redirects=False,
                raise_for_status=False,
                middlewares=self._sessions.middlewares,
                proxy=self._sessions.proxy,
                proxy_headers=self._sessions.proxy_headers,
                ssl=self._ssl,
            )
        except asyncio.CancelledError as exc:
            cancelled = exc.args
        except TRANSPORT_ERRORS as exc:
            failure = self._failed(exc, phase="send", method=method, path=path, status=None, limits=limits)
        if failure is not None:
            raise failure
        # A fresh CancelledError, raised outside aiohttp's frames: their locals hold the request headers, and
        # a caller's asyncio.timeout() chains the CancelledError as the cause of the TimeoutError it raises.
        raise asyncio.CancelledError(*cancelled)

    def _failed(
        self, exc: BaseException, *, phase: Phase, method: str, path: str, status: int | None, limits: Timeout
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
        if self.closed and phase == "body" and not isinstance(error, ConfigurationError):
            # aclose() closed the connection under a stream whose body was still being read.
            closed = ClientClosedError(
                f"{method} {path}: the client was closed (aclose()) while this answer's body was being read."
            )
            closed.__cause__ = error.__cause__
            return closed
        if isinstance(error, APITimeoutError):
            fired = (
                "connect"
                if isinstance(exc, aiohttp.ConnectionTimeoutError)
                else "read"
                if isinstance(exc, aiohttp.SocketTimeoutError)
                else "total"
            )
            return explain_timeout(error, fired, limits)
        return error

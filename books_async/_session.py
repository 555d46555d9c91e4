"""The aiohttp session's lifecycle: made on first use in the running loop, shared, closed once.

:class:`SessionKeeper` holds the session (ours, or the caller's, which is never closed here), the calls in
flight and the streams being read, so that :meth:`SessionKeeper.aclose` can let them finish for a grace
period and then end them. One keeper serves a client and every view of it made by ``with_options``.

With ``trust_env``, a session of ours sends through the proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for the
API's address, unless ``NO_PROXY`` exempts it; the environment is read once, when the session is made.
A loopback API address is only sent through a proxy that is itself on loopback: a proxy on another host
cannot reach this one's 127.0.0.1. Rationale: ``docs/design/proxies-and-tls.md``.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import final

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from books_async._exceptions import ClientClosedError, ConfigurationError
from books_async._failures import no_silent_resend
from books_async._logging import transport_log as log
from books_async._wire import is_loopback

__all__ = ["CLOSE_GRACE", "Flight", "SessionKeeper", "new_connector"]

CLOSE_GRACE = 5.0
"""Seconds :meth:`SessionKeeper.aclose` lets calls in flight finish before it ends them."""

# Once aclose() has ended the calls still in flight, how long it waits for their tasks to unwind (each only
# has to reach its next await) before closing the session under them.
_UNWIND = 1.0


@final
class Flight:
    """A call in progress, as :meth:`SessionKeeper.aclose` needs to know it to end it."""

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


class SessionKeeper:
    """The session every call of a client (and of its views) is sent with, and the calls using it."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        *,
        connect_timeout: float | None,
        url: str = "",
        trust_env: bool = False,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        if connector is not None and not isinstance(connector, aiohttp.BaseConnector):
            raise ConfigurationError(
                "connector must be an aiohttp connector (e.g. aiohttp.TCPConnector()); "
                f"got {type(connector).__name__}."
            )
        if connector is not None and session is not None:
            raise ConfigurationError(
                "Pass session= or connector=, not both: a session= brings its own connector."
            )
        self._session = session
        self._connector = connector
        self._owns_session = session is None
        self._connect_timeout = connect_timeout
        self._url = url
        self._trust_env = trust_env
        self.proxy: URL | None = None
        """The proxy our session sends through (from the environment), if any."""
        self.proxy_headers: dict[str, str] | None = None
        """The proxy's credentials, as a header to it (never to the API)."""
        # aiohttp keeps a session's loop private (its public `loop` property is deprecated).
        self._session_loop: asyncio.AbstractEventLoop | None = getattr(session, "_loop", None)
        # A session of ours has aiohttp's silent resend switched off (_new_session); a borrowed one is not
        # ours to change, so each of our requests gets the middleware that stops it. aiohttp lets per-request
        # middlewares replace the session's, so the session's own run first, as they would have.
        self.middlewares: tuple[aiohttp.ClientMiddlewareType, ...] | None = (
            None if session is None else (*getattr(session, "_middlewares", ()), no_silent_resend)
        )
        self.closed = False
        """Whether :meth:`aclose` was called."""
        self.flights: dict[asyncio.Task[object], Flight] = {}
        self.streams: set[aiohttp.ClientResponse] = set()
        self._idle: asyncio.Event | None = None
        self.requests_sent = 0
        """Attempts that reached the network, retries included (for the demo's summary and benchmarks)."""
        self.rate_limited = 0
        """429 answers met."""

    async def session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        """The session to send with in ``loop``: ours, made on first use, or a new one for a new loop.

        Raises:
            ClientClosedError: this client, or the session passed in, is closed.
            ConfigurationError: the session belongs to another event loop that is still open.
        """
        session = self._session
        if session is not None and not session.closed and self._session_loop is loop:
            return session
        if self.closed:
            raise ClientClosedError("This BooksClient is closed; create a new one.")
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
        shared = self._connector
        if shared is not None and getattr(shared, "_loop", loop) is not loop:
            raise ConfigurationError(
                "The aiohttp connector passed as BooksClient(connector=...) belongs to another event loop. "
                "Make the connector, and the clients sharing it, in the event loop that uses them."
            )
        auth: aiohttp.BasicAuth | None = None
        if self._trust_env:
            # Read off the loop: the lookup may read ~/.netrc for the proxy's credentials.
            self.proxy, auth = await asyncio.to_thread(env_proxy, self._url)
            # Concurrent first calls all wait here: the first one back makes the session, the rest use it
            # (a second session would be dropped unclosed, and its connections with it).
            made = self._session
            if made is not None and not made.closed and self._session_loop is loop:
                return made
        session = self._new_session()
        if auth is not None:
            if URL(self._url).scheme == "https":
                self.proxy_headers = {"Proxy-Authorization": auth.encode()}  # on the CONNECT, to the proxy
            else:
                # A plain-http request goes to the proxy whole; aiohttp adds no proxy_headers to it.
                self.middlewares = (*(self.middlewares or ()), _proxy_credentials(auth.encode()))
        self._session, self._session_loop = session, loop
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        # Made here, inside the running loop, so a client can be built at import time (FastAPI apps).
        shared = self._connector
        if shared is not None and shared.closed:
            raise ClientClosedError(
                "The aiohttp connector passed as BooksClient(connector=...) was closed by its owner."
            )
        session = aiohttp.ClientSession(
            connector=shared
            or aiohttp.TCPConnector(limit=100, ttl_dns_cache=300, enable_cleanup_closed=True),
            # A shared connector is its owner's to close (e.g. BooksClients.aclose), never one client's.
            connector_owner=shared is None,
            # aiohttp's own default is 300 s total; every request passes its own ClientTimeout anyway.
            timeout=aiohttp.ClientTimeout(total=None, connect=self._connect_timeout),
            # Cookies would be state shared between calls that the API does not use; over a shared connector
            # they would also carry one organisation's cookies (the vendor's Auth.js) into another's calls.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # aiohttp silently resends a GET or DELETE once when a connection drops. Ours must be the only
        # retry: it waits for the limiter, backs off, logs, and knows that a DELETE answered 404 after a lost
        # answer succeeded. The flag is private (though listed in ClientSession's ATTRS) and costs nothing
        # per request; an aiohttp without it gets the middleware borrowed sessions get.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        else:
            self.middlewares = (no_silent_resend,)
        return session

    async def aclose(self, grace: float = CLOSE_GRACE) -> None:
        """Close the client; close the session if we made it. Idempotent.

        Calls in flight get up to ``grace`` seconds to finish; those still running then are ended (each
        raises what :func:`books_async._status.ended_error` says), and so are streams' bodies.
        """
        if self.closed:
            return
        self.closed = True
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
        return bool(self.streams) or any(task.get_loop() is loop for task in self.flights)

    def settle(self) -> None:
        """Note that a call or stream ended: aclose() may be waiting for the last of them."""
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
            for task, flight in list(self.flights.items()):
                if task.get_loop() is loop and not task.done():
                    flight.ended = True
                    task.cancel()
                    ended += 1
            for response in list(self.streams):
                response.close()
            streams = len(self.streams)
            log.debug("aclose(): ended %d call(s) and %d stream(s) after %.1fs", ended, streams, grace)
            with suppress(TimeoutError):
                async with asyncio.timeout(_UNWIND):
                    await idle.wait()
        finally:
            self._idle = None


def new_connector(limit: int) -> aiohttp.TCPConnector:
    """A connection pool of at most ``limit`` connections, made in the running loop."""
    return aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300, enable_cleanup_closed=True)


def _proxy_credentials(value: str) -> aiohttp.ClientMiddlewareType:
    async def add(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        request.headers["Proxy-Authorization"] = value
        return await handler(request)

    return add


def env_proxy(url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url`` and its credentials; ``(None, None)`` for none."""
    target = URL(url)
    try:
        proxy, auth = get_env_proxy_for_url(target)
    except LookupError:  # no proxy for this scheme, or NO_PROXY exempts the host
        return None, None
    if is_loopback(target.host) and not is_loopback(proxy.host):
        return None, None
    return proxy, auth

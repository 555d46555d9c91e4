"""``BooksClients``: one client per organisation, all over one shared connection pool, closed together.

The API's quota is per organisation, so a platform invoicing for many organisations holds one client (and
one limiter) per API key. What they share is the aiohttp *connector* (the connection pool), not a session:
a session carries a cookie jar, and cookies set by one organisation's answers must never be sent with
another's calls. Each client makes its own cookie-less session on the shared connector, lazily, on its
first call. Keys are held only inside the clients (whose reprs redact them); the pool indexes them by a
SHA-256 digest, so neither its repr nor its dict shows a key. Rationale: the README, "Many organisations
and many workers".
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from books_async._auth import Secret
from books_async._client import BooksClient
from books_async._config import DEFAULT_MAX_RETRIES, DEFAULT_RATE_LIMIT, DEFAULT_TIMEOUT, RateLimit, Timeout
from books_async._exceptions import ClientClosedError, ConfigurationError
from books_async._limiter import Limiter
from books_async._logging import redact_url
from books_async._session import new_connector
from books_async._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    import aiohttp

__all__ = ["BooksClients"]


class BooksClients:
    """Clients for many API keys (one per organisation) sharing one connection pool.

    ``async with BooksClients(base_url=...) as clients: await clients.get(key).invoices.list()``. Each
    key's client is made on first :meth:`get` and kept; :meth:`aclose` closes every one of them, then the
    pool. Build it anywhere; call :meth:`get` in the event loop that uses the clients (the pool is made
    there, on the first call). One event loop at a time.

    Args:
        base_url: the API's address, for every client (see :class:`BooksClient`).
        rate_limit: each organisation's quota (default 100 a minute); each key gets its own limiter, the
            process-wide one for that key. ``None`` turns client-side limiting off.
        limiter: instead, a function making the limiter for a key, e.g. a
            :class:`books_async.limiters.RedisRateLimiter` per organisation shared by several processes.
            It is called once per key. Not with ``rate_limit``.
        max_connections: the most connections open at once, over all clients (default 100).
        timeout, max_retries, auth_scheme, strict_responses: as for :class:`BooksClient`, for every client.

    Raises:
        ConfigurationError: a bad setting; raised here, before any I/O.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        rate_limit: RateLimit | NotGiven | None = NOT_GIVEN,
        limiter: Callable[[str], Limiter] | None = None,
        max_connections: int = 100,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        auth_scheme: Literal["x-api-key", "bearer"] = "x-api-key",
        strict_responses: bool = False,
    ) -> None:
        if limiter is not None and rate_limit is not NOT_GIVEN:
            raise ConfigurationError("Pass rate_limit= or limiter=, not both: limiter= makes each quota.")
        if limiter is not None and not callable(limiter):
            raise ConfigurationError(
                "limiter must be a function of the API key returning a Limiter; "
                f"got {type(limiter).__name__}."
            )
        cap: object = max_connections
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ConfigurationError(f"max_connections must be a positive integer; got {max_connections!r}.")
        self._base_url = base_url
        self._rate_limit: RateLimit | None = (
            DEFAULT_RATE_LIMIT if isinstance(rate_limit, NotGiven) else rate_limit
        )
        self._make_limiter = limiter
        self._max_connections = max_connections
        self._timeout = timeout
        self._max_retries = max_retries
        self._auth_scheme = auth_scheme
        self._strict_responses = strict_responses
        self._clients: dict[bytes, BooksClient] = {}
        self._connector: aiohttp.TCPConnector | None = None
        self._closed = False

    def get(self, api_key: str) -> BooksClient:
        """The client for ``api_key``: made on the first call (on the shared pool), the same one after.

        Raises:
            ClientClosedError: :meth:`aclose` was called.
            ConfigurationError: an empty key, a bad ``base_url``, or no running event loop.
        """
        key = Secret(api_key)
        del api_key  # error trackers print a failing frame's locals: the key lives only in `key`
        if self._closed:
            raise ClientClosedError("These BooksClients are closed; create new ones.")
        digest = hashlib.sha256(key.reveal().encode()).digest()
        client = self._clients.get(digest)
        if client is not None:
            return client
        if self._connector is None or self._connector.closed:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise ConfigurationError(
                    "BooksClients.get() makes the shared connection pool in the running event loop: call it "
                    "from async code (e.g. inside `async with BooksClients(...)`)."
                ) from None
            self._connector = new_connector(self._max_connections)
        make = functools.partial(
            BooksClient,
            base_url=self._base_url,
            connector=self._connector,
            timeout=self._timeout,
            max_retries=self._max_retries,
            auth_scheme=self._auth_scheme,
            strict_responses=self._strict_responses,
        )
        if self._make_limiter is None:
            client = make(key.reveal(), rate_limit=self._rate_limit)
        else:
            client = make(key.reveal(), limiter=self._make_limiter(key.reveal()))
        self._clients[digest] = client
        return client

    def __len__(self) -> int:
        return len(self._clients)

    @property
    def connector(self) -> aiohttp.BaseConnector | None:
        """The shared connection pool (None until the first :meth:`get`)."""
        return self._connector

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Close every client (calls in flight get their grace period), then the shared pool. Idempotent."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        try:
            await asyncio.gather(*(client.aclose() for client in clients))
        finally:
            connector, self._connector = self._connector, None
            if connector is not None:
                await connector.close()

    async def __aenter__(self) -> BooksClients:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        where = redact_url(self._base_url) if self._base_url else "default base_url"
        return f"<BooksClients clients={len(self._clients)} base_url={where!r} keys=[redacted]>"

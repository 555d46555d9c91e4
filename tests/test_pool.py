"""BooksClients (books_async._pool): one client per organisation over one shared connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from books_async import (
    BooksClient,
    BooksClients,
    ClientClosedError,
    ConfigurationError,
    Limiter,
    RateLimit,
    SlidingWindowLimiter,
)
from books_async.sandbox import serve

SECRET = "sk_live_do_not_leak_pool_0123456789"  # noqa: S105  # a fake key the tests hunt for


class CookieServer:
    """Sets an Auth.js-style session cookie on every answer; records each request's key, Cookie, peer port."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, int]] = []
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("x-api-key", "")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append((key, request.headers.get("Cookie"), int(peer[1]) if peer else -1))
        answer = web.json_response({"org_id": None, "org_name": None, "role": None})
        answer.set_cookie("authjs.session-token", f"session-of-{key}", path="/")
        return answer


@asynccontextmanager
async def cookie_server() -> AsyncIterator[CookieServer]:
    server = CookieServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    # By name: aiohttp's cookie jar keeps no cookies for a bare IP address, which would hide a leak.
    server.base_url = f"http://localhost:{runner.addresses[0][1]}/api/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


def session_of(client: BooksClient) -> aiohttp.ClientSession:
    session = client._transport._sessions._session
    assert session is not None, "the client has made no session yet"
    return session


async def test_clients_of_two_orgs_share_one_connector_when_both_call() -> None:
    """Two organisations' clients send through the pool's one connector, each from its own session."""
    async with serve(organisations=2) as sb, BooksClients(base_url=sb.base_url) as clients:
        (org_a, key_a), (org_b, key_b) = sb.organisations.items()
        a, b = clients.get(key_a), clients.get(key_b)
        assert (await a.validate.context()).org_id == org_a
        assert (await b.validate.context()).org_id == org_b
        assert clients.connector is not None
        assert session_of(a) is not session_of(b)
        assert session_of(a).connector is clients.connector
        assert session_of(b).connector is clients.connector
        assert clients.get(key_a) is a
        assert len(clients) == 2


async def test_connections_are_reused_across_orgs_when_calls_alternate() -> None:
    """Calls of two organisations, one after another, go over the same kept-alive TCP connection."""
    async with cookie_server() as server, BooksClients(base_url=server.base_url, rate_limit=None) as clients:
        for key in ("key-a", "key-b", "key-a", "key-b"):
            await clients.get(key).validate.context()
    ports = {port for _, _, port in server.seen}
    assert [key for key, _, _ in server.seen] == ["key-a", "key-b", "key-a", "key-b"]
    assert len(ports) == 1, f"expected one pooled connection, the server saw ports {ports}"


async def test_cookies_set_for_one_org_are_never_sent_when_another_calls() -> None:
    """A Set-Cookie in one organisation's answer is sent by no client: not another org's, nor its own."""
    async with cookie_server() as server:
        # The control: a plain session on the same connector would replay the cookie to every caller.
        async with aiohttp.ClientSession() as plain:
            for _ in range(2):
                async with plain.get(server.base_url + "/validate/context", headers={"x-api-key": "k"}):
                    pass
        assert server.seen[1][1] == "authjs.session-token=session-of-k"
        server.seen.clear()
        async with BooksClients(base_url=server.base_url, rate_limit=None) as clients:
            for key in ("key-a", "key-b", "key-a", "key-b"):
                await clients.get(key).validate.context()
    assert len(server.seen) == 4
    assert [cookie for _, cookie, _ in server.seen] == [None, None, None, None]


async def test_limiters_are_independent_per_org_when_one_is_full() -> None:
    """One organisation's full window holds back its own next call, never another organisation's calls."""
    async with (
        serve(organisations=2, rate_limit=None) as sb,
        BooksClients(base_url=sb.base_url, rate_limit=RateLimit(3, 60.0)) as clients,
    ):
        key_a, key_b = sb.organisations.values()
        a, b = clients.get(key_a), clients.get(key_b)
        assert a.limiter is not b.limiter
        for _ in range(3):
            await a.validate.context()
        held = asyncio.create_task(a.validate.context())
        for _ in range(3):
            await asyncio.wait_for(b.validate.context(), 30)  # a guard against a hang, not a timing claim
        limiter_a, limiter_b = a.limiter, b.limiter
        assert isinstance(limiter_a, SlidingWindowLimiter)
        assert isinstance(limiter_b, SlidingWindowLimiter)
        assert (limiter_a.occupied, limiter_a.waiting) == (3, 1)
        assert (limiter_b.occupied, limiter_b.waiting) == (3, 0)
        assert not held.done()
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        assert a.requests_sent == 3
        assert b.requests_sent == 3


async def test_limiter_factory_is_called_once_per_key_when_given() -> None:
    """limiter= makes each key's limiter once; the client of that key uses it."""
    made: list[Limiter] = []

    def make(key: str) -> Limiter:
        limiter = SlidingWindowLimiter(RateLimit(10, 60.0))
        made.append(limiter)
        return limiter

    async with serve(organisations=2) as sb, BooksClients(base_url=sb.base_url, limiter=make) as clients:
        key_a, key_b = sb.organisations.values()
        first = clients.get(key_a)
        assert clients.get(key_a) is first
        second = clients.get(key_b)
        await second.validate.context()
    assert [first.limiter, second.limiter] == made


async def test_aclose_closes_every_session_and_the_connector_when_called() -> None:
    """aclose() closes each client and its session, then the shared connector; get() then refuses."""
    async with serve(organisations=3) as sb:
        clients = BooksClients(base_url=sb.base_url)
        made = [clients.get(key) for key in sb.organisations.values()]
        for client in made:
            await client.validate.context()
        sessions = [session_of(client) for client in made]
        connector = clients.connector
        assert connector is not None
        await clients.aclose()
        await clients.aclose()  # idempotent
    assert all(client.closed for client in made)
    assert all(session.closed for session in sessions)
    assert connector.closed
    assert clients.closed
    assert len(clients) == 0
    with pytest.raises(ClientClosedError):
        clients.get(SECRET)


async def test_client_leaves_a_connector_open_when_closed() -> None:
    """A BooksClient given connector= closes its own session but not the caller's connector."""
    async with serve() as sb:
        connector = aiohttp.TCPConnector()
        try:
            async with BooksClient(sb.api_key, base_url=sb.base_url, connector=connector) as books:
                await books.validate.context()
                session = session_of(books)
            assert session.closed
            assert not connector.closed
        finally:
            await connector.close()


async def test_key_never_shown_when_pool_is_printed_or_refuses() -> None:
    """Neither the pool's repr nor its errors show a key (keys are held as digests)."""
    clients = BooksClients(base_url="http://127.0.0.1:9/api/v1")
    client = clients.get(SECRET)
    assert SECRET not in repr(clients)
    assert SECRET not in repr(client)
    assert all(SECRET not in repr(k) for k in clients._clients)
    await clients.aclose()
    with pytest.raises(ClientClosedError) as caught:
        clients.get(SECRET)
    assert SECRET not in str(caught.value)


def test_get_is_refused_when_no_event_loop_runs() -> None:
    """get() outside async code is a ConfigurationError naming the fix, before any connection."""
    clients = BooksClients(base_url="http://127.0.0.1:9/api/v1")
    with pytest.raises(ConfigurationError, match="running event loop") as caught:
        clients.get(SECRET)
    assert SECRET not in str(caught.value)


def test_bad_settings_are_refused_when_pool_is_built() -> None:
    """Bad pool settings raise ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match="max_connections"):
        BooksClients(max_connections=0)
    with pytest.raises(ConfigurationError, match="rate_limit= or limiter="):
        BooksClients(
            rate_limit=RateLimit(5, 1.0), limiter=lambda key: SlidingWindowLimiter(RateLimit(5, 1.0))
        )
    with pytest.raises(ConfigurationError, match="limiter must be a function"):
        BooksClients(limiter=SlidingWindowLimiter(RateLimit(5, 1.0)))  # type: ignore[arg-type]


async def test_connector_with_session_is_refused_when_client_is_built() -> None:
    """connector= with session=, or a connector= that is not one, is refused before any request."""
    connector = aiohttp.TCPConnector()
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(ConfigurationError, match="session= or connector="):
                BooksClient(
                    SECRET, base_url="http://127.0.0.1:9/api/v1", session=session, connector=connector
                )
        with pytest.raises(ConfigurationError, match="connector must be an aiohttp connector"):
            BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", connector="pool")  # type: ignore[arg-type]
    finally:
        await connector.close()

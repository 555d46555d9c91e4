"""Servers on 127.0.0.1 that misbehave on purpose, for the transport's failure tests.

- Actions for :mod:`tests.scripted_server`: a body cut short, a body that stalls mid-way, and bodies far
  larger than any answer (2 GB, endless, a gzip bomb), generated block by block as they are sent, never
  held in memory, with a :class:`Meter` counting the bytes the server managed to hand to the socket.
- :func:`raw_server`: a bare asyncio server for answers aiohttp's own server cannot make (a malformed status
  line, broken chunked framing, a gzip body that is not gzip).
- :func:`gateway`: a reverse proxy that forwards a request to its upstream (the sandbox), so the API really
  processes it, and then answers with a status of its own, as a failing load balancer does.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import attrs
import orjson
from aiohttp import web

from tests.scripted_server import Action

__all__ = [
    "GIB",
    "MIB",
    "Gateway",
    "Meter",
    "RawServer",
    "cut_body",
    "flood",
    "gateway",
    "gzip_bomb",
    "raw_server",
    "stall_body",
    "stall_head",
]

MIB = 1024 * 1024
GIB = 1024 * MIB

_BLOCK = b'{"filler":"' + b"x" * (64 * 1024 - 14) + b'"},'


@attrs.define
class Meter:
    """What a generated body's server wrote before the client stopped reading."""

    written: int = 0
    """Bytes handed to the socket (the client read at most these)."""
    stopped: asyncio.Event = attrs.field(factory=asyncio.Event)
    """Set once the server stopped writing (the client went away, or the body was complete)."""


def cut_body(status: int = 200, *, declared: int = 1000, sent: bytes = b'{"_id": "65a1b2') -> Action:
    """Declare ``declared`` bytes, send ``sent``, then close the connection."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        response.content_length = declared
        await response.prepare(request)
        await response.write(sent)
        assert request.transport is not None
        request.transport.close()  # flushes what was written, then closes: the body stays short
        return response

    return act


async def _silent(request: web.Request, seconds: float) -> None:
    """Say nothing for ``seconds``, or until the client hangs up (so the server's shutdown need not wait)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    # aiohttp's server signals no disconnect to a handler that is not reading; the transport tells.
    while loop.time() < until and request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def stall_head(seconds: float) -> Action:
    """Read the request, then answer nothing at all for ``seconds``."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        await _silent(request, seconds)
        return web.Response(status=504)

    return act


def stall_body(seconds: float, status: int = 200, *, sent: bytes = b'{"_id": "65a1b2') -> Action:
    """Send the status line, headers and ``sent`` at once, then nothing for ``seconds``."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        response.content_length = len(sent) + 10
        await response.prepare(request)
        await response.write(sent)
        await _silent(request, seconds)
        return response

    return act


def flood(meter: Meter, status: int = 200, *, declared: int | None = None) -> Action:
    """Send 64 KiB blocks until the client goes away: ``declared`` bytes said, or chunked and endless."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        if declared is None:
            response.enable_chunked_encoding()
        else:
            response.content_length = declared
        try:
            await response.prepare(request)
            while declared is None or meter.written + len(_BLOCK) <= declared:
                await response.write(_BLOCK)  # waits while the client's socket is full: flow control
                meter.written += len(_BLOCK)
        except (ConnectionError, OSError):
            pass  # the client stopped reading and closed: what we wanted to see
        finally:
            meter.stopped.set()
        return response

    return act


def gzip_bomb(meter: Meter, *, inflated: int) -> Action:
    """A 200 whose gzip body inflates to ``inflated`` bytes; ``meter`` counts the compressed bytes sent."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        response.enable_chunked_encoding()
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
        try:
            await response.prepare(request)
            for _ in range(inflated // len(_BLOCK)):
                piece = packer.compress(_BLOCK)
                if piece:
                    await response.write(piece)
                    meter.written += len(piece)
            tail = packer.flush()
            await response.write(tail)
            meter.written += len(tail)
        except (ConnectionError, OSError):
            pass
        finally:
            meter.stopped.set()
        return response

    return act


@attrs.define
class RawServer:
    """A bare asyncio server that answers every request with the same bytes, then closes."""

    base_url: str
    requests: int = 0


@asynccontextmanager
async def raw_server(*answer: bytes) -> AsyncIterator[RawServer]:
    """Serve ``answer`` (status line, headers and body, as bytes) to every request on 127.0.0.1.

    Given in several parts, each part is sent on its own, a moment after the one before: the client then
    reads the status line before it meets what follows, as it would across a real network.
    """
    server_state = RawServer(base_url="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            server_state.requests += 1
            for index, part in enumerate(answer):
                if index:
                    await asyncio.sleep(0.05)
                writer.write(part)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server_state.base_url = f"http://127.0.0.1:{port}/api/v1"
    try:
        yield server_state
    finally:
        server.close()
        await server.wait_closed()


@attrs.define
class Gateway:
    """A proxy in front of an upstream; each scripted status answers one request *after* forwarding it."""

    base_url: str
    failures: dict[tuple[str, str], deque[int]] = attrs.field(factory=lambda: defaultdict(deque))
    forwarded: list[tuple[str, str]] = attrs.field(factory=list)
    """(method, path below /api/v1) of every request forwarded, in order."""

    def fail(self, method: str, path: str, *statuses: int) -> None:
        """Answer the next requests to ``method path`` with ``statuses``, once each, after forwarding them."""
        self.failures[(method, path)].extend(statuses)


@asynccontextmanager
async def gateway(upstream: str) -> AsyncIterator[Gateway]:
    """Run a :class:`Gateway` on 127.0.0.1 in front of ``upstream`` (a base URL ending in /api/v1)."""
    state = Gateway(base_url="")
    session = aiohttp.ClientSession()

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v1")
        body = await request.read()
        # The key is forwarded like any header and never recorded: only method and path are kept.
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(
            request.method,
            upstream + path,
            params=request.query,
            data=body or None,
            headers=headers,
            allow_redirects=False,
        ) as answer:
            content = await answer.read()
            state.forwarded.append((request.method, path))
            queue = state.failures.get((request.method, path))
            if queue:
                status = queue.popleft()
                return web.Response(
                    status=status,
                    body=orjson.dumps({"error": "bad_gateway", "message": "upstream connection reset"}),
                    content_type="application/json",
                )
            return web.Response(
                status=answer.status,
                body=content,
                headers={"Content-Type": answer.headers.get("Content-Type", "application/json")},
            )

    app = web.Application(client_max_size=64 * MIB)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1"
    try:
        yield state
    finally:
        await runner.cleanup()
        await session.close()

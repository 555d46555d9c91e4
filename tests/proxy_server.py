"""A small forward proxy on 127.0.0.1 for tests: CONNECT tunnels for https, absolute-form for plain http.

It is a real proxy over real sockets, recording each request it was asked to carry (method, target, and
whether it carried proxy credentials), so a test asserts that a call went through it, or did not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import attrs


@attrs.define
class Carried:
    """One request the proxy was asked to carry."""

    method: str
    target: str
    proxy_authorization: str | None


@attrs.define
class Proxy:
    """The running proxy: its URL and what it carried."""

    url: str = ""
    carried: list[Carried] = attrs.Factory(list)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


async def _splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_pipe(client[0], upstream[1]))
        tg.create_task(_pipe(upstream[0], client[1]))


@asynccontextmanager
async def forward_proxy() -> AsyncIterator[Proxy]:
    """Run a forward proxy on a free port of 127.0.0.1; every target host is reached on 127.0.0.1."""
    proxy = Proxy()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ")
            headers = dict(line.split(": ", 1) for line in header_lines if line)
            credentials = next((v for k, v in headers.items() if k.lower() == "proxy-authorization"), None)
            proxy.carried.append(Carried(method, target, credentials))
            if method == "CONNECT":
                _, _, port = target.rpartition(":")
                upstream = await asyncio.open_connection("127.0.0.1", int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await _splice((reader, writer), upstream)
                return
            parts = urlsplit(target)
            upstream = await asyncio.open_connection("127.0.0.1", parts.port or 80)
            origin_form = parts.path + (f"?{parts.query}" if parts.query else "")
            kept = [
                f"{k}: {v}"
                for k, v in headers.items()
                if not k.lower().startswith("proxy-") and k.lower() != "connection"
            ]
            # One request per connection, so each is recorded: the server closes after answering.
            forwarded = "\r\n".join([f"{method} {origin_form} {version}", *kept, "Connection: close", "", ""])
            upstream[1].write(forwarded.encode("latin-1"))
            await _splice((reader, writer), upstream)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        server.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await server.wait_closed()

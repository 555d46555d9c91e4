"""A hostile gateway in front of the sandbox: what sits between the SDK and the live API on a bad day.

It forwards each request to its upstream (the sandbox), which processes it, and then may answer the client
as a failing gateway or a strict platform would:

- ``after``: the upstream did the work, but the client gets 500, 502 or 504 (a JSON or a text body);
- ``drop``: the upstream did the work, and the connection is closed without an answer;
- ``cut``: the upstream's answer starts, with its full ``Content-Length``, and breaks off half-way;
- ``max_request_bytes``: a front door stricter than the API, answering 413 in text
  (``FUNCTION_PAYLOAD_TOO_LARGE``, as Vercel does) to a bigger body, which is not forwarded;
- ``max_response_bytes``: the platform's limit on answers: the work is done, then the client gets a text
  500 (``FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE``) instead of a bigger answer.

Faults are drawn from a seeded random stream, for the requests ``faulty(method, path)`` picks (POSTs by
default). Every request is recorded as ``(method, path, what happened)``; never headers or bodies.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
import attrs
import orjson
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["Gateway", "GatewayFaults", "gateway"]

_NOT_FORWARDED = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "host",
        "keep-alive",
        "accept-encoding",
        "transfer-encoding",
        "upgrade",
    }
)


def posts(method: str, path: str) -> bool:
    """The default choice of faulty requests: every POST."""
    return method == "POST"


@attrs.frozen(kw_only=True)
class GatewayFaults:
    """Probabilities of each fault, and the limits of the front door and of answers."""

    after: float = 0.0
    statuses: tuple[int, ...] = (500, 502, 504)
    drop: float = 0.0
    cut: float = 0.0
    max_request_bytes: int | None = None
    max_response_bytes: int | None = None
    faulty: Callable[[str, str], bool] = posts
    seed: int = 1


class Gateway:
    """A running gateway: its base URL, and what it did with each request."""

    def __init__(self, upstream_base_url: str, faults: GatewayFaults) -> None:
        parts = urlsplit(upstream_base_url)
        self.upstream_root = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")
        self.faults = faults
        self.base_url = ""
        self.log: list[tuple[str, str, str]] = []
        """``(method, path, outcome)`` per request: ``forwarded``, ``500``/``502``/``504``, ``drop``, ``cut``,
        ``413``, ``answer-too-big`` or ``upstream-dropped`` (answered 502)."""
        self._random = random.Random(faults.seed)  # noqa: S311  # reproducible faults, not secrets
        self._session: aiohttp.ClientSession | None = None

    def count(self, outcome: str, *, path_endswith: str = "") -> int:
        """How many requests (to paths ending so) met ``outcome``."""
        return sum(1 for _, path, seen in self.log if seen == outcome and path.endswith(path_endswith))

    def outcomes(self) -> Counter[str]:
        return Counter(seen for _, _, seen in self.log)

    def _draw(self, method: str, path: str) -> str:
        f = self.faults
        if not f.faulty(method, path):
            return "forwarded"
        roll = self._random.random()
        for name, p in (("after", f.after), ("drop", f.drop), ("cut", f.cut)):
            if roll < p:
                return name
            roll -= p
        return "forwarded"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        method, path = request.method, request.path
        limit = self.faults.max_request_bytes
        if limit is not None and len(body) > limit:
            self.log.append((method, path, "413"))
            return web.Response(status=413, text="Request Entity Too Large\n\nFUNCTION_PAYLOAD_TOO_LARGE\n")
        fault = self._draw(method, path)
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED)
        try:
            async with self._session.request(
                method,
                self.upstream_root + path,
                params=list(request.query.items()),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as upstream:
                raw = await upstream.read()
                status = upstream.status
                out_headers = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED
                )
        except aiohttp.ClientError:
            # The upstream dropped the connection (the sandbox's own `drop` fault, after processing).
            self.log.append((method, path, "upstream-dropped"))
            return web.Response(status=502, text="502 Bad Gateway\n")
        # From here on the upstream has done the work, whatever the client is told.
        answer_limit = self.faults.max_response_bytes
        if answer_limit is not None and len(raw) > answer_limit:
            self.log.append((method, path, "answer-too-big"))
            return web.Response(status=500, text="An error occurred\n\nFUNCTION_RESPONSE_PAYLOAD_TOO_LARGE\n")
        if fault == "after":
            code = self._random.choice(self.faults.statuses)
            self.log.append((method, path, str(code)))
            if self._random.random() < 0.5:
                return web.Response(status=code, text=f"{code} gateway error\n")
            return web.Response(
                status=code,
                body=orjson.dumps({"error": "gateway", "message": "upstream failed"}),
                content_type="application/json",
            )
        if fault == "drop":
            self.log.append((method, path, "drop"))
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=502)  # never reaches the client: the socket is closed
        if fault == "cut" and len(raw) > 1:
            self.log.append((method, path, "cut"))
            out_headers["Content-Length"] = str(len(raw))
            response = web.StreamResponse(status=status, headers=out_headers)
            await response.prepare(request)
            await response.write(raw[: len(raw) // 2])
            await asyncio.sleep(0.01)  # let the half reach the client before the connection goes
            assert request.transport is not None
            request.transport.close()
            return response
        self.log.append((method, path, "forwarded"))
        return web.Response(status=status, body=raw, headers=out_headers)


@asynccontextmanager
async def gateway(upstream_base_url: str, faults: GatewayFaults | None = None) -> AsyncIterator[Gateway]:
    """Run a :class:`Gateway` in front of ``upstream_base_url`` on 127.0.0.1 for the ``async with`` block."""
    gw = Gateway(upstream_base_url, faults or GatewayFaults())
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", gw._handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        gw.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}{gw.prefix}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            gw._session = session
            yield gw
    finally:
        await runner.cleanup()

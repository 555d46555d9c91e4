"""A real HTTP server on 127.0.0.1 whose answers a test scripts: failure modes the sandbox makes at random.

It is a server, not a mock: the client under test goes through its whole stack and a real socket. Each
request is recorded (time, method, path, headers, body) so tests assert what the server actually saw.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import orjson
from aiohttp import web

INVOICE_ID = "65a1b2c3d4e5f60718293a4b"

INVOICE: dict[str, Any] = {
    "_id": INVOICE_ID,
    "invoice_number": "INV-0001",
    "invoice_date": "2026-11-01",
    "due_date": "2026-11-15",
    "customer_id": "65a1b2c3d4e5f60718293a4c",
    "customer_name": "Acme Traders",
    "customer_gstin": "27AAPFU0939F1ZV",
    "place_of_supply": "27",
    "supply_type": "intra_state",
    "status": "draft",
    "line_items": [
        {
            "item_type": "product",
            "description": "Steel bolts",
            "hsn_sac": "7318",
            "quantity": 10,
            "unit": "NOS",
            "rate": 150.00,
            "discount": 0,
            "gst_rate": 18,
            "amount": 1500.00,
            "taxable_value": 1500.00,
            "cgst_amount": 135.00,
            "sgst_amount": 135.00,
            "igst_amount": 0,
            "tax_amount": 270.00,
            "total": 1770.00,
        }
    ],
    "subtotal": 1500.00,
    "discount_total": 0,
    "taxable_total": 1500.00,
    "cgst_total": 135.00,
    "sgst_total": 135.00,
    "igst_total": 0,
    "tax_total": 270.00,
    "round_off": 0,
    "total": 1770.00,
    "amount_paid": 0,
    "balance_due": 1770.00,
    "payments": [],
    "createdAt": "2026-11-01T10:00:00Z",
    "updatedAt": "2026-11-01T10:00:00Z",
    "a_field_added_by_a_newer_server": True,
}


@attrs.define
class Seen:
    """One request as the server received it."""

    at: float
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    raw_path: str
    """The path and query string exactly as they arrived, still percent-encoded."""
    query: Mapping[str, str]
    header_pairs: list[tuple[str, str]]
    """Every header line, repeats included (``headers`` keeps one value per name)."""


Action = Callable[[web.Request, bytes], "asyncio.Future[web.StreamResponse] | Any"]


def respond(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> Action:
    """Answer with ``status`` and a JSON body."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
        )

    return act


def respond_bytes(
    body: bytes, content_type: str, headers: Mapping[str, str] | None = None, *, status: int = 200
) -> Action:
    """Answer with ``body`` as it is."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type, headers=headers)

    return act


def drop() -> Action:
    """Read the request (so it counts as processed), then close the connection without answering."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.05)
        return web.Response(status=500)  # never reaches the client: the socket is closed

    return act


def stall(seconds: float, then: Action | None = None) -> Action:
    """Wait ``seconds`` before answering (or before ``then``)."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await (then or respond(200, INVOICE))(request, raw)

    return act


class ScriptedServer:
    """Answers each (method, path) from its script, then with ``default``; records every request."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], deque[Action]] = defaultdict(deque)
        self.default: Action = respond(200, INVOICE)
        self.seen: list[Seen] = []
        self.base_url = ""

    def script(self, method: str, path: str, *actions: Action) -> None:
        """Queue ``actions`` for the next requests to ``method path`` (path below /api/v1)."""
        self.scripts[(method, "/api/v1" + path)].extend(actions)

    def seen_at(self, method: str, path: str) -> list[Seen]:
        """The requests received for ``method path`` (path below /api/v1)."""
        return [s for s in self.seen if s.method == method and s.path == "/api/v1" + path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.seen.append(
            Seen(
                time.monotonic(),
                request.method,
                request.path,
                dict(request.headers),
                raw,
                request.raw_path,
                dict(request.query),
                list(request.headers.items()),
            )
        )
        queue = self.scripts.get((request.method, request.path))
        action = queue.popleft() if queue else self.default
        return await action(request, raw)


@asynccontextmanager
async def scripted_server(port: int = 0) -> AsyncIterator[ScriptedServer]:
    """Run a :class:`ScriptedServer` on 127.0.0.1, on ``port`` or a free one."""
    server = ScriptedServer()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}/api/v1"
    try:
        yield server
    finally:
        await runner.cleanup()

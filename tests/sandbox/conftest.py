"""Helpers for the sandbox's own tests: a raw aiohttp client that speaks to ``serve()`` over a real socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import aiohttp
import pytest

from books_async.sandbox import Sandbox


@dataclass
class Reply:
    """One answer: status, headers and the body (parsed JSON with exact Decimals, or raw bytes)."""

    status: int
    headers: Mapping[str, str]
    raw: bytes
    body: object

    @property
    def json(self) -> dict[str, object]:
        assert isinstance(self.body, dict), self.body
        return self.body

    @property
    def items(self) -> list[dict[str, object]]:
        data = self.json["data"]
        assert isinstance(data, list)
        return data

    def paths(self) -> list[list[object]]:
        details = self.json.get("details")
        assert isinstance(details, list), self.body
        return [d["path"] for d in details]


class Api:
    """Calls the sandbox with a given key (the owner's by default)."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session = session
        self.sb = sandbox
        self.key = sandbox.api_key

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> Reply:
        sent = {"x-api-key": key or self.key} if key != "" else {}
        sent.update(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, default=_decimal).encode()
            sent["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.sb.base_url + path, data=data, headers=sent, params=params
        ) as resp:
            raw = await resp.read()
            body: object = raw
            if resp.content_type == "application/json" and raw:
                body = json.loads(raw, parse_float=Decimal)
            return Reply(resp.status, resp.headers, raw, body)

    async def get(self, path: str, **kw: object) -> Reply:
        return await self.call("GET", path, **kw)  # type: ignore[arg-type]

    async def post(self, path: str, body: object = None, **kw: object) -> Reply:
        return await self.call("POST", path, json_body=body, **kw)  # type: ignore[arg-type]

    async def patch(self, path: str, body: object = None, **kw: object) -> Reply:
        return await self.call("PATCH", path, json_body=body, **kw)  # type: ignore[arg-type]

    async def delete(self, path: str, **kw: object) -> Reply:
        return await self.call("DELETE", path, **kw)  # type: ignore[arg-type]


def _decimal(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[Api]:
    """A raw client of the per-test sandbox, authenticated as the default organisation's owner."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, sandbox)

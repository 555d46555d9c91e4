"""Fixtures of the bulk tests: a seeded customer of the sandbox, and a client of the scripted server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from books_async import BooksClient
from books_async.sandbox import Sandbox
from tests.scripted_server import ScriptedServer


@pytest.fixture
def customer(sandbox: Sandbox) -> str:
    assert sandbox.seed is not None
    return sandbox.seed.customer_b2b_intra


@pytest.fixture
async def scripted(server: ScriptedServer) -> AsyncIterator[BooksClient]:
    async with BooksClient(api_key="k", base_url=server.base_url, rate_limit=None, max_retries=1) as client:
        yield client

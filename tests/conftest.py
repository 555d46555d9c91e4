"""Fixtures shared by every test: a real sandbox on 127.0.0.1:0 (see ``books_async.testing``), an off-spec
proxy in front of it (``drift_proxy``, see ``tests/drift_server.py``) and a scripted server (``server``, see
``tests/scripted_server.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

# Imported rather than listed in pytest_plugins: once the package's pytest11 entry point registers
# books_async.testing, a second registration under the module's own name would be refused.
from books_async import testing
from books_async.testing import (
    books,
    sandbox,
    sandbox_api_key,
    sandbox_sync_api_key,
    sandbox_sync_url,
    sandbox_thread,
    sandbox_url,
)
from tests import drift_server
from tests.scripted_server import ScriptedServer, scripted_server

if TYPE_CHECKING:
    from books_async.sandbox import Sandbox, SeedIds

__all__ = [
    "books",
    "drift_proxy",
    "sandbox",
    "sandbox_api_key",
    "sandbox_sync_api_key",
    "sandbox_sync_url",
    "sandbox_thread",
    "sandbox_url",
    "seed",
    "server",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers (its fixtures are imported, so it is not loaded), and ``drift``."""
    testing.pytest_configure(config)
    config.addinivalue_line(
        "markers", "drift(*kinds): drift kinds the drift_proxy fixture switches on (default: all of them)"
    )


@pytest_asyncio.fixture
async def drift_proxy(
    request: pytest.FixtureRequest, sandbox: Sandbox
) -> AsyncIterator[drift_server.DriftProxy]:
    """A drift proxy in front of the test's sandbox, with the kinds its ``drift`` marker names (or all)."""
    marker = request.node.get_closest_marker("drift")
    kinds = frozenset(marker.args) if marker is not None and marker.args else drift_server.ALL_DRIFTS
    async with drift_server.drift_proxy(sandbox.base_url, drifts=kinds) as proxy:
        yield proxy


@pytest_asyncio.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    """A scripted server on 127.0.0.1: answers what each test scripts, and records what it was sent."""
    async with scripted_server() as s:
        yield s


@pytest.fixture
def seed(sandbox: Sandbox) -> SeedIds:
    """Ids of the sandbox's seeded customers, products and services."""
    ids = sandbox.seed
    assert ids is not None
    return ids

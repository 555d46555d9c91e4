"""Fixtures shared by every test: a real sandbox on 127.0.0.1:0 (see ``books_async.testing``), and an
off-spec proxy in front of it (``drift_proxy``, see ``tests/drift_server.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

# Imported rather than listed in pytest_plugins: once the package's pytest11 entry point registers
# books_async.testing, a second registration under the module's own name would be refused.
from books_async import testing
from books_async.testing import books, sandbox, sandbox_api_key, sandbox_url
from tests import drift_server

if TYPE_CHECKING:
    from books_async.sandbox import Sandbox

__all__ = ["books", "drift_proxy", "sandbox", "sandbox_api_key", "sandbox_url"]


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

"""pytest fixtures for testing code that talks to the Books API: a real sandbox on 127.0.0.1, per test.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["books_async.testing"]`` (or ``pytest -p
books_async.testing``); they need the ``sandbox`` extra and pytest-asyncio, in either ``asyncio_mode``:

    @pytest.mark.asyncio  # needed in "strict" mode (pytest-asyncio's default); harmless in "auto"
    @pytest.mark.sandbox(faults="503:0.2", faults_seed=7)  # keyword arguments of sandbox.serve()
    @pytest.mark.books(max_retries=5)  # keyword arguments of BooksClient(...)
    async def test_survives_503s(books): ...

Async fixtures (pytest-asyncio fixtures on the loop of ``asyncio_default_fixture_loop_scope``, "function"
unless set; async tests must run on that same loop): ``sandbox`` (a running
:class:`books_async.sandbox.Sandbox`, fresh data for every test), ``sandbox_url``, ``sandbox_api_key`` (an
owner key) and ``books`` (a ``BooksClient`` on it). The sandbox serves on the test's event loop, so it
answers only while an async test awaits.

Sync fixtures, for sync tests and code that blocks (FastAPI's ``TestClient``, ``asyncio.run``):
``sandbox_thread`` (the same sandbox served from a thread of its own), ``sandbox_sync_url`` and
``sandbox_sync_api_key``. The ``sandbox`` marker configures both kinds.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from books_async import BooksClient
    from books_async.sandbox import Sandbox

__all__ = [
    "books",
    "pytest_configure",
    "sandbox",
    "sandbox_api_key",
    "sandbox_sync_api_key",
    "sandbox_sync_url",
    "sandbox_thread",
    "sandbox_url",
]

_SYNC_TEST = (
    "{name}: the `sandbox` fixture serves on the test's event loop, which does not run while a sync test "
    "waits, so every request to it would hang. Use `sandbox_thread` (or `sandbox_sync_url` and "
    "`sandbox_sync_api_key`), which serve from a thread of their own: for FastAPI's TestClient, "
    "asyncio.run() or any blocking client."
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sandbox`` and ``books`` markers."""
    config.addinivalue_line(
        "markers",
        "sandbox(**options): options for the sandbox fixtures, passed to books_async.sandbox.serve() "
        "(rate_limit, faults, faults_seed, empty, api_key, data)",
    )
    config.addinivalue_line(
        "markers",
        "books(**options): keyword arguments for the books fixture's BooksClient(...) "
        "(rate_limit, max_retries, timeout, api_key, ...; base_url is the sandbox's)",
    )


def _sandbox_options(request: pytest.FixtureRequest) -> dict[str, object]:
    marker = request.node.get_closest_marker("sandbox")
    return dict(marker.kwargs) if marker is not None else {}


@pytest_asyncio.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A sandbox serving on a free port of 127.0.0.1 for one async test, with freshly seeded data.

    Raises:
        pytest.fail.Exception: requested by a sync test, where it could not answer (use ``sandbox_thread``).
    """
    # Imported here: registering this plugin must not need the sandbox's dependencies until it is used.
    from books_async.sandbox import serve

    test = getattr(request, "function", None)
    if test is not None and not inspect.iscoroutinefunction(test):
        pytest.fail(_SYNC_TEST.format(name=request.node.name), pytrace=False)
    async with serve(**_sandbox_options(request)) as sb:  # type: ignore[arg-type]
        yield sb


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> str:
    """The sandbox's base URL, e.g. ``http://127.0.0.1:40123/api/v1``."""
    return sandbox.base_url


@pytest.fixture
def sandbox_api_key(sandbox: Sandbox) -> str:
    """An owner key of the sandbox's default organisation."""
    return sandbox.api_key


@pytest_asyncio.fixture
async def books(request: pytest.FixtureRequest, sandbox: Sandbox) -> AsyncIterator[BooksClient]:
    """A ``BooksClient`` connected to the sandbox with an owner key, and the ``books`` marker's options."""
    from books_async import BooksClient

    marker = request.node.get_closest_marker("books")
    options = {"api_key": sandbox.api_key, **(marker.kwargs if marker is not None else {})}
    async with BooksClient(base_url=sandbox.base_url, **options) as client:
        yield client


@pytest.fixture
def sandbox_thread(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox like ``sandbox``'s, served from a thread of its own, for sync tests and blocking code.

    Its store belongs to that thread: read it (``request_log``, ``outbox()``) while no request is in flight.
    """
    from books_async.sandbox import Sandbox, SandboxConfig

    with Sandbox.run_in_thread(SandboxConfig(**_sandbox_options(request))) as sb:  # type: ignore[arg-type]
        yield sb


@pytest.fixture
def sandbox_sync_url(sandbox_thread: Sandbox) -> str:
    """The threaded sandbox's base URL (set it as ``BOOKS_BASE_URL`` for code that builds its own client)."""
    return sandbox_thread.base_url


@pytest.fixture
def sandbox_sync_api_key(sandbox_thread: Sandbox) -> str:
    """An owner key of the threaded sandbox's default organisation."""
    return sandbox_thread.api_key

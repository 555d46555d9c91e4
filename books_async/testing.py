"""pytest fixtures for testing code that talks to the Books API: a real sandbox on 127.0.0.1, per test.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["books_async.testing"]`` (needs the ``sandbox``
extra and pytest-asyncio)::

    async def test_invoice_total(books):
        invoice = await books.invoices.create(...)

    @pytest.mark.sandbox(rate_limit=(5, 1.0), faults="503:0.2", faults_seed=7)
    async def test_survives_503s(sandbox): ...

Fixtures: ``sandbox`` (a running :class:`books_async.sandbox.Sandbox`, fresh data for every test),
``sandbox_url`` (its base URL), ``sandbox_api_key`` (an owner key) and ``books`` (a ``BooksClient`` on it).
The ``sandbox`` marker's keyword arguments go to :func:`books_async.sandbox.serve`, the ``books`` marker's
to ``BooksClient(...)``: ``@pytest.mark.books(max_retries=0, rate_limit=None)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from books_async import BooksClient
    from books_async.sandbox import Sandbox

__all__ = ["books", "pytest_configure", "sandbox", "sandbox_api_key", "sandbox_url"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sandbox`` and ``books`` markers."""
    config.addinivalue_line(
        "markers",
        "sandbox(**options): options for the sandbox fixture, passed to books_async.sandbox.serve() "
        "(rate_limit, faults, faults_seed, empty, api_key, data)",
    )
    config.addinivalue_line(
        "markers",
        "books(**options): keyword arguments for the books fixture's BooksClient(...) "
        "(rate_limit, max_retries, timeout, api_key, ...; base_url is the sandbox's)",
    )


@pytest_asyncio.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A sandbox serving on a free port of 127.0.0.1 for one test, with freshly seeded data."""
    # Imported here: registering this plugin must not need the sandbox's dependencies until it is used.
    from books_async.sandbox import serve

    marker = request.node.get_closest_marker("sandbox")
    options = dict(marker.kwargs) if marker is not None else {}
    async with serve(**options) as sb:
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

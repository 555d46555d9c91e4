"""Error messages through real servers: one full stop, the right 404 hint, duplicates, timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from books_async import (
    APITimeoutError,
    AuthenticationError,
    BooksClient,
    ConflictError,
    NotFoundError,
    Timeout,
)
from books_async.models import InvoiceCreate, InvoiceStatus, InvoiceUpdate
from books_async.sandbox import Sandbox
from tests.factories import bolts_invoice
from tests.scripted_server import INVOICE_ID, ScriptedServer, respond_bytes, scripted_server, stall
from tests.test_transport import client_for

MISSING_ID = "65a1b2c3d4e5f60718293aff"


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


def _invoice(customer_id: str, number: str) -> InvoiceCreate:
    return attrs.evolve(bolts_invoice(), customer_id=customer_id, invoice_number=number)


async def test_unknown_key_message_has_one_full_stop(sandbox: Sandbox) -> None:
    """The server's "Unknown API key." is not followed by a second full stop."""
    async with BooksClient("not-a-key-of-this-sandbox", base_url=sandbox.base_url) as books:
        with pytest.raises(AuthenticationError) as err:
            await books.invoices.list()
    message = str(err.value)
    assert "unauthorized: Unknown API key. Check the API key" in message
    assert "key.." not in message


async def test_not_found_hint_blames_base_url_without_api_prefix(sandbox: Sandbox) -> None:
    """A base URL missing /api/v1 gets a 404 hint about the URL, not about objects."""
    root = sandbox.base_url.removesuffix("/api/v1")
    async with BooksClient(sandbox.api_key, base_url=root) as books:
        with pytest.raises(NotFoundError) as err:
            await books.invoices.list()
    message = str(err.value)
    assert f"base_url ({root}) looks wrong" in message
    assert "/api/v1" in message
    assert "No such object" not in message


async def test_not_found_hint_blames_route_for_a_non_json_404(server: ScriptedServer) -> None:
    """An HTML "Cannot GET" 404 says the path was not found at all, naming base_url."""
    page = f"<pre>Cannot GET /api/v1/books/invoices/{INVOICE_ID}</pre>".encode()
    server.script("GET", f"/books/invoices/{INVOICE_ID}", respond_bytes(page, "text/html", status=404))
    async with client_for(server) as books:
        with pytest.raises(NotFoundError) as err:
            await books.invoices.get(INVOICE_ID)
    message = str(err.value)
    assert "not found at all" in message
    assert server.base_url in message
    assert "No such object" not in message


async def test_not_found_hint_names_the_object_for_the_api_json_404(books: BooksClient) -> None:
    """The API's own JSON 404 for a missing id keeps the "no such object" hint."""
    with pytest.raises(NotFoundError) as err:
        await books.invoices.get(MISSING_ID)
    message = str(err.value)
    assert "No such object in this key's organisation." in message
    assert "base_url" not in message


async def test_conflict_on_duplicate_invoice_number_says_it_exists(books: BooksClient) -> None:
    """Creating an invoice whose number is taken says the number already exists, not a state problem."""
    customer = (await books.customers.list()).data[0]
    await books.invoices.create(_invoice(customer.id, "DUP-1"))
    with pytest.raises(ConflictError) as err:
        await books.invoices.create(_invoice(customer.id, "DUP-1"))
    message = str(err.value)
    assert "already exists" in message
    assert "DUP-1" in message
    assert "current state" not in message


async def test_conflict_on_forbidden_change_keeps_state_hint(books: BooksClient) -> None:
    """A 409 for a change the invoice's state forbids still says so."""
    customer = (await books.customers.list()).data[0]
    invoice = await books.invoices.create(_invoice(customer.id, "STATE-1"))
    await books.invoices.update(invoice.id, InvoiceUpdate(status=InvoiceStatus.void))
    with pytest.raises(ConflictError) as err:
        await books.invoices.send(invoice.id)
    message = str(err.value)
    assert "current state forbids this" in message
    assert "already exists" not in message


@pytest.mark.parametrize(
    ("limits", "fired"),
    [
        (Timeout(connect=1.0, read=0.2, total=10.0), "Timeout.read (0.2s)"),
        (Timeout(connect=1.0, read=5.0, total=0.2), "Timeout.total (0.2s)"),
    ],
    ids=["read", "total"],
)
async def test_timeout_message_names_the_limit_and_how_to_change_it(
    server: ScriptedServer, limits: Timeout, fired: str
) -> None:
    """A timeout names the limit that fired, its value, and the client, per-call and with_options knobs."""
    server.script("GET", f"/books/invoices/{INVOICE_ID}", stall(3.0))
    async with client_for(server, timeout=limits, max_retries=0) as books:
        with pytest.raises(APITimeoutError) as err:
            await books.invoices.get(INVOICE_ID)
    message = str(err.value)
    assert fired in message
    assert "limit fired" in message
    assert "BooksClient(...)" in message
    assert "to this one call" in message
    assert "with_options" in message

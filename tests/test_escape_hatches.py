"""The escape hatches that keep a spec mismatch from blocking a user, against real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from books_async import BooksClient, InvalidRequestError, Timeout
from tests.scripted_server import ScriptedServer, scripted_server

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key the tests hunt for


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[BooksClient]:
    async with BooksClient(
        SECRET, base_url=server.base_url, rate_limit=None, timeout=Timeout(total=10.0)
    ) as books:
        yield books


# ---- ids into paths


async def test_id_with_reserved_characters_reaches_server_as_one_segment(
    server: ScriptedServer, client: BooksClient
) -> None:
    """An id holding / ? # % spaces and non-ASCII arrives percent-encoded, as one path segment."""
    await client.invoices.get("a/b?c#d%e f é")
    [seen] = server.seen
    assert seen.raw_path == "/api/v1/books/invoices/a%2Fb%3Fc%23d%25e%20f%20%C3%A9"
    assert seen.query == {}


async def test_id_that_is_not_an_object_id_is_sent(server: ScriptedServer, client: BooksClient) -> None:
    """Ids are not held to the spec's inferred ObjectId shape: the API decides."""
    await client.invoices.get("INV-0001")
    assert [s.raw_path for s in server.seen] == ["/api/v1/books/invoices/INV-0001"]


@pytest.mark.parametrize("bad", ["..", ".", ""])
async def test_dot_segment_or_empty_id_is_refused_before_any_request(
    server: ScriptedServer, client: BooksClient, bad: str
) -> None:
    """A DELETE of `..` would reach the collection after URL normalisation: refused, nothing sent."""
    with pytest.raises(InvalidRequestError) as err:
        await client.invoices.delete(bad)
    assert err.value.details[0].path == ("id",)
    assert "Invalid id" in str(err.value)
    assert server.seen == []


async def test_non_string_id_is_refused_naming_the_argument(
    server: ScriptedServer, client: BooksClient
) -> None:
    """An int where an id belongs is an InvalidRequestError naming `id`; nothing is sent."""
    with pytest.raises(InvalidRequestError) as err:
        await client.customers.get(42)  # type: ignore[arg-type]
    assert err.value.details[0].path == ("id",)
    assert err.value.details[0].code == "invalid_type"
    assert server.seen == []

"""Bounded reading (books_async._body): an answer is read into memory only up to max_response_bytes.

The big bodies are generated block by block while they are sent and never held by the server; its
:class:`~tests.hostile_server.Meter` counts what it managed to hand to the socket before the client went
away, and ``ResponseTooLargeError.received`` what the client had read when it stopped.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from books_async import (
    BooksClient,
    ConfigurationError,
    ResponseTooLargeError,
    ServerError,
    Timeout,
    WriteAcceptedError,
)
from books_async._body import DEFAULT_MAX_RESPONSE_BYTES
from books_async._transport import ByteStream
from tests.factories import bolts_invoice
from tests.hostile_server import GIB, MIB, Meter, flood, gzip_bomb
from tests.scripted_server import INVOICE, INVOICE_ID, ScriptedServer, respond_bytes
from tests.virtual_time import RecordingClient

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key
INVOICE_PATH = f"/books/invoices/{INVOICE_ID}"
# What the server may write beyond what the client read: the kernel's socket buffers on loopback (a few MB)
# and aiohttp's read buffer. Generous, as a bound; the point is that it is nowhere near 2 GB.
SLACK = 32 * MIB


def client_for(server: ScriptedServer, **kwargs: object) -> RecordingClient:
    options: dict[str, object] = {"rate_limit": None, "max_retries": 3, "timeout": Timeout(total=60.0)}
    options.update(kwargs)
    return RecordingClient(SECRET, base_url=server.base_url, **options)


async def stopped(meter: Meter) -> int:
    async with asyncio.timeout(30):  # a hang guard
        await meter.stopped.wait()
    return meter.written


def test_default_cap_is_32_mib() -> None:
    """Without max_response_bytes, answers are read up to 32 MiB."""
    assert DEFAULT_MAX_RESPONSE_BYTES == 32 * MIB


async def test_answer_declaring_2gb_is_refused_without_reading_it(server: ScriptedServer) -> None:
    """A 200 declaring 2 GB raises ResponseTooLargeError before a byte of it is read, and is not retried."""
    meter = Meter()
    server.script("GET", INVOICE_PATH, flood(meter, declared=2 * GIB))
    async with client_for(server) as books:
        with pytest.raises(ResponseTooLargeError) as caught:
            await books.invoices.get(INVOICE_ID)
    error = caught.value
    assert (error.status, error.limit, error.received, error.body) == (
        200,
        DEFAULT_MAX_RESPONSE_BYTES,
        0,
        None,
    )
    assert "max_response_bytes" in str(error)
    assert await stopped(meter) < SLACK
    assert len(server.seen) == 1
    assert books.waits == []


async def test_endless_chunked_answer_is_read_only_up_to_the_cap(server: ScriptedServer) -> None:
    """A 200 that never ends (chunked, no length) stops being read just past the 32 MiB cap."""
    meter = Meter()
    server.script("GET", INVOICE_PATH, flood(meter))
    async with client_for(server) as books:
        with pytest.raises(ResponseTooLargeError) as caught:
            await books.invoices.get(INVOICE_ID)
    cap = DEFAULT_MAX_RESPONSE_BYTES
    assert cap < caught.value.received <= cap + MIB  # one read past the cap, at most
    assert await stopped(meter) < cap + SLACK
    assert len(server.seen) == 1
    assert books.waits == []


@pytest.mark.parametrize("declared", [None, 2 * GIB], ids=["endless", "2gb"])
async def test_huge_error_body_is_capped_and_keeps_its_status(
    server: ScriptedServer, declared: int | None
) -> None:
    """A 500 with a 2 GB or endless body is still the 500 it said it was, its body read only to the cap."""
    meter = Meter()
    server.script("GET", INVOICE_PATH, flood(meter, 500, declared=declared))
    async with client_for(server, max_response_bytes=MIB) as books:
        with pytest.raises(ServerError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert caught.value.status == 500
    assert "max_response_bytes" in str(caught.value)
    assert len(str(caught.value.body)) <= 500  # a prefix of the text, not the megabyte
    assert books.waits == []
    assert await stopped(meter) < MIB + SLACK


async def test_gzip_bomb_is_counted_after_decompression(server: ScriptedServer) -> None:
    """A small gzip body that inflates to 256 MiB stops at the cap: inflated bytes are what count."""
    meter = Meter()
    server.script("GET", INVOICE_PATH, gzip_bomb(meter, inflated=256 * MIB))
    async with client_for(server, max_response_bytes=MIB) as books:
        with pytest.raises(ResponseTooLargeError) as caught:
            await books.invoices.get(INVOICE_ID)
    assert MIB < caught.value.received <= 2 * MIB
    assert books.waits == []
    assert await stopped(meter) < 16 * MIB  # compressed bytes; the whole bomb would be under 1 MiB anyway


async def test_too_large_answer_to_a_write_says_the_write_happened(server: ScriptedServer) -> None:
    """A 201 over the cap is a write that happened: WriteAcceptedError, caused by ResponseTooLargeError."""
    meter = Meter()
    server.script("POST", "/books/invoices", flood(meter, 201))
    async with client_for(server, max_response_bytes=MIB) as books:
        with pytest.raises(WriteAcceptedError) as caught:
            await books.invoices.create(bolts_invoice())
    assert caught.value.status == 201
    assert isinstance(caught.value.__cause__, ResponseTooLargeError)
    assert len(server.seen) == 1
    assert books.waits == []


async def test_answer_exactly_at_the_cap_is_read(server: ScriptedServer) -> None:
    """The cap is inclusive: an answer of exactly max_response_bytes is read; one byte less refuses it."""
    body = orjson.dumps(INVOICE)
    server.default = respond_bytes(body, "application/json")
    async with client_for(server, max_response_bytes=len(body)) as books:
        assert (await books.invoices.get(INVOICE_ID)).id == INVOICE_ID
    async with client_for(server, max_response_bytes=len(body) - 1) as books:
        with pytest.raises(ResponseTooLargeError):
            await books.invoices.get(INVOICE_ID)


@pytest.mark.parametrize("declared", [None, 2 * GIB], ids=["endless", "2gb"])
async def test_stream_chunks_stop_at_max_bytes(server: ScriptedServer, declared: int | None) -> None:
    """ByteStream.chunks(max_bytes=...) raises ResponseTooLargeError once past it (at once if declared)."""
    meter = Meter()
    server.script("GET", INVOICE_PATH + "/pdf", flood(meter, declared=declared))
    received = [0]

    async def read(body: ByteStream) -> None:
        async for chunk in body.chunks(max_bytes=MIB):
            received[0] += len(chunk)

    async with client_for(server) as books, books._transport.stream("GET", INVOICE_PATH + "/pdf") as body:
        with pytest.raises(ResponseTooLargeError) as caught:
            await read(body)
    assert received[0] <= MIB
    assert caught.value.received == (0 if declared else caught.value.received)
    assert caught.value.limit == MIB
    assert await stopped(meter) < MIB + SLACK


async def test_stream_under_max_bytes_is_read_whole(server: ScriptedServer) -> None:
    """A body within max_bytes streams whole."""
    server.script("GET", INVOICE_PATH + "/pdf", respond_bytes(b"%PDF-1.7\n" * 1000, "application/pdf"))
    async with client_for(server) as books, books._transport.stream("GET", INVOICE_PATH + "/pdf") as body:
        data = b"".join([chunk async for chunk in body.chunks(1024, max_bytes=9000)])
    assert data == b"%PDF-1.7\n" * 1000


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "32MB"])
def test_max_response_bytes_must_be_a_positive_int(value: object) -> None:
    """A cap that is not a positive int is refused at construction."""
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        BooksClient(SECRET, base_url="http://127.0.0.1:9/api/v1", max_response_bytes=value)  # type: ignore[arg-type]

"""Streaming PDF downloads (books_async._bulk.downloads): safe names, retries of broken bodies, no partial
files, no overwrite, and the size cap, against a scripted server and the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from books_async import (
    APIConnectionError,
    BooksClient,
    ResponseDecodeError,
)
from books_async.bulk import is_complete_pdf, safe_filename
from books_async.sandbox import Sandbox
from tests.bulk.helpers import draft, listing
from tests.scripted_server import (
    INVOICE_ID,
    Action,
    ScriptedServer,
)

# Bulk jobs send more than the API's 100 requests a minute; quotas have tests of their own.
pytestmark = [pytest.mark.sandbox(rate_limit=None), pytest.mark.books(rate_limit=None)]


# ---------------------------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("suggested", "expected"),
    [
        ("invoice-INV-0001.pdf", "invoice-INV-0001.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("/etc/cron.d/evil.pdf", "evil.pdf"),
        ("..\\..\\windows\\system32\\x.pdf", "x.pdf"),
        ("..", "fallback.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("-rf.pdf", "rf.pdf"),
        ("in voice\x00;rm -rf.pdf", "in-voice-rm--rf.pdf"),
        ("résumé.PDF", "r-sum.pdf"),
        ("CON.pdf", "fallback.pdf"),
        ("report", "report.pdf"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
        ("", "fallback.pdf"),
        (None, "fallback.pdf"),
    ],
)
def test_safe_filename_keeps_names_inside_the_directory(suggested: str | None, expected: str) -> None:
    """Untrusted names lose any path, odd characters and leading dots; nothing usable gives the fallback."""
    assert safe_filename(suggested, "fallback.pdf") == expected


def _pdf(body: bytes = b"hello") -> bytes:
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


def pdf_answer(name: str, body: bytes | None = None) -> Action:
    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        return web.Response(
            body=body if body is not None else _pdf(),
            content_type="application/pdf",
            headers={"Content-Disposition": name},
        )

    return act


def broken_body(total: int, sent: int, *, stall: float = 0.0) -> Action:
    """Announce ``total`` bytes, send ``sent`` of a PDF, then stall and/or cut the connection."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "application/pdf", "Content-Length": str(total)}
        )
        await response.prepare(request)
        await response.write(b"%PDF-1.4\n" + b"x" * (sent - 9))
        transport = request.transport
        assert transport is not None
        # Stall until the client goes away (or the time is up), so the server can shut down promptly.
        for _ in range(int(stall / 0.02)):
            if transport.is_closing():
                break
            await asyncio.sleep(0.02)
        transport.close()
        return response

    return act


PDF_PATH = f"/books/invoices/{INVOICE_ID}/pdf"


async def test_download_with_hostile_names_stays_inside_the_directory(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Content-Disposition names with paths, encoded slashes or nothing usable land inside the directory."""
    ids = [f"{i:024x}" for i in range(1, 5)]
    hostile = [
        'attachment; filename="../../escape.pdf"',
        "attachment; filename*=UTF-8''..%2F..%2Fencoded.pdf",
        'attachment; filename="/etc/abs.pdf"',
        'attachment; filename=".."',
    ]
    for doc_id, name in zip(ids, hostile, strict=True):
        server.script("GET", f"/books/invoices/{doc_id}/pdf", pdf_answer(name))
    out = tmp_path / "out"
    result = await scripted.bulk.download_pdfs(ids, out)
    assert result.ok, result.errors
    assert listing(out) == sorted(["escape.pdf", "encoded.pdf", "abs.pdf", f"invoice-{ids[3]}.pdf"])
    assert listing(tmp_path) == ["out"]


async def test_download_two_ids_with_one_name_keeps_both(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Two documents the server names alike are both kept: the second gets its id appended."""
    ids = [f"{i:024x}" for i in range(1, 3)]
    for doc_id in ids:
        server.script("GET", f"/books/invoices/{doc_id}/pdf", pdf_answer('attachment; filename="same.pdf"'))
    result = await scripted.bulk.download_pdfs(ids, tmp_path, concurrency=1)
    assert [f.path.name for f in result.values] == ["same.pdf", f"same-{ids[1]}.pdf"]


async def test_download_broken_midway_is_retried_and_completes(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """A body cut off midway is downloaded again; the file is complete and no temp file remains."""
    server.script("GET", PDF_PATH, broken_body(100_000, 30_000), pdf_answer('attachment; filename="a.pdf"'))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert result.ok, result.errors
    assert listing(tmp_path) == ["a.pdf"]
    assert result.values[0].size == len(_pdf())


async def test_download_broken_every_time_leaves_no_partial_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """When every attempt breaks midway the item fails and the directory stays empty."""
    server.script("GET", PDF_PATH, *[broken_body(600_000, 400_000) for _ in range(2)])
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert isinstance(result.results[0], APIConnectionError)
    assert listing(tmp_path) == []


async def test_download_of_a_non_pdf_fails_without_a_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """An answer that is not a PDF fails the item with ResponseDecodeError and writes nothing."""
    server.script("GET", PDF_PATH, pdf_answer('attachment; filename="a.pdf"', b"<html>login</html>"))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path)
    assert isinstance(result.results[0], ResponseDecodeError)
    assert listing(tmp_path) == []


async def test_cancelled_download_removes_its_temp_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """Cancelling mid-body re-raises CancelledError and leaves neither a partial nor a temp file."""
    server.script("GET", PDF_PATH, broken_body(2_000_000, 600_000, stall=30))
    task = asyncio.create_task(scripted.bulk.download_pdfs([INVOICE_ID], tmp_path))
    for _ in range(500):
        if listing(tmp_path, "*.part"):
            break
        await asyncio.sleep(0.01)
    assert listing(tmp_path, "*.part"), "the download never started writing"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(tmp_path) == []


async def test_no_overwrite_skips_complete_files_without_requests(
    books: BooksClient, sandbox: Sandbox, customer: str, tmp_path: Path
) -> None:
    """With names, overwrite=False keeps complete files without a request; a cut-off one is redone."""
    created = await books.bulk.create_invoices([draft(customer, f"OW-{i}") for i in range(3)])
    ids = [inv.id for inv in created.values]
    names = {inv.id: f"invoice-{inv.invoice_number}.pdf" for inv in created.values}
    first = await books.bulk.download_pdfs(ids, tmp_path, names=names)
    assert first.ok
    assert not any(f.skipped for f in first.values)
    truncated = first.values[2].path
    truncated.write_bytes(truncated.read_bytes()[:100])
    before = books.requests_sent
    again = await books.bulk.download_pdfs(ids, tmp_path, names=names, overwrite=False)
    assert [f.skipped for f in again.values] == [True, True, False]
    assert books.requests_sent - before == 1
    assert is_complete_pdf(truncated)


async def test_no_overwrite_without_names_skips_after_the_headers(
    books: BooksClient, customer: str, tmp_path: Path
) -> None:
    """Without names the server's name is needed, so a skip costs a request but keeps the file."""
    created = await books.bulk.create_invoices([draft(customer, "ON-1")])
    first = await books.bulk.download_pdfs([created.values[0].id], tmp_path)
    mtime = first.values[0].path.stat().st_mtime_ns
    again = await books.bulk.download_pdfs([created.values[0].id], tmp_path, overwrite=False)
    assert again.values[0].skipped
    assert again.values[0].path.stat().st_mtime_ns == mtime


def big_pdf(size: int, *, declared: bool) -> Action:
    """A PDF of ``size`` bytes, its length declared or streamed in pieces without one."""

    async def act(request: web.Request, raw: bytes) -> web.StreamResponse:
        body = _pdf(b"x" * (size - len(_pdf(b""))))
        headers = {"Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="big.pdf"'}
        if declared:
            headers["Content-Length"] = str(len(body))
        response = web.StreamResponse(headers=headers)
        if not declared:
            response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response

    return act


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_download_over_the_size_cap_leaves_no_file(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path, declared: bool
) -> None:
    """A PDF over max_file_bytes fails with ResponseDecodeError and leaves neither a file nor a temp file."""
    server.script("GET", PDF_PATH, big_pdf(700_000, declared=declared))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path, max_file_bytes=300_000)
    error = result.results[0]
    assert isinstance(error, ResponseDecodeError)
    assert "max_file_bytes" in str(error)
    assert listing(tmp_path) == []
    assert len(server.seen_at("GET", PDF_PATH)) == 1  # not downloaded again


async def test_download_under_the_size_cap_is_kept(
    server: ScriptedServer, scripted: BooksClient, tmp_path: Path
) -> None:
    """A PDF of exactly max_file_bytes is written whole."""
    server.script("GET", PDF_PATH, big_pdf(300_000, declared=False))
    result = await scripted.bulk.download_pdfs([INVOICE_ID], tmp_path, max_file_bytes=300_000)
    assert result.ok, result.errors
    assert result.values[0].size == 300_000
    assert listing(tmp_path) == ["big.pdf"]

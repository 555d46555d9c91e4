"""``books-async invoices download-pdfs``: every matching invoice's PDF into a directory, in parallel."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from books_async import BooksClient
from books_async.cli._interrupt import GracefulStop
from books_async.cli._output import Output
from books_async.models import Invoice

__all__ = ["download_pdfs"]


async def _matching(books: BooksClient, filters: Mapping[str, object]) -> list[Invoice]:
    return [invoice async for invoice in books.invoices.iter(**filters)]  # type: ignore[arg-type]


async def download_pdfs(
    books: BooksClient,
    output: Output,
    *,
    filters: Mapping[str, object],
    directory: Path,
    concurrency: int,
    overwrite: bool,
) -> int:
    """Download the PDF of every matching invoice into ``directory``; 0 when all are there, 130 if stopped."""
    invoices = await _matching(books, filters)
    # Names known up front make --no-overwrite free: a complete file is skipped without a request.
    names = {inv.id: f"invoice-{inv.invoice_number.replace('/', '-')}.pdf" for inv in invoices}
    stop = GracefulStop(
        lambda: output.note("Stopping after the downloads in flight (Ctrl-C again to abort)...")
    )
    with stop, output.progress("Downloading PDFs", len(invoices)) as progress:
        result = await books.bulk.download_pdfs(
            [inv.id for inv in invoices],
            directory,
            concurrency=concurrency,
            overwrite=overwrite,
            names=names,
            progress=progress,
            stop=stop.event,
        )
    skipped = sum(1 for f in result.values if f.skipped)
    output.line(
        f"{result.succeeded - skipped} downloaded, {skipped} already there, {result.failed} failed, "
        f"{result.cancelled} not started, into {directory}"
    )
    for index, error in list(result.errors.items())[:10]:
        output.note(f"  {invoices[index].invoice_number}: {str(error).splitlines()[0]}")
    if stop.stopped:
        return 130
    return 0 if result.ok else 1

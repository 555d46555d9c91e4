"""``books-async invoices …``: commands for a real account (key from ``BOOKS_API_KEY``)."""

from __future__ import annotations

from pathlib import Path

from books_async import NOT_GIVEN, BooksClient, _serde
from books_async.cli._interrupt import GracefulStop
from books_async.cli._output import Output
from books_async.models import Invoice, InvoiceStatus

__all__ = ["download_pdfs", "list_invoices"]


async def _matching(
    books: BooksClient, status: str | None, search: str | None, limit: int | None
) -> list[Invoice]:
    found: list[Invoice] = []
    async for invoice in books.invoices.iter(
        status=InvoiceStatus(status) if status is not None else NOT_GIVEN,
        search=search if search else NOT_GIVEN,
    ):
        found.append(invoice)
        if limit is not None and len(found) >= limit:
            break
    return found


async def list_invoices(
    books: BooksClient,
    output: Output,
    *,
    status: str | None,
    search: str | None,
    limit: int | None,
    as_json: bool,
) -> int:
    """Print the matching invoices, newest first, as a table or as JSON lines (wire form)."""
    invoices = await _matching(books, status, search, limit)
    if as_json:
        for invoice in invoices:
            output.line(_serde.dumps(_serde.unstructure(invoice)).decode())
        return 0
    rows = [
        [
            inv.invoice_number,
            _shown(inv.invoice_date),
            _shown(inv.customer_name),
            _shown(inv.status),
            _shown(inv.total, "{:,.2f}"),
            _shown(inv.balance_due, "{:,.2f}"),
        ]
        for inv in invoices
    ]
    output.table(
        f"{len(rows)} invoice(s)",
        ["number", "date", "customer", "status", "total", "balance"],
        rows,
        right={4, 5},
    )
    return 0


async def download_pdfs(
    books: BooksClient,
    output: Output,
    *,
    status: str | None,
    search: str | None,
    directory: Path,
    concurrency: int,
    overwrite: bool,
) -> int:
    """Download the PDF of every matching invoice into ``directory``; 0 when all are there, 130 if stopped."""
    invoices = await _matching(books, status, search, None)
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


def _shown(value: object, pattern: str = "{}") -> str:
    # A key the live API left out reads as None (tolerant reading); the table shows a dash, not "None".
    return "-" if value is None else pattern.format(value)

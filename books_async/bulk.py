"""Bulk helpers: create, send, convert, pay and download thousands of documents, reporting per item.

Reach them as ``books.bulk`` (a :class:`Bulk` bound to the client)::

    async with BooksClient() as books:
        created = await books.bulk.create_invoices(drafts)          # as few requests as the limits allow
        pdfs = await books.bulk.download_pdfs([inv.id for inv in created.values], "out/")

Invariants:

- Every helper returns a :class:`BulkResult`, one outcome per input item in input order; every
  :class:`~books_async.BooksError` an item meets is that item's outcome; ``progress`` gets each
  :class:`Settled` as it settles. A fixed pool of ``concurrency`` workers does the work, on the limiter.
- Nothing is sent twice by accident: a write whose outcome is unknown is resolved by a read-back only where
  the read proves it happened (creates by number, payments against a snapshot, sends by leaving draft, quote
  conversion), else reported as :class:`~books_async.OutcomeUnknownError` and listed in
  :attr:`BulkResult.unknown`, never resent by itself (``docs/design/bulk-outcomes.md``).
- ``stop=asyncio.Event()`` stops between items (untouched items are ``cancelled``); task cancellation stops at
  once and propagates. A bug (not a ``BooksError``) stops the job the same gentle way and propagates with the
  partial result as its ``bulk_result`` attribute.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from books_async._bulk.create import Creator
from books_async._bulk.downloads import Downloads
from books_async._bulk.existing import (
    find_invoice_numbers,
    find_invoices,
    find_quotes,
    invoice_key,
    quote_key,
)
from books_async._bulk.files import MAX_PDF_BYTES, PDFFile, is_complete_pdf, safe_filename
from books_async._bulk.outcomes import maybe_processed, unknown
from books_async._bulk.pool import fan_out_writes, nothing_to_prepare, run_pool
from books_async._bulk.readback import INVOICE_SENT, QUOTE_SENT, Payments, Sends
from books_async._bulk.results import BulkResult, Progress, Settled, check_concurrency, check_positive
from books_async._bulk.sizing import PLATFORM_LIMIT, BodyLimits, pack
from books_async._exceptions import BooksError, ConflictError, ServerError, WriteAcceptedError
from books_async._generated.models import (
    EmailReceipt,
    Invoice,
    InvoiceCreate,
    InvoiceStatus,
    PaymentCreate,
    PaymentRecorded,
    Quote,
    QuoteCreate,
    QuoteStatus,
)
from books_async._pagination import MAX_PAGE_SIZE
from books_async._resource import MAX_BODY_BYTES, Resource

if TYPE_CHECKING:
    from books_async._client import BooksClient
    from books_async.params import InvoiceCreateParam, QuoteCreateParam

__all__ = [
    "Bulk",
    "BulkResult",
    "PDFFile",
    "Settled",
    "is_complete_pdf",
    "pack",
    "safe_filename",
]

log = logging.getLogger("books_async.bulk")

# Defined with the job modules that share them; shown where users import them from.
BulkResult.__module__ = Settled.__module__ = PDFFile.__module__ = __name__


class Bulk:
    """The bulk helpers bound to one client; get it as ``books.bulk``."""

    def __init__(self, client: BooksClient) -> None:
        self._client = client
        # What 413s and answers taught about body sizes, for every job of this client.
        self._limits = BodyLimits(MAX_BODY_BYTES)

    def __repr__(self) -> str:
        return f"<Bulk {self._client.base_url}>"

    # ---- creates ------------------------------------------------------------------------------------

    async def create_invoices(
        self,
        items: Iterable[InvoiceCreate | InvoiceCreateParam],
        *,
        concurrency: int = 4,
        max_items_per_request: int | None = None,
        max_request_bytes: int = MAX_BODY_BYTES,
        max_answer_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[InvoiceCreate, Invoice] | None = None,
        stop: asyncio.Event | None = None,
        rerun: bool | None = None,
    ) -> BulkResult[Invoice]:
        """Create many invoices in as few requests as the body limits allow; return them in input order.

        Each item is checked locally and measured once, then items are packed greedily, in order, into JSON
        arrays (never split, never reordered) sent ``concurrency`` at a time. An array is kept under the
        smallest of: ``max_request_bytes`` (the API's 5 MB by default); what a 413 taught this client
        (4.5 MB, then half of what was refused; kept for the client's life, and said once in a WARNING);
        and ``max_answer_bytes`` divided by the answer/request size ratio measured on earlier answers,
        because the answer to a bulk create is 2-4 times its request and the vendor's platform fails answers
        over 4.5 MB *after* creating the batch (``None`` turns this off). Until a first answer was measured,
        small probes go one at a time. A bulk create is atomic on the server, so one bad item must not sink
        its neighbours:

        - an item failing the local checks, or too big to send even alone, fails by itself and is not sent;
          so does a second use of one invoice number within one financial year in ``items`` (numbers
          restart each 1 April: ``FY/0001`` dated 31 March and 1 April are two invoices);
        - a 400 names the failing items by index: they fail with their own :class:`ValidationError`, the
          rest of the chunk (not created) is sent again without them;
        - a 409 (number already taken) first has the chunk's numbers looked up (reruns, below); a 409 or
          404 without details naming items is narrowed down by halving the chunk until the offending items
          are alone; a 413 is re-packed under the limit it taught;
        - a 503, or a 429 after the client's own retries, processed nothing: the chunk is sent again;
        - an unknown outcome (connection dropped after sending, a timeout, 500/502/504) is reconciled:
          items with an ``invoice_number`` are looked up by number and financial year of ``invoice_date``
          (last year's invoice with the number is another one); found ones succeed with the stored invoice
          (if it matches the draft, as below), the others are sent again (a resend of a number that does
          exist gets a 409, never a duplicate).
          Items **without** a number cannot be told apart from existing invoices, so they fail with
          :class:`OutcomeUnknownError` and are never resent: give every invoice a number to make a job
          fully recoverable.

        An item is sent at most three times. ``max_items_per_request`` caps the chunk size below what the
        byte limits allow (smaller atomic units, faster answers).

        Rerunning a job finishes it: a number already stored by an invoice matching the draft (customer,
        dates, place of supply, lines; see ``docs/design/bulk-reruns.md``) is that item's success, listed
        in :attr:`BulkResult.existing` and flagged ``existed`` in its :class:`Settled`; one stored by a
        different invoice fails with :class:`~books_async.NumberTakenError` naming the differences. The
        numbers are looked up by searching their common prefixes, about one request per 100 numbers:
        ``rerun=None`` (the default) does so on the first 409, for that chunk and everything still waiting;
        ``rerun=True`` before the first send (a rerun known as such saves that 409); ``rerun=False`` never,
        so a number already stored is a plain :class:`ConflictError`, whatever it holds.
        """
        creator: Creator[InvoiceCreate, Invoice] = Creator(
            # A dict item is checked against InvoiceCreate and replaced by one before anything reads it.
            cast("list[InvoiceCreate]", list(items)),
            client=self._client,
            resource=self._client.invoices,
            limits=self._limits,
            kind="invoice",
            model=InvoiceCreate,
            response_type=list[Invoice],
            number=lambda item: item.invoice_number,
            key=invoice_key,
            find=find_invoices,
            lookup=find_invoice_numbers,
            get=self._client.invoices.get,
            rerun=rerun,
            concurrency=concurrency,
            max_items=max_items_per_request,
            max_bytes=max_request_bytes,
            max_answer_bytes=max_answer_bytes,
            progress=progress,
            stop=stop,
        )
        return await creator.run()

    async def create_quotes(
        self,
        items: Iterable[QuoteCreate | QuoteCreateParam],
        *,
        concurrency: int = 4,
        max_items_per_request: int | None = None,
        max_request_bytes: int = MAX_BODY_BYTES,
        max_answer_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[QuoteCreate, Quote] | None = None,
        stop: asyncio.Event | None = None,
        rerun: bool | None = None,
    ) -> BulkResult[Quote]:
        """Create many quotes in as few requests as the body limits allow; return them in input order.

        Works as :meth:`create_invoices`, with ``quote_number`` as the key (reruns included). The API cannot
        search quotes by number, so reconciling and reruns list the quotes of each affected customer.
        """
        creator: Creator[QuoteCreate, Quote] = Creator(
            # A dict item is checked against QuoteCreate and replaced by one before anything reads it.
            cast("list[QuoteCreate]", list(items)),
            client=self._client,
            resource=self._client.quotes,
            limits=self._limits,
            kind="quote",
            model=QuoteCreate,
            response_type=list[Quote],
            number=lambda item: item.quote_number,
            key=quote_key,
            find=find_quotes,
            lookup=find_quotes,
            get=self._client.quotes.get,
            rerun=rerun,
            concurrency=concurrency,
            max_items=max_items_per_request,
            max_bytes=max_request_bytes,
            max_answer_bytes=max_answer_bytes,
            progress=progress,
            stop=stop,
        )
        return await creator.run()

    # ---- fan-out ------------------------------------------------------------------------------------

    async def send_invoices(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 8,
        progress: Progress[str, EmailReceipt] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[EmailReceipt]:
        """E-mail each invoice to its customer (drafts become ``sent``); return the receipts in input order.

        A send is never repeated: a second one would e-mail the customer twice. When its outcome is unknown
        (no answer, or 500/502/504) the invoice is read back: if it was a draft before the attempt (as the
        job's first list pages, or a GET, showed) and no longer is, the send happened, and its receipt is
        built from the invoice (``document_status`` and ``sent_at``; the e-mail's own fields are None).
        Otherwise the item fails with :class:`OutcomeUnknownError`: see :attr:`BulkResult.unknown`.
        """
        client = self._client
        invoices = client.invoices
        sends: Sends[Invoice] = Sends(
            list(ids),
            kind="invoice",
            base_url=client.base_url,
            path=invoices._paths["send"],
            send=invoices.send,
            get=invoices.get,
            drafts=lambda page: invoices.list(status=InvoiceStatus.draft, page=page, limit=MAX_PAGE_SIZE),
            draft=InvoiceStatus.draft,
            sent=INVOICE_SENT,
        )
        return await self._send_each(sends, concurrency, progress, stop)

    async def send_quotes(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 8,
        progress: Progress[str, EmailReceipt] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[EmailReceipt]:
        """E-mail each quote to its customer (drafts become ``sent``); return the receipts in input order.

        Unknown outcomes are resolved as in :meth:`send_invoices`: a quote that was a draft and is now
        ``sent``, ``accepted`` or ``declined`` was sent.
        """
        client = self._client
        quotes = client.quotes
        sends: Sends[Quote] = Sends(
            list(ids),
            kind="quote",
            base_url=client.base_url,
            path=quotes._paths["send"],
            send=quotes.send,
            get=quotes.get,
            drafts=lambda page: quotes.list(status=QuoteStatus.draft, page=page, limit=MAX_PAGE_SIZE),
            draft=QuoteStatus.draft,
            sent=QUOTE_SENT,
        )
        return await self._send_each(sends, concurrency, progress, stop)

    async def _send_each(
        self,
        sends: Sends[Invoice] | Sends[Quote],
        concurrency: int,
        progress: Progress[str, EmailReceipt] | None,
        stop: asyncio.Event | None,
    ) -> BulkResult[EmailReceipt]:
        return await fan_out_writes(
            sends.ids,
            sends.prepare,
            sends.one,
            sends.path,
            base_url=self._client.base_url,
            concurrency=concurrency,
            progress=progress,
            stop=stop,
        )

    async def record_payments(
        self,
        pairs: Iterable[tuple[str, PaymentCreate]],
        *,
        concurrency: int = 8,
        progress: Progress[tuple[str, PaymentCreate], PaymentRecorded] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[PaymentRecorded]:
        """Record each ``(invoice_id, payment)``; return the recorded payments in input order.

        Payments carry no key the API checks, so one is never sent twice. When its outcome is unknown (no
        answer, or 500/502/504) the invoice is read back: if it holds more payments like this one (same
        amount and method, and the date, reference and notes given) than a snapshot taken before the attempt,
        it was recorded, and the result holds the invoice read back (and the new payment, when ids tell it
        apart). Otherwise the item fails with :class:`OutcomeUnknownError`: see :attr:`BulkResult.unknown`.
        Payments on one invoice go one after another, so two equal payments are counted apart. The
        snapshots come from the job's first list pages (100 invoices a request), else a GET before the
        attempt.
        """
        client = self._client
        invoices = client.invoices
        payments = Payments(
            list(pairs),
            base_url=client.base_url,
            path=invoices._paths["record_payment"],
            record=invoices.record_payment,
            get=invoices.get,
            page=lambda page: invoices.list(page=page, limit=MAX_PAGE_SIZE),
        )
        return await fan_out_writes(
            payments.pairs,
            payments.prepare,
            payments.one,
            lambda pair: payments.path(pair[0]),
            base_url=client.base_url,
            concurrency=concurrency,
            progress=progress,
            stop=stop,
        )

    async def convert_quotes(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 8,
        progress: Progress[str, Invoice] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[Invoice]:
        """Convert each quote into a draft invoice; return the invoices in input order.

        After an unknown outcome or a 5xx the quote is fetched: if it was converted, its invoice is the
        result; if not, it is converted once more (safe: converting twice is refused with a 409).
        """
        return await fan_out_writes(
            list(ids),
            nothing_to_prepare,
            self._convert,
            self._convert_path,
            base_url=self._client.base_url,
            concurrency=concurrency,
            progress=progress,
            stop=stop,
        )

    async def _convert(self, quote_id: str) -> Invoice:
        quotes = self._client.quotes
        try:
            return await quotes.convert(quote_id)
        except WriteAcceptedError as exc:
            first: BooksError = exc
        except BooksError as exc:
            if not (maybe_processed(exc) or isinstance(exc, ServerError)):
                raise
            first = exc
        try:
            invoice = await self._converted(quote_id)
        except BooksError as lookup:
            if not maybe_processed(first):
                raise first from lookup  # it happened (WriteAcceptedError) or did not (503): it says so
            path = self._convert_path(quote_id)
            raise unknown(
                f"POST {path}: the quote may have been converted, and reading it back failed "
                f"({type(lookup).__name__}). Look at the quote before converting it again.",
                method="POST",
                url=self._client.base_url + path,
                cause=first,
            ) from lookup
        if invoice is not None:
            return invoice
        if isinstance(first, WriteAcceptedError):
            raise first  # converted, though the quote does not name its invoice
        log.debug("quote %s was not converted by the failed attempt; converting again", quote_id)
        try:
            return await quotes.convert(quote_id)
        except ConflictError as conflict:
            # The first attempt may have landed meanwhile: then its invoice is the answer.
            invoice = await self._converted(quote_id)
            if invoice is None:
                raise conflict from first
            return invoice

    def _convert_path(self, quote_id: str) -> str:
        return Resource._path(self._client.quotes._paths["convert"], id=quote_id)

    async def _converted(self, quote_id: str) -> Invoice | None:
        """The invoice a quote was converted into, or None if it was not converted."""
        quote = await self._client.quotes.get(quote_id)
        if quote.converted_invoice_id is None:
            return None
        return await self._client.invoices.get(quote.converted_invoice_id)

    # ---- downloads ----------------------------------------------------------------------------------

    async def download_pdfs(
        self,
        ids: Iterable[str],
        directory: str | os.PathLike[str],
        *,
        kind: Literal["invoice", "quote"] = "invoice",
        concurrency: int = 8,
        overwrite: bool = True,
        names: Mapping[str, str] | None = None,
        max_file_bytes: int = MAX_PDF_BYTES,
        progress: Progress[str, PDFFile] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[PDFFile]:
        """Download each invoice's (or quote's) PDF into ``directory``; return the files in input order.

        Bodies stream to disk in chunks (memory stays flat whatever the size or count), through a temp file
        in ``directory`` that is renamed into place only when complete: no partial file is ever left, also
        on errors and cancellation. File I/O runs in threads, off the event loop. A body that breaks off
        midway is downloaded again (GET is safe), up to the client's ``max_retries``.

        File names: ``names[id]`` when given, else the server's ``Content-Disposition`` name, else
        ``{kind}-{id}.pdf``; each made safe by :func:`safe_filename`, so nothing can land outside
        ``directory``. Two ids given the same name keep both files (the second gets ``-{id}``).

        With ``overwrite=False`` a file already there and complete (see :func:`is_complete_pdf`) is kept
        and reported with ``skipped=True``. Pass ``names`` to make that free: without it the name is only
        known from the answer's headers, so each skip still costs one request (but not the body).

        A file over ``max_file_bytes`` (100 MiB by default) fails with :class:`ResponseDecodeError` and
        leaves nothing on disk: refused before writing when the answer declares its length, else as soon as
        the bytes received pass the cap.
        """
        check_concurrency(concurrency)
        check_positive("max_file_bytes", max_file_bytes)
        folder = Path(directory)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        resource = self._client.invoices if kind == "invoice" else self._client.quotes
        downloads = Downloads(
            resource, folder, kind=kind, overwrite=overwrite, names=names, max_bytes=max_file_bytes
        )
        return await run_pool(list(ids), downloads.one, concurrency=concurrency, progress=progress, stop=stop)

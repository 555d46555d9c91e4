"""Bulk helpers: create, send, convert, pay and download thousands of documents, reporting per item.

Reach them as ``books.bulk`` (a :class:`Bulk` bound to the client)::

    async with BooksClient() as books:
        created = await books.bulk.create_invoices(drafts)          # as few requests as the limits allow
        sent = await books.bulk.send_invoices([inv.id for inv in created.values])
        pdfs = await books.bulk.download_pdfs([inv.id for inv in created.values], "out/")
        if not pdfs.ok:
            for index, error in pdfs.errors.items():
                print(index, error)

Every helper returns a :class:`BulkResult`: one outcome per input item, in input order. Every
:class:`~books_async.BooksError` an item meets is that item's outcome, never an exception that aborts the
others; ``progress`` is handed each outcome as it settles (a :class:`Settled`). Work is done by a fixed pool
of ``concurrency`` workers pulling from the input, so 10,000 items never mean 10,000 tasks, and every
request still waits on the client's limiter.

Nothing is sent twice by accident. A write whose outcome is unknown (the connection dropped after it left,
or a gateway answered 500/502/504 after its upstream may have done the work) is resolved by reading back
only where the read proves it happened, and is otherwise reported as
:class:`~books_async.OutcomeUnknownError` and never sent again by itself:

- creates with a number: the number is looked up; found, it is the result; not found, it is sent again,
  which is safe because numbers are unique per organisation (a resend of one that exists gets a 409);
- payments: proven when the invoice has more payments like it than before the attempt;
- sends: proven when a document that was a draft before the attempt no longer is;
- quote conversion: the quote says which invoice it became (converting twice is a 409).

Creates without a number, re-sends of documents already sent, and whatever a read cannot prove stay
unknown: :attr:`BulkResult.unknown` lists them, to be looked at before anything is sent again.

Stopping: pass ``stop=asyncio.Event()`` and set it (the CLI does on the first Ctrl-C). No new item starts;
items in flight finish; the result counts the untouched items as ``cancelled``. Cancelling the task instead
(a second Ctrl-C) stops at once: in-flight requests are cancelled, temp files removed, and
``CancelledError`` propagates, since cancellation is never swallowed. A bug (any exception that is not a
``BooksError``, the progress callback's own included) stops the job the same gentle way and then propagates
as itself, with the partial result as its ``bulk_result`` attribute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import (
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, TypeVar

import attrs

from books_async._bulk.create import Creator, find_invoices, find_quotes
from books_async._bulk.outcomes import FATAL, maybe_processed, unknown
from books_async._bulk.readback import INVOICE_SENT, QUOTE_SENT, Payments, Sends
from books_async._bulk.results import (
    BulkResult,
    Outcomes,
    Progress,
    Settled,
    check_concurrency,
    check_positive,
)
from books_async._bulk.sizing import PLATFORM_LIMIT, BodyLimits
from books_async._exceptions import (
    APIConnectionError,
    BooksError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
    WriteAcceptedError,
)
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
from books_async._resource import Resource
from books_async._transport import MAX_BODY_BYTES, ByteStream

if TYPE_CHECKING:
    from books_async._client import BooksClient

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

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result

# Defined with the job modules that share them; shown where users import them from.
BulkResult.__module__ = Settled.__module__ = __name__

# Downloads read the socket in 64 KiB pieces and hand the disk 256 KiB at a time: few thread hops per file,
# and at most ~320 KiB in memory per download whatever the file size (times concurrency, overall).
_READ_CHUNK = 64 * 1024
_WRITE_CHUNK = 256 * 1024
_PDF_HEADER = b"%PDF-"
_PDF_TRAILER = b"%%EOF"
_TRAILER_WINDOW = 1024
_MAX_NAME = 120
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
MAX_PDF_BYTES = 100 * 1024 * 1024
"""The default size cap of one downloaded PDF (100 MiB): far above any invoice, far below a full disk."""


@attrs.frozen(kw_only=True)
class PDFFile:
    """A PDF on disk, as :meth:`Bulk.download_pdfs` left it."""

    id: str
    """The invoice's or quote's id."""
    path: Path
    size: int
    """Bytes on disk."""
    skipped: bool = False
    """True when a complete file was already there and ``overwrite=False`` kept it."""


async def _pool(
    items: Sequence[I],
    work: Callable[[I], Awaitable[T]],
    *,
    concurrency: int,
    progress: Progress[I, T] | None,
    stop: asyncio.Event | None,
    on_bug: Callable[[I, Exception], BooksError] | None = None,
) -> BulkResult[T]:
    """Run ``work`` on every item with at most ``concurrency`` at a time; item failures become outcomes.

    A bug (not a ``BooksError``) stops the job: no new item starts, those in flight finish, and the bug is
    raised with the partial result attached. ``on_bug`` gives the outcome of the item the bug hit (a write
    may have been sent); without it, that item stays unsettled.
    """
    check_concurrency(concurrency)
    outcomes: Outcomes[I, T] = Outcomes(items, progress)
    # One shared iterator: each worker's next() takes a distinct item, so the workers are the semaphore.
    queue = iter(enumerate(items))
    fatal: list[BooksError] = []
    bugs: list[Exception] = []

    async def worker() -> None:
        try:
            for index, item in queue:
                if bugs or (stop is not None and stop.is_set()):
                    return  # untouched items stay None: cancelled
                if fatal:
                    outcomes.settle(index, fatal[0])
                    continue
                try:
                    outcome: T | BooksError = await work(item)
                except BooksError as exc:  # item failure is data; bugs and cancellation propagate
                    if isinstance(exc, FATAL) and not fatal:
                        fatal.append(exc)
                    outcome = exc
                except Exception as exc:
                    if on_bug is not None:
                        outcomes.settle_quietly(index, on_bug(item, exc))
                    raise
                outcomes.settle(index, outcome)
        except Exception as exc:  # a bug, ours or the progress callback's: see the docstring
            bugs.append(exc)

    async with asyncio.TaskGroup() as tg:
        for _ in range(min(concurrency, len(items))):
            tg.create_task(worker())
    if bugs:
        raise outcomes.interrupted(bugs[0])
    return outcomes.result()


# ---------------------------------------------------------------------------------------------- packing


def pack(
    sizes: Iterable[tuple[int, int]], *, limit: int = MAX_BODY_BYTES, max_items: int | None = None
) -> Iterator[list[int]]:
    """Group items into JSON array bodies of at most ``limit`` bytes, greedily, in input order.

    ``sizes`` gives ``(index, serialised size)`` per item; each yielded chunk is a list of indexes whose
    array ``[a,b,c]`` is ``2 + sum(sizes) + (len - 1)`` bytes. Items are never split or reordered. An item
    that cannot fit even alone (``size + 2 > limit``) must be filtered out by the caller.

    Raises:
        ConfigurationError: an item is too big to fit alone, or ``max_items`` is not positive.
    """
    if max_items is not None and max_items < 1:
        raise ConfigurationError(f"max_items must be a positive integer or None; got {max_items!r}.")
    chunk: list[int] = []
    body = 2  # the brackets
    for index, size in sizes:
        if size + 2 > limit:
            raise ConfigurationError(f"item {index} is {size:,} bytes: it cannot fit in {limit:,} alone.")
        extra = size + (1 if chunk else 0)  # a comma before every item but the first
        if chunk and (body + extra > limit or len(chunk) == max_items):
            yield chunk
            chunk, body, extra = [], 2, size
        chunk.append(index)
        body += extra
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------- file names


def safe_filename(suggested: str | None, fallback: str) -> str:
    """Return a file name safe to create inside the download directory, from an untrusted suggestion.

    The server's ``Content-Disposition`` name is untrusted. Only its last path component is kept (``/``
    and ``\\`` both count), characters outside ``[A-Za-z0-9._-]`` become ``-``, leading dots and dashes
    are dropped (no hidden files, nothing that reads as an option), it is cut to 120 characters and ends
    in ``.pdf``. ``fallback`` is used when nothing usable is left, or for a reserved Windows device name.
    """
    if suggested:
        base = suggested.replace("\\", "/").rsplit("/", 1)[-1]
        base = _UNSAFE_NAME.sub("-", base).lstrip(".-")
        stem, dot, ext = base.rpartition(".")
        if not dot or ext.lower() != "pdf":
            stem = base
        stem = stem.rstrip(".-")[: _MAX_NAME - 4]
        if stem and stem.split(".", 1)[0].upper() not in _WINDOWS_RESERVED:
            return f"{stem}.pdf"
    return fallback


def is_complete_pdf(path: Path) -> bool:
    """Return whether ``path`` looks like a whole PDF: non-empty, ``%PDF-`` first, ``%%EOF`` in its last KiB.

    A cheap check, not a parse: it tells a finished download from a missing, empty or cut-off one. Blocking
    (file I/O): call it through ``asyncio.to_thread`` from async code.
    """
    try:
        with path.open("rb") as f:
            if f.read(len(_PDF_HEADER)) != _PDF_HEADER:
                return False
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TRAILER_WINDOW))
            return _PDF_TRAILER in f.read()
    except OSError:
        return False


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _complete_size(path: Path) -> int | None:
    """The size of ``path`` if it is a complete PDF (see :func:`is_complete_pdf`), else None. Blocking."""
    return path.stat().st_size if is_complete_pdf(path) else None


def _open_temp(target: Path) -> tuple[BinaryIO, str]:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    return os.fdopen(fd, "wb"), tmp


def _close_opened(opening: asyncio.Future[tuple[BinaryIO, str]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        file, tmp = opening.result()
        file.close()
        _discard(tmp)


async def _open_temp_off_loop(target: Path) -> tuple[BinaryIO, str]:
    opening = asyncio.ensure_future(asyncio.to_thread(_open_temp, target))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        # The thread creates the file even though we were cancelled: remove it once it exists. Waiting (the
        # thread takes microseconds) removes it before the cancellation propagates, unless cancelled again.
        opening.add_done_callback(_close_opened)
        await asyncio.wait([opening])
        raise


def _finish(file: BinaryIO, data: bytearray, tmp: str, target: Path) -> None:
    # One thread hop for the last write, the close and the rename: a typical PDF is smaller than one chunk.
    if data:
        file.write(data)
    file.close()
    os.replace(tmp, target)


def _check_header(written: int, pending: bytearray, target: Path) -> None:
    if written == 0 and not pending.startswith(_PDF_HEADER):
        raise ResponseDecodeError(f"The answer for {target.name} is not a PDF.")


def _too_big(target: Path, max_bytes: int) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"The PDF for {target.name} is over {max_bytes:,} bytes, the max_file_bytes cap; it was not saved. "
        "Pass a larger max_file_bytes if such a file is expected."
    )


async def _write_pdf(body: ByteStream, target: Path, max_bytes: int) -> int:
    """Stream ``body`` into ``target`` through a temp file in the same directory; return the bytes written.

    The temp file is renamed over ``target`` only once the whole body arrived and looks like a PDF, so a
    reader never sees a partial file. On any failure, cancellation included, the temp file is removed. A body
    over ``max_bytes`` is refused: up front if its length is declared, else as soon as it passes the cap.
    """
    if body.content_length is not None and body.content_length > max_bytes:
        raise _too_big(target, max_bytes)
    file, tmp = await _open_temp_off_loop(target)
    try:
        written = 0
        pending = bytearray()
        tail = b""
        pieces = body.chunks(_READ_CHUNK, max_bytes=max_bytes)
        while True:
            try:
                piece = await anext(pieces)
            except StopAsyncIteration:
                break
            except ResponseTooLargeError as exc:
                raise _too_big(target, max_bytes) from exc
            pending += piece
            tail = (tail + piece[-_TRAILER_WINDOW:])[-_TRAILER_WINDOW:]
            if len(pending) >= _WRITE_CHUNK:
                _check_header(written, pending, target)
                data, pending = pending, bytearray()
                await asyncio.to_thread(file.write, data)
                written += len(data)
        _check_header(written, pending, target)
        total = written + len(pending)
        if body.content_length is not None and total != body.content_length:
            raise APIConnectionError(f"The download of {target.name} ended early ({total:,} bytes).")
        if _PDF_TRAILER not in tail:
            # A PDF ends with %%EOF: without it the body was cut off, whatever the headers said.
            raise APIConnectionError(f"The download of {target.name} was cut off (no %%EOF).")
        await asyncio.to_thread(_finish, file, pending, tmp, target)
    except BaseException:
        # Synchronous on purpose: this cleanup must finish even if the task is cancelled again meanwhile,
        # and closing and unlinking one temp file is quick. Then re-raise: never swallow cancellation.
        file.close()
        _discard(tmp)
        raise
    return total


# ---------------------------------------------------------------------------------------------- the helpers


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
        items: Iterable[InvoiceCreate],
        *,
        concurrency: int = 4,
        max_items_per_request: int | None = None,
        max_request_bytes: int = MAX_BODY_BYTES,
        max_answer_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[InvoiceCreate, Invoice] | None = None,
        stop: asyncio.Event | None = None,
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
          so does a second use of one invoice number in ``items``;
        - a 400 names the failing items by index: they fail with their own :class:`ValidationError`, the
          rest of the chunk (not created) is sent again without them;
        - a 409 (number already taken) or 404 without such details is narrowed down by halving the chunk
          until the offending items are alone; a 413 is re-packed under the limit it taught;
        - a 503, or a 429 after the client's own retries, processed nothing: the chunk is sent again;
        - an unknown outcome (connection dropped after sending, a timeout, 500/502/504) is reconciled:
          items with an ``invoice_number`` are looked up; found ones succeed with the stored invoice, the
          others are sent again (a resend of a number that does exist gets a 409, never a duplicate).
          Items **without** a number cannot be told apart from existing invoices, so they fail with
          :class:`OutcomeUnknownError` and are never resent: give every invoice a number to make a job
          fully recoverable.

        An item is sent at most three times. ``max_items_per_request`` caps the chunk size below what the
        byte limits allow (smaller atomic units, faster answers).
        """
        creator: Creator[InvoiceCreate, Invoice] = Creator(
            list(items),
            client=self._client,
            limits=self._limits,
            kind="invoice",
            response_type=list[Invoice],
            number=lambda item: item.invoice_number,
            find=find_invoices,
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
        items: Iterable[QuoteCreate],
        *,
        concurrency: int = 4,
        max_items_per_request: int | None = None,
        max_request_bytes: int = MAX_BODY_BYTES,
        max_answer_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[QuoteCreate, Quote] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[Quote]:
        """Create many quotes in as few requests as the body limits allow; return them in input order.

        Works as :meth:`create_invoices`, with ``quote_number`` as the key. The API cannot search quotes by
        number, so reconciling lists the quotes of each affected customer.
        """
        creator: Creator[QuoteCreate, Quote] = Creator(
            list(items),
            client=self._client,
            limits=self._limits,
            kind="quote",
            response_type=list[Quote],
            number=lambda item: item.quote_number,
            find=find_quotes,
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
            send=invoices.send,
            get=invoices.get,
            drafts=lambda page: invoices.list(status=InvoiceStatus.draft, page=page, limit=MAX_PAGE_SIZE),
            draft=InvoiceStatus.draft,
            sent=INVOICE_SENT,
        )
        return await self._fan_out_writes(
            sends.ids, sends.prepare, sends.one, sends.path, concurrency, progress, stop
        )

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
            send=quotes.send,
            get=quotes.get,
            drafts=lambda page: quotes.list(status=QuoteStatus.draft, page=page, limit=MAX_PAGE_SIZE),
            draft=QuoteStatus.draft,
            sent=QUOTE_SENT,
        )
        return await self._fan_out_writes(
            sends.ids, sends.prepare, sends.one, sends.path, concurrency, progress, stop
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
            record=invoices.record_payment,
            get=invoices.get,
            page=lambda page: invoices.list(page=page, limit=MAX_PAGE_SIZE),
        )
        return await self._fan_out_writes(
            payments.pairs,
            payments.prepare,
            payments.one,
            lambda pair: payments.path(pair[0]),
            concurrency,
            progress,
            stop,
        )

    async def _fan_out_writes(
        self,
        items: list[I],
        prepare: Callable[[], Awaitable[None]],
        work: Callable[[I], Awaitable[T]],
        path: Callable[[I], str],
        concurrency: int,
        progress: Progress[I, T] | None,
        stop: asyncio.Event | None,
    ) -> BulkResult[T]:
        check_concurrency(concurrency)
        if items and not (stop is not None and stop.is_set()):
            try:
                await prepare()
            except FATAL as exc:  # a bad key, say: no item can get past it
                failed: Outcomes[I, T] = Outcomes(items, progress)
                failed.settle_all((index, exc) for index in range(len(items)))
                return failed.result()
            except Exception as bug:  # nothing was sent yet: every item is untried
                untried: Outcomes[I, T] = Outcomes(items, None)
                raise untried.interrupted(bug)  # noqa: B904  # the bug itself, not a new error
        base_url = self._client.base_url

        def on_bug(item: I, bug: Exception) -> BooksError:
            where = path(item)
            return unknown(
                f"POST {where}: the job stopped on an unexpected error ({type(bug).__name__}) while this "
                "request was under way, so the API may have carried it out. Look before sending it again.",
                method="POST",
                url=base_url + where,
                cause=bug,
            )

        return await _pool(items, work, concurrency=concurrency, progress=progress, stop=stop, on_bug=on_bug)

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
        return await self._fan_out_writes(
            list(ids),
            _nothing_to_prepare,
            self._convert,
            lambda quote_id: Resource._path("/books/quotes/{id}/convert", id=quote_id),
            concurrency,
            progress,
            stop,
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
            path = Resource._path("/books/quotes/{id}/convert", id=quote_id)
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
        claimed: dict[str, str] = {}

        async def one(doc_id: str) -> PDFFile:
            return await self._download(doc_id, folder, kind, overwrite, names, claimed, max_file_bytes)

        return await _pool(list(ids), one, concurrency=concurrency, progress=progress, stop=stop)

    async def _download(
        self,
        doc_id: str,
        folder: Path,
        kind: Literal["invoice", "quote"],
        overwrite: bool,
        names: Mapping[str, str] | None,
        claimed: dict[str, str],
        max_bytes: int,
    ) -> PDFFile:
        path = Resource._path(f"/books/{kind}s/{{id}}/pdf", id=doc_id)
        fallback = f"{kind}-{doc_id}.pdf"

        def place(suggested: str | None) -> Path:
            name = safe_filename(suggested, fallback)
            owner = claimed.setdefault(name, doc_id)
            if owner != doc_id:
                name = f"{name[:-4]}-{doc_id}.pdf"
                claimed[name] = doc_id
            target = folder / name
            if target.parent != folder:  # cannot happen after safe_filename; a guard, not a hope
                raise InvalidRequestError(f"Refusing to write {name!r} outside {folder}.")
            return target

        async def kept(target: Path) -> PDFFile | None:
            size = None if overwrite else await asyncio.to_thread(_complete_size, target)
            return None if size is None else PDFFile(id=doc_id, path=target, size=size, skipped=True)

        preset = names.get(doc_id) if names is not None else None
        if preset is not None:
            skip = await kept(place(preset))
            if skip is not None:
                return skip
        transport = self._client._transport
        attempt = 0
        while True:
            in_body = False
            try:
                async with transport.stream("GET", path) as body:
                    target = place(preset if preset is not None else body.filename)
                    if preset is None:
                        skip = await kept(target)
                        if skip is not None:
                            return skip
                    in_body = True
                    size = await _write_pdf(body, target, max_bytes)
                    return PDFFile(id=doc_id, path=target, size=size)
            except APIConnectionError as exc:
                # Opening the stream was already retried by the transport; only a body that broke off
                # midway is retried here, with the client's own policy (GET is safe to repeat).
                delay = transport.retry.delay_for(attempt, exc, "GET") if in_body else None
                if delay is None:
                    raise
                log.debug("PDF %s broke off midway; retrying in %.2fs", doc_id, delay)
                await asyncio.sleep(delay)
                attempt += 1


async def _nothing_to_prepare() -> None:
    """What a job needs before its first item when it needs nothing."""

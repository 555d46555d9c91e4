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
from collections import deque
from collections.abc import (
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Generic, Literal, TypeVar

import attrs

from books_async import _serde
from books_async._bulk.outcomes import FATAL, attach_partial, maybe_processed, unknown
from books_async._bulk.readback import INVOICE_SENT, QUOTE_SENT, Payments, Sends
from books_async._bulk.sizing import PLATFORM_LIMIT, BodyLimits
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    BooksError,
    ConfigurationError,
    ConflictError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
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
from books_async._request_checks import validate_request
from books_async._resource import Resource, accepted_write_error
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
T_co = TypeVar("T_co", covariant=True)
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result
I_co = TypeVar("I_co", covariant=True)

# Each item of a bulk create is sent at most this many times: the first send, plus resends after a 503 or
# 429 that exhausted the client's retries (nothing was processed), or after an unknown outcome whose
# look-up found nothing. Bounded so a persistently failing API ends the job instead of looping.
_MAX_SENDS = 3
# Below this many numbers a reconcile looks each one up; above it, it first scans the newest pages of the
# invoice list, where a just-created chunk sits, spending one request per 100 invoices instead of one each.
_SCAN_MIN = 4
# Extra pages scanned past the chunk's own size, for invoices other writers created after ours.
_SCAN_SLACK_PAGES = 2

# How many items are checked and measured between two yields to the event loop.
_YIELD_EVERY = 1000

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


# ---------------------------------------------------------------------------------------------- results


@attrs.frozen(repr=False)
class BulkResult(Generic[T_co]):
    """What a bulk helper did: one outcome per input item, in input order.

    ``results[i]`` is the value for item ``i`` (e.g. the created :class:`~books_async.models.Invoice`), the
    :class:`~books_async.BooksError` it failed with, or ``None`` if it was never attempted because the job
    was stopped.
    """

    results: tuple[T_co | BooksError | None, ...]

    @property
    def total(self) -> int:
        """How many items were given."""
        return len(self.results)

    @property
    def values(self) -> list[T_co]:
        """The successful values, in input order (failed and cancelled items left out)."""
        return [r for r in self.results if r is not None and not isinstance(r, BooksError)]

    @property
    def errors(self) -> dict[int, BooksError]:
        """Each failed item's input index and error."""
        return {i: r for i, r in enumerate(self.results) if isinstance(r, BooksError)}

    @property
    def unknown(self) -> dict[int, BooksError]:
        """The failed items whose request may have been carried out, or was: look before sending them again.

        :class:`~books_async.OutcomeUnknownError` (it may have happened, and no read-back proved it) and
        :class:`~books_async.WriteAcceptedError` (it happened; only its answer was unreadable). Every other
        failed item was refused or never sent, so nothing changed: send it again once its error is dealt
        with (``[items[i] for i in result.errors if i not in result.unknown]``).
        """
        return {
            i: r
            for i, r in enumerate(self.results)
            if isinstance(r, OutcomeUnknownError | WriteAcceptedError)
        }

    @property
    def succeeded(self) -> int:
        """How many items succeeded."""
        return sum(1 for r in self.results if r is not None and not isinstance(r, BooksError))

    @property
    def failed(self) -> int:
        """How many items failed."""
        return sum(1 for r in self.results if isinstance(r, BooksError))

    @property
    def cancelled(self) -> int:
        """How many items were never attempted because the job was stopped."""
        return sum(1 for r in self.results if r is None)

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(r is not None and not isinstance(r, BooksError) for r in self.results)

    def __repr__(self) -> str:
        # Never the values: a result can hold 10,000 invoices.
        return (
            f"<BulkResult total={self.total} succeeded={self.succeeded} failed={self.failed} "
            f"cancelled={self.cancelled}>"
        )


@attrs.frozen(kw_only=True)
class Settled(Generic[I_co, T_co]):
    """One item's outcome, handed to a bulk helper's ``progress`` callback the moment it is known.

    ``progress=records.append`` keeps a job's own record, item by item, even if the job is interrupted.
    """

    index: int
    """The item's position in the input."""
    item: I_co
    """The input item itself."""
    outcome: T_co | BooksError
    """Its value, or the error it met (what ``BulkResult.results[index]`` will hold)."""
    done: int
    """Items settled so far, this one included."""
    total: int
    """Items given."""


Progress = Callable[[Settled[I, T]], object]
"""``progress(settled)``: called once per item, succeeded or failed, as each settles."""


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


class _Outcomes(Generic[I, T]):
    """Collects per-item outcomes while a job runs, and calls the progress callback."""

    def __init__(self, items: Sequence[I], progress: Progress[I, T] | None) -> None:
        self.items = items
        self.slots: list[T | BooksError | None] = [None] * len(items)
        self.done = 0
        self._progress = progress

    def settle(self, index: int, outcome: T | BooksError) -> None:
        self.slots[index] = outcome
        self._report(index, outcome)

    def settle_all(self, outcomes: Iterable[tuple[int, T | BooksError]]) -> None:
        """Settle several items at once: all are recorded before ``progress`` hears of the first."""
        settled = list(outcomes)
        for index, outcome in settled:
            self.slots[index] = outcome
        for index, outcome in settled:
            self._report(index, outcome)

    def _report(self, index: int, outcome: T | BooksError) -> None:
        self.done += 1
        if self._progress is not None:
            item = self.items[index]
            self._progress(
                Settled(index=index, item=item, outcome=outcome, done=self.done, total=len(self.items))
            )

    def settle_quietly(self, index: int, outcome: T | BooksError) -> None:
        """Settle an item while a bug is already on its way out: a second one from ``progress`` is dropped."""
        with contextlib.suppress(Exception):
            self.settle(index, outcome)

    def result(self) -> BulkResult[T]:
        return BulkResult(tuple(self.slots))

    def interrupted(self, bug: Exception) -> Exception:
        """``bug``, carrying the partial result: what a job that met a bug raises."""
        result = self.result()
        return attach_partial(
            bug, result, succeeded=result.succeeded, failed=result.failed, cancelled=result.cancelled
        )


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer; got {value!r}.")


def _check_concurrency(concurrency: object) -> None:
    _check_positive("concurrency", concurrency)


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
    _check_concurrency(concurrency)
    outcomes: _Outcomes[I, T] = _Outcomes(items, progress)
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
        async for piece in body.chunks(_READ_CHUNK):
            pending += piece
            if written + len(pending) > max_bytes:
                raise _too_big(target, max_bytes)
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
        max_response_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[InvoiceCreate, Invoice] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[Invoice]:
        """Create many invoices in as few requests as the body limits allow; return them in input order.

        Each item is checked locally and measured once, then items are packed greedily, in order, into JSON
        arrays (never split, never reordered) sent ``concurrency`` at a time. An array is kept under the
        smallest of: ``max_request_bytes`` (the API's 5 MB by default); what a 413 taught this client
        (4.5 MB, then half of what was refused; kept for the client's life, and said once in a WARNING);
        and ``max_response_bytes`` divided by the answer/request size ratio measured on earlier answers,
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
        creator: _Creator[InvoiceCreate, Invoice] = _Creator(
            list(items),
            client=self._client,
            limits=self._limits,
            kind="invoice",
            response_type=list[Invoice],
            number=lambda item: item.invoice_number,
            find=_find_invoices,
            concurrency=concurrency,
            max_items=max_items_per_request,
            max_bytes=max_request_bytes,
            max_response_bytes=max_response_bytes,
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
        max_response_bytes: int | None = PLATFORM_LIMIT,
        progress: Progress[QuoteCreate, Quote] | None = None,
        stop: asyncio.Event | None = None,
    ) -> BulkResult[Quote]:
        """Create many quotes in as few requests as the body limits allow; return them in input order.

        Works as :meth:`create_invoices`, with ``quote_number`` as the key. The API cannot search quotes by
        number, so reconciling lists the quotes of each affected customer.
        """
        creator: _Creator[QuoteCreate, Quote] = _Creator(
            list(items),
            client=self._client,
            limits=self._limits,
            kind="quote",
            response_type=list[Quote],
            number=lambda item: item.quote_number,
            find=_find_quotes,
            concurrency=concurrency,
            max_items=max_items_per_request,
            max_bytes=max_request_bytes,
            max_response_bytes=max_response_bytes,
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
        _check_concurrency(concurrency)
        if items and not (stop is not None and stop.is_set()):
            try:
                await prepare()
            except FATAL as exc:  # a bad key, say: no item can get past it
                failed: _Outcomes[I, T] = _Outcomes(items, progress)
                failed.settle_all((index, exc) for index in range(len(items)))
                return failed.result()
            except Exception as bug:  # nothing was sent yet: every item is untried
                untried: _Outcomes[I, T] = _Outcomes(items, None)
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
        _check_concurrency(concurrency)
        _check_positive("max_file_bytes", max_file_bytes)
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


# ---------------------------------------------------------------------------------------------- bulk create


class _Creator(Generic[I, T]):
    """One bulk-create job: checks, packing, a pool of senders, and per-chunk failure handling."""

    def __init__(
        self,
        items: list[I],
        *,
        client: BooksClient,
        kind: Literal["invoice", "quote"],
        response_type: type[list[T]],
        number: Callable[[I], str | None],
        find: Callable[[BooksClient, list[I]], Awaitable[dict[str, T]]],
        limits: BodyLimits,
        concurrency: int,
        max_items: int | None,
        max_bytes: int,
        max_response_bytes: int | None,
        progress: Progress[I, T] | None,
        stop: asyncio.Event | None,
    ) -> None:
        _check_concurrency(concurrency)
        if max_items is not None and (isinstance(max_items, bool) or max_items < 1):
            raise ConfigurationError(f"max_items_per_request must be a positive integer; got {max_items!r}.")
        if isinstance(max_bytes, bool) or not 2 < max_bytes <= MAX_BODY_BYTES:
            raise ConfigurationError(
                f"max_request_bytes must be from 3 to {MAX_BODY_BYTES:,} (the API limit); got {max_bytes!r}."
            )
        if max_response_bytes is not None and (
            isinstance(max_response_bytes, bool) or max_response_bytes < 1
        ):
            raise ConfigurationError(
                f"max_response_bytes must be a positive integer or None; got {max_response_bytes!r}."
            )
        self.max_bytes = max_bytes
        self.max_response_bytes = max_response_bytes
        self.limits = limits
        self.items = items
        self.kind = kind
        self.path = f"/books/{kind}s"
        self.url = client.base_url + self.path
        self._client = client
        self._response_type = response_type
        self._number = number
        self._find = find
        self.concurrency = concurrency
        self.max_items = max_items
        self.stop = stop
        self.outcomes: _Outcomes[I, T] = _Outcomes(items, progress)
        self.sends = [0] * len(items)
        """Sends of each item that may have created it (an atomic refusal does not count)."""
        self.unknown = [False] * len(items)
        """Whether a send of the item had an unknown outcome, so a later 409 may be our own doing."""
        self.sizes = [0] * len(items)
        """Each item's size in a bulk body, measured once."""
        self.pending: deque[deque[int]] = deque()
        """Runs of items to send, in order; each is cut into chunks under the size limit of the moment."""
        self.in_flight = 0
        self.changed = asyncio.Condition()
        """Notified when a chunk's handling ends: there may be more to send, or nothing left."""
        self.bugs: list[Exception] = []

    def number(self, index: int) -> str | None:
        return self._number(self.items[index])

    async def _create(self, batch: list[I]) -> list[T]:
        # Straight to the transport, not books.invoices.create: the items were validated when measured.
        where = f"POST {self.path}"
        body = _bulk_body(batch)
        answer = await self._client._transport.request_raw("POST", self.path, body=body)
        self.limits.answered(self.kind, len(body), len(answer.content))
        try:
            created = _serde.decode(answer.content, self._response_type, where=where)
        except ResponseDecodeError as exc:
            raise accepted_write_error(
                exc, "POST", self.path, answer.status, answer.content, self._client.base_url
            ) from exc
        if len(created) != len(batch):
            cause = ResponseDecodeError(f"{where}: {len(created)} objects came back for {len(batch)}")
            raise accepted_write_error(
                cause, "POST", self.path, answer.status, answer.content, self._client.base_url
            )
        return created

    # ---- checks and packing

    async def measure(self) -> list[int]:
        """Check and size each item once; return those fit to send, settling the others as failed."""
        first_use: dict[str, int] = {}
        fit: list[int] = []
        for index, item in enumerate(self.items):
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # ~30 ms of CPU per 1,000 items: let the rest of the loop run
            try:
                # Checked one by one, so a bad item is reported as itself, not as a chunk's failure.
                validate_request(item)
                size = len(_serde.dumps(_serde.unstructure_request(item)))
            except InvalidRequestError as exc:
                self.outcomes.settle(index, exc)
                continue
            if size + 2 > self.max_bytes:
                self.outcomes.settle(index, self.too_large(size))
                continue
            number = self.number(index)
            earlier = first_use.setdefault(number, index) if number is not None else index
            if earlier != index:
                self.outcomes.settle(
                    index,
                    InvalidRequestError(
                        f"Item {index} repeats the {self.kind} number {number} of item {earlier}; not sent.",
                        [
                            ErrorDetail(
                                path=(f"{self.kind}_number",),
                                message=f"Same as item {earlier}",
                                code="custom",
                            )
                        ],
                    ),
                )
                continue
            self.sizes[index] = size
            fit.append(index)
        return fit

    def too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"POST {self.path}: this {self.kind} alone is {size + 2:,} bytes as a bulk body, over the limit "
            f"of {self.max_bytes:,} bytes. It was not sent; shorten it (fewer lines, shorter notes).",
            status=413,
            body=None,
            method="POST",
            url=self.url,
        )

    def refused_before(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"POST {self.path}: this {self.kind} alone is {size + 2:,} bytes as a bulk body, and the API "
            f"refused a body of {self.limits.refused_at or 0:,} bytes as too large (413). It was not sent; "
            "shorten it (fewer lines, shorter notes).",
            status=413,
            body=None,
            method="POST",
            url=self.url,
        )

    # ---- running

    async def run(self) -> BulkResult[T]:
        bug: Exception | None = None
        try:
            fit = await self.measure()
        except Exception as exc:  # the progress callback's, say: nothing was sent yet
            bug = exc
        else:
            if fit:
                self.pending.append(deque(fit))
                async with asyncio.TaskGroup() as tg:
                    for _ in range(self.concurrency):
                        tg.create_task(self.worker())
            if self.bugs:
                bug = self.bugs[0]
        if bug is not None:
            raise self.outcomes.interrupted(bug)
        return self.outcomes.result()

    async def worker(self) -> None:
        try:
            while True:
                async with self.changed:
                    chunk = await self.next_chunk()
                    if chunk is None:
                        return
                    self.in_flight += 1
                try:
                    await self.send(chunk)
                except Exception as exc:
                    # The chunk was on its way: it may have been created. Then stop the job.
                    error = self.stopped_error(exc)
                    for index in chunk:
                        if self.outcomes.slots[index] is None:
                            self.outcomes.settle_quietly(index, error)
                    raise
                finally:
                    async with self.changed:
                        self.in_flight -= 1
                        self.changed.notify_all()
        except Exception as exc:  # a bug, ours or the progress callback's: the job stops, see run()
            self.bugs.append(exc)
            async with self.changed:
                self.changed.notify_all()

    async def next_chunk(self) -> list[int] | None:
        """Wait (holding ``changed``) for a chunk to send; None when nothing is left or the job stops."""
        while True:
            if self.bugs or (self.stop is not None and self.stop.is_set()):
                self.abandon()
                return None
            # Before any answer was measured, one small probe at a time: its answer sizes the rest.
            probing = self.max_response_bytes is not None and self.limits.ratio(self.kind) is None
            if self.pending and not (probing and self.in_flight):
                chunk = self.take()
                if chunk:
                    return chunk
            elif not self.pending and not self.in_flight:
                self.changed.notify_all()
                return None
            else:
                await self.changed.wait()

    def take(self) -> list[int]:
        """Cut the next chunk from the head of ``pending``: greedily, in order, under the limit of the moment.

        An item over the limit alone still goes alone: only a 413 proves it too big.
        """
        limit = self.limits.limit(self.kind, self.max_bytes, self.max_response_bytes)
        head = self.pending[0]
        chunk: list[int] = []
        body = 2  # the brackets
        while head:
            index = head[0]
            size = self.sizes[index]
            if self.limits.refuses(size + 2):
                head.popleft()
                self.outcomes.settle(index, self.refused_before(size))
                continue
            extra = size + 1 if chunk else size  # a comma before every item but the first
            if chunk and (body + extra > limit or len(chunk) == self.max_items):
                break
            head.popleft()
            chunk.append(index)
            body += extra
        if not head:
            self.pending.popleft()
        return chunk

    def abandon(self) -> None:
        """Drop what is left to send: items an earlier send may have created say so; the rest stay untried."""
        settle = self.outcomes.settle_quietly if self.bugs else self.outcomes.settle
        while self.pending:
            for index in self.pending.popleft():
                if self.unknown[index] and self.outcomes.slots[index] is None:
                    settle(index, self.stopped_error(None))

    def requeue(self, indices: list[int]) -> None:
        self.pending.append(deque(indices))

    def fail_all(self, indices: Iterable[int], error: BooksError) -> None:
        self.outcomes.settle_all((index, error) for index in indices)

    def resend(self, indices: list[int], error: BooksError) -> None:
        """Queue ``indices`` again, failing with ``error`` those already sent as often as allowed."""
        again = [i for i in indices if self.sends[i] < _MAX_SENDS]
        self.fail_all((i for i in indices if self.sends[i] >= _MAX_SENDS), error)
        if again:
            self.requeue(again)

    def refused(self, indices: Iterable[int]) -> None:
        # The API refused the chunk atomically: nothing was created, so these sends don't count. Progress
        # is still guaranteed, since every refusal removes an item or halves the chunk.
        for index in indices:
            self.sends[index] -= 1

    async def send(self, indices: list[int]) -> None:
        for index in indices:
            self.sends[index] += 1
        try:
            created = await self._create([self.items[i] for i in indices])
        except WriteAcceptedError as exc:
            await self.settle_accepted(indices, exc)
        except (ValidationError, ConflictError) as exc:
            await self.attribute(indices, exc)
        except PayloadTooLargeError as exc:
            self.too_big(indices, exc)
        except NotFoundError as exc:
            await self.narrow(indices, exc)
        except RateLimitError as exc:
            log.debug(
                "%s chunk of %d met 429 after the client's retries; sending again", self.kind, len(indices)
            )
            self.resend(indices, exc)
        except ServerError as exc:
            if exc.status == 503:
                # "Unavailable" means nothing was processed; any other 5xx may come after processing.
                self.resend(indices, exc)
            else:
                await self.reconcile(indices, exc)
        except APIConnectionError as exc:
            if exc.request_sent:
                await self.reconcile(indices, exc)
            else:
                self.resend(indices, exc)  # could not connect: nothing reached the API
        except OutcomeUnknownError as exc:
            await self.reconcile(indices, exc)
        except BooksError as exc:  # 401, 403, a closed client...: nothing to narrow down or retry
            self.fail_all(indices, exc)
        else:
            self.outcomes.settle_all(zip(indices, created, strict=True))

    async def attribute(self, indices: list[int], exc: ValidationError | ConflictError) -> None:
        """Fail the items a 400/409 names by index and resend the rest; narrow down if none is named."""
        named = _by_item(exc, len(indices))
        if not named:
            await self.narrow(indices, exc)
            return
        self.refused(indices)
        for position, details in named.items():
            self.outcomes.settle(indices[position], self.item_error(exc, indices[position], details))
        rest = [i for p, i in enumerate(indices) if p not in named]
        if rest:
            self.requeue(rest)

    def item_error(
        self, exc: ValidationError | ConflictError, index: int, details: list[ErrorDetail]
    ) -> BooksError:
        body = exc.body if isinstance(exc.body, Mapping) else {}
        wire = [{"path": list(d.path[1:]), "message": d.message, "code": d.code} for d in details]
        one = {"error": body.get("error", "error"), "message": f"item {index} was refused", "details": wire}
        text = f"POST {self.path} -> {exc.status}: item {index} was refused; fix the fields in .details."
        error = type(exc)(text, status=exc.status, body=one, method=exc.method, url=exc.url)
        error.__cause__ = exc
        return error

    def too_big(self, indices: list[int], exc: PayloadTooLargeError) -> None:
        """A 413: learn the limit it shows, and send the chunk again cut under it (an item alone fails)."""
        self.refused(indices)
        size = 2 + sum(self.sizes[i] for i in indices) + len(indices) - 1
        self.limits.refused(self.path, size, len(indices))
        if len(indices) == 1:
            self.outcomes.settle(indices[0], exc)
        else:
            # At the front: the chunk's items keep their place in the sending order.
            self.pending.appendleft(deque(indices))

    async def narrow(self, indices: list[int], exc: APIStatusError) -> None:
        """Halve a chunk refused as a whole without naming items, until the culprits are alone."""
        self.refused(indices)
        if len(indices) > 1:
            middle = len(indices) // 2
            log.debug("%s chunk of %d refused (%d); halving it", self.kind, len(indices), exc.status)
            self.requeue(indices[:middle])
            self.requeue(indices[middle:])
            return
        index = indices[0]
        if isinstance(exc, ConflictError) and self.unknown[index]:
            # An earlier attempt of ours, whose answer was lost, may be what took the number.
            try:
                found = await self.find([index])
            except BooksError:
                found = {}
            if index in found:
                self.outcomes.settle(index, found[index])
                return
        self.outcomes.settle(index, exc)

    async def settle_accepted(self, indices: list[int], cause: WriteAcceptedError) -> None:
        """The API created the chunk (2xx) but its answer was unreadable: read back what can be, resend none.

        A look-up by number that finds nothing proves nothing here (the chunk was created), so every item not
        found keeps ``cause``, which says the write happened.
        """
        numbered = [i for i in indices if self.number(i) is not None]
        found: dict[int, T] = {}
        if numbered:
            try:
                found = await self.find(numbered)
            except BooksError as exc:
                log.debug("reading back an accepted %s chunk failed (%s)", self.kind, type(exc).__name__)
        self.outcomes.settle_all((index, found.get(index, cause)) for index in indices)

    async def reconcile(self, indices: list[int], cause: BooksError) -> None:
        """After an unknown outcome: settle the items that exist, resend the missing numbered ones."""
        for index in indices:
            self.unknown[index] = True
        numbered = [i for i in indices if self.number(i) is not None]
        unnumbered = [i for i in indices if self.number(i) is None]
        if unnumbered:
            self.fail_all(unnumbered, self.unknown_error(cause, numbered=False))
        if not numbered:
            return
        try:
            # A bulk create is atomic: if one item is not there, none is, and one look-up tells.
            found = await self.find(numbered[:1])
            if found:
                found.update(await self.find(numbered[1:]))
        except BooksError as exc:
            log.debug(
                "reconciling a %s chunk failed (%s); reporting it unknown", self.kind, type(exc).__name__
            )
            self.fail_all(numbered, self.unknown_error(cause, numbered=True))
            return
        self.outcomes.settle_all(found.items())
        missing = [i for i in numbered if i not in found]
        log.debug(
            "%s chunk of %d with an unknown outcome: %d found, %d to resend, %d without a number",
            self.kind,
            len(indices),
            len(found),
            len(missing),
            len(unnumbered),
        )
        self.resend(missing, self.unknown_error(cause, numbered=True))

    def unknown_error(self, cause: BooksError, *, numbered: bool) -> OutcomeUnknownError:
        kind = self.kind
        if numbered:
            text = (
                f"POST {self.path}: creating this {kind} kept failing with an unknown outcome "
                f"({_MAX_SENDS} attempts). Look it up by its number before sending it again."
            )
        else:
            text = (
                f"POST {self.path}: the request may have created this {kind}, and without a {kind} number "
                f"it cannot be looked up, so it was not resent. Check the {kind}s before sending it again "
                "(give every item a number to make this automatic)."
            )
        error = OutcomeUnknownError(text, method="POST", url=self.url)
        error.__cause__ = cause
        return error

    def stopped_error(self, bug: Exception | None) -> OutcomeUnknownError:
        """For an item that may exist when the job ends: in flight when a bug hit, or waiting to be sent
        again after an unknown outcome."""
        kind = self.kind
        if bug is not None:
            happened = (
                f"the job stopped on an unexpected error ({type(bug).__name__}) while this {kind} was sent"
            )
        else:
            happened = (
                f"a send of this {kind} had an unknown outcome, and the job stopped before sending it again"
            )
        error = OutcomeUnknownError(
            f"POST {self.path}: {happened}, so it may have been created. Look it up by its number before "
            "sending it again.",
            method="POST",
            url=self.url,
        )
        error.__cause__ = bug
        return error

    async def find(self, indices: list[int]) -> dict[int, T]:
        """Look items up by number; return those that exist, by input index."""
        if not indices:
            return {}
        by_number = {self.number(i): i for i in indices}
        found = await self._find(self._client, [self.items[i] for i in indices])
        return {by_number[n]: value for n, value in found.items() if n in by_number}


async def _nothing_to_prepare() -> None:
    """What a job needs before its first item when it needs nothing."""


def _bulk_body(batch: Sequence[object]) -> bytes:
    """Encode items as one JSON array: exactly the bytes measured (brackets, commas, each item's own JSON).

    The items were validated when measured: unlike ``books.invoices.create``, this does not check them again.
    """
    return b"[" + b",".join(_serde.dumps(_serde.unstructure_request(item)) for item in batch) + b"]"


def _by_item(exc: ValidationError | ConflictError, size: int) -> dict[int, list[ErrorDetail]]:
    """Group a bulk error's details by the item index their path starts with (empty if any does not)."""
    if isinstance(exc, ValidationError):
        details = exc.details
    else:
        raw = exc.body.get("details") if isinstance(exc.body, Mapping) else None
        details = tuple(ErrorDetail.from_wire(d) for d in raw) if isinstance(raw, list) else ()
    named: dict[int, list[ErrorDetail]] = {}
    for detail in details:
        head = detail.path[0] if detail.path else None
        if not isinstance(head, int) or isinstance(head, bool) or not 0 <= head < size:
            return {}  # a detail about the whole body: nothing can be pinned on one item
        named.setdefault(head, []).append(detail)
    return named


async def _find_invoices(client: BooksClient, items: list[InvoiceCreate]) -> dict[str, Invoice]:
    wanted = {item.invoice_number for item in items if item.invoice_number is not None}
    found: dict[str, Invoice] = {}
    if len(wanted) >= _SCAN_MIN:
        # Newest first: a just-created chunk sits on the first pages, 100 invoices a request.
        pages = -(-len(wanted) // MAX_PAGE_SIZE) + _SCAN_SLACK_PAGES
        page = 1
        while page <= pages and len(found) < len(wanted):
            listing = await client.invoices.list(page=page, limit=MAX_PAGE_SIZE)
            found.update((inv.invoice_number, inv) for inv in listing.data if inv.invoice_number in wanted)
            where = listing.pagination
            last = where.page >= where.pages if where is not None else len(listing.data) < MAX_PAGE_SIZE
            if not listing.data or last:
                break
            page += 1
    for number in sorted(wanted - found.keys()):
        invoice = await client.invoices.find_by_number(number)
        if invoice is not None:
            found[number] = invoice
    return found


async def _find_quotes(client: BooksClient, items: list[QuoteCreate]) -> dict[str, Quote]:
    # The API cannot search quotes by number: list each customer's quotes instead.
    by_customer: dict[str, set[str]] = {}
    for item in items:
        if item.quote_number is not None:
            by_customer.setdefault(item.customer_id, set()).add(item.quote_number)
    found: dict[str, Quote] = {}
    for customer_id, wanted in by_customer.items():
        seen = 0
        async for quote in client.quotes.iter(customer_id=customer_id):
            if quote.quote_number in wanted:
                found[quote.quote_number] = quote
                seen += 1
                if seen == len(wanted):
                    break
    return found

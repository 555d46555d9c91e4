"""Sends and payments whose outcome is unknown, resolved by reading the document back where that proves it.

A read-back can prove that a write happened, never that it did not: after a 504 the API may still be at
work. So an item whose request may have been carried out (see :func:`maybe_processed`) is settled as done
only on proof, and otherwise fails with :class:`OutcomeUnknownError`; it is never sent again by itself.

- A payment is proven when the invoice holds more payments matching it (amount, method, and the date,
  reference and notes it was given) than a snapshot taken before the attempt did. Counting, not looking for
  "one like it": two equal payments on one invoice are legitimate.
- A send is proven when a document that was a draft before the attempt no longer is. A document that was
  already sent proves nothing: a second e-mail leaves no trace a read can tell from the first.

Snapshots come from list pages read at the start of the job (100 documents a request), or else from a GET
just before the attempt. Items on one document run one after another, so each one's snapshot follows the
previous one's outcome; after an outcome left unknown, counting on that document proves nothing any more.
A field the API left out (read as None) proves nothing either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Generic, TypeVar

from books_async._bulk.outcomes import FATAL, maybe_processed, unknown
from books_async._exceptions import APIStatusError, BooksError, WriteAcceptedError
from books_async._generated.models import (
    EmailReceipt,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentCreate,
    PaymentRecorded,
    Quote,
    QuoteStatus,
)
from books_async._pagination import MAX_PAGE_SIZE, PageLike
from books_async._resource import Resource

__all__ = ["OneAtATime", "Payments", "Sends", "Snapshots"]

log = logging.getLogger("books_async.bulk")

D = TypeVar("D", Invoice, Quote)

# Pages read past the job's own size when looking for its documents, for documents other writers added since.
_SLACK_PAGES = 2
# Statuses only a send (or what follows one) moves a draft to. Not `void` (a draft can be voided unsent),
# not a quote's `converted` (drafts convert too) or `expired` (derived from the date).
INVOICE_SENT = frozenset(
    {InvoiceStatus.sent, InvoiceStatus.partially_paid, InvoiceStatus.paid, InvoiceStatus.overdue}
)
QUOTE_SENT = frozenset({QuoteStatus.sent, QuoteStatus.accepted, QuoteStatus.declined})


class OneAtATime:
    """Runs the items of one document one after another; items of different documents run freely."""

    def __init__(self, keys: Iterable[str]) -> None:
        # Locks only for documents with several items: the common job has none.
        self._locks = {key: asyncio.Lock() for key, count in Counter(keys).items() if count > 1}
        self._free = contextlib.nullcontext()

    def __call__(self, key: str) -> contextlib.AbstractAsyncContextManager[object]:
        return self._locks.get(key, self._free)


class Snapshots(Generic[D]):
    """What each document of a job looked like before the job's latest attempt on it."""

    def __init__(
        self,
        *,
        get: Callable[[str], Awaitable[D]],
        page: Callable[[int], Awaitable[PageLike[D]]],
        usable: Callable[[D], bool],
    ) -> None:
        self._get: Callable[[str], Awaitable[D]] = get
        self._page: Callable[[int], Awaitable[PageLike[D]]] = page
        # A list row may hold less than a GET (the live API's rows are not documented): such a row is
        # fetched again before its attempt.
        self._usable: Callable[[D], bool] = usable
        self._docs: dict[str, D] = {}
        self._absent: set[str] = set()
        """Not in a list read to its end: a GET would find nothing a proof could use."""
        self._spoiled: set[str] = set()
        """No later attempt on these can be proven (an outcome left unknown, or a draft already sent)."""

    async def prefetch(self, ids: Collection[str]) -> None:
        """Read list pages, newest first, for the documents in ``ids``; never more requests than a GET each.

        Every page when that is cheaper than a GET per document; else the few newest pages, where a job's
        fresh documents sit. What is not found is fetched one by one before its attempt, unless the list was
        read to its end. A failure here only costs the proof, and the job goes on, unless no request can
        succeed (:data:`FATAL`): that is raised.
        """
        wanted = set(ids)
        budget = -(-len(wanted) // MAX_PAGE_SIZE) + _SLACK_PAGES
        seen: set[str] = set()
        number = 1
        try:
            while len(seen & wanted) < len(wanted):
                listing = await self._page(number)
                fresh = [doc for doc in listing.data if doc.id not in seen]
                seen.update(doc.id for doc in fresh)
                self._docs.update((doc.id, doc) for doc in fresh if doc.id in wanted and self._usable(doc))
                where = listing.pagination
                if number == 1 and where is not None and where.pages <= len(wanted):
                    budget = where.pages
                last = len(listing.data) < MAX_PAGE_SIZE if where is None else where.page >= where.pages
                if last and (where is None or where.page == number):
                    self._absent = wanted - seen  # rows seen but not usable are fetched, not absent
                    break
                if not fresh or number >= budget:
                    break
                number += 1
        except FATAL:
            raise
        except BooksError as exc:
            log.debug("reading snapshots failed (%s); taking them one by one", type(exc).__name__)

    async def before(self, doc_id: str) -> D | None:
        """The document as it is before this attempt, or None when no proof can rest on it."""
        if doc_id in self._spoiled:
            return None
        doc = self._docs.get(doc_id)
        if doc is not None or doc_id in self._absent:
            return doc
        try:
            doc = await self._get(doc_id)
        except BooksError as exc:
            log.debug("snapshot of %s failed (%s)", doc_id, type(exc).__name__)
            return None
        self._docs[doc_id] = doc
        return doc

    def unlisted(self, doc_id: str) -> bool:
        """Whether ``doc_id`` was missing from a list read to its end (for sends: it was no draft)."""
        return doc_id in self._absent

    async def read_back(self, doc_id: str) -> D | BooksError:
        """The document as it is now, or what reading it met."""
        try:
            return await self._get(doc_id)
        except BooksError as exc:
            return exc

    def keep(self, doc_id: str, doc: D | None) -> None:
        """Take ``doc`` (the document as the API just answered it) as the next attempt's snapshot.

        None forgets the old one: the next attempt on the document reads it first.
        """
        self._absent.discard(doc_id)
        if doc is None:
            self._docs.pop(doc_id, None)
        else:
            self._docs[doc_id] = doc

    def spoil(self, doc_id: str) -> None:
        """No later attempt on ``doc_id`` can be proven by a read-back."""
        self._spoiled.add(doc_id)
        self._docs.pop(doc_id, None)


def _failure(exc: BooksError) -> str:
    """What a failure that may hide a processed request was, in a few words."""
    status = exc.status if isinstance(exc, APIStatusError) else getattr(exc, "status", None)
    if isinstance(status, int):
        return f"it was answered {status}"
    return "its answer was lost"


def _read_failed(error: BooksError) -> str:
    return f"reading it back failed ({type(error).__name__})"


# ---------------------------------------------------------------------------------------------- sends


class Sends(Generic[D]):
    """``books.bulk.send_invoices`` and ``send_quotes``: one e-mail per item, proven by the status."""

    def __init__(
        self,
        ids: list[str],
        *,
        kind: str,
        base_url: str,
        path: str,
        send: Callable[[str], Awaitable[EmailReceipt]],
        get: Callable[[str], Awaitable[D]],
        drafts: Callable[[int], Awaitable[PageLike[D]]],
        draft: InvoiceStatus | QuoteStatus,
        sent: frozenset[InvoiceStatus] | frozenset[QuoteStatus],
    ) -> None:
        self.ids = ids
        self._kind = kind
        self._base_url = base_url
        self._path = path
        self._send = send
        self._draft = draft
        self._sent: frozenset[str] = sent
        # Only drafts can prove a send, so only drafts are looked for.
        self._snapshots: Snapshots[D] = Snapshots(get=get, page=drafts, usable=_has_status)
        self._serial = OneAtATime(ids)

    def path(self, doc_id: str) -> str:
        return Resource._path(self._path, id=doc_id)

    async def prepare(self) -> None:
        await self._snapshots.prefetch(self.ids)

    async def one(self, doc_id: str) -> EmailReceipt:
        async with self._serial(doc_id):
            return await self._one(doc_id)

    async def _one(self, doc_id: str) -> EmailReceipt:
        before = await self._snapshots.before(doc_id)
        try:
            receipt = await self._send(doc_id)
        except WriteAcceptedError:
            self._snapshots.spoil(doc_id)
            after = await self._snapshots.read_back(doc_id)
            if isinstance(after, BooksError):
                raise  # it happened all the same: the error says so
            return _receipt_from(after)
        except BooksError as exc:
            if not maybe_processed(exc):
                raise
            return await self._resolve(doc_id, before, exc)
        # Sent: no longer a draft, so a second send of it in this job could not be proven.
        self._snapshots.spoil(doc_id)
        return receipt

    async def _resolve(self, doc_id: str, before: D | None, exc: BooksError) -> EmailReceipt:
        self._snapshots.spoil(doc_id)
        kind = self._kind
        if before is None and not self._snapshots.unlisted(doc_id):
            why = f"there is no snapshot of the {kind} from before the attempt"
        elif before is None or before.status is not self._draft:
            why = f"the {kind} was not a draft before, and a second e-mail cannot be told from the first"
        else:
            after = await self._snapshots.read_back(doc_id)
            if isinstance(after, BooksError):
                why = _read_failed(after)
            elif after.status is not None and after.status in self._sent:
                log.debug("%s %s: the send with an unknown outcome was carried out", kind, doc_id)
                return _receipt_from(after)
            elif after.status is self._draft:
                why = f"the {kind} is still a draft, and the API may still send it"
            else:
                why = f"the {kind}'s status reads {after.status!r}, which proves nothing"
        path = self.path(doc_id)
        raise unknown(
            f"POST {path}: the e-mail may have gone out ({_failure(exc)}), and reading the {kind} back "
            f"did not prove it: {why}. It was not sent again: check with the customer, or the {kind}'s "
            "status, before sending it again.",
            method="POST",
            url=self._base_url + path,
            cause=exc,
        )


def _has_status(doc: Invoice | Quote) -> bool:
    return doc.status is not None


def _receipt_from(doc: Invoice | Quote) -> EmailReceipt:
    """A receipt for a send proven by reading the document back: only what the document says."""
    return EmailReceipt(
        message_id=None,
        to=None,
        subject=None,
        attachment_name=None,
        attachment_size=None,
        sent_at=doc.sent_at,
        document_status=None if doc.status is None else str(doc.status),
    )


# ---------------------------------------------------------------------------------------------- payments


class Payments:
    """``books.bulk.record_payments``: one payment per item, proven by counting the invoice's payments."""

    def __init__(
        self,
        pairs: list[tuple[str, PaymentCreate]],
        *,
        base_url: str,
        path: str,
        record: Callable[[str, PaymentCreate], Awaitable[PaymentRecorded]],
        get: Callable[[str], Awaitable[Invoice]],
        page: Callable[[int], Awaitable[PageLike[Invoice]]],
    ) -> None:
        self.pairs = pairs
        self._base_url = base_url
        self._path = path
        self._record = record
        self._snapshots: Snapshots[Invoice] = Snapshots(get=get, page=page, usable=_has_payments)
        self._serial = OneAtATime(invoice_id for invoice_id, _ in pairs)

    def path(self, invoice_id: str) -> str:
        return Resource._path(self._path, id=invoice_id)

    async def prepare(self) -> None:
        await self._snapshots.prefetch({invoice_id for invoice_id, _ in self.pairs})

    async def one(self, pair: tuple[str, PaymentCreate]) -> PaymentRecorded:
        async with self._serial(pair[0]):
            return await self._one(*pair)

    async def _one(self, invoice_id: str, payment: PaymentCreate) -> PaymentRecorded:
        before = await self._snapshots.before(invoice_id)
        try:
            recorded = await self._record(invoice_id, payment)
        except WriteAcceptedError:
            after = await self._snapshots.read_back(invoice_id)
            if isinstance(after, BooksError):
                self._snapshots.spoil(invoice_id)
                raise  # it happened all the same: the error says so
            self._snapshots.keep(invoice_id, after)
            return PaymentRecorded(payment=_new_payment(before, after, payment), invoice=after)
        except BooksError as exc:
            if not maybe_processed(exc):
                raise  # refused or never sent: the snapshot still holds
            return await self._resolve(invoice_id, payment, before, exc)
        now = recorded.invoice
        self._snapshots.keep(invoice_id, now if now is not None and now.payments is not None else None)
        return recorded

    async def _resolve(
        self, invoice_id: str, payment: PaymentCreate, before: Invoice | None, exc: BooksError
    ) -> PaymentRecorded:
        after = await self._snapshots.read_back(invoice_id)
        if before is None:
            why = "there is no snapshot of the invoice from before the attempt"
        elif isinstance(after, BooksError):
            why = _read_failed(after)
        else:
            was, now = _count(before, payment), _count(after, payment)
            if was is None or now is None:
                why = "the API's answer leaves out fields needed to tell its payments apart"
            elif now > was:
                log.debug("invoice %s: the payment with an unknown outcome was recorded", invoice_id)
                self._snapshots.keep(invoice_id, after)
                return PaymentRecorded(payment=_new_payment(before, after, payment), invoice=after)
            else:
                why = "no new payment like it is there, and the API may still record it"
        # Were it recorded later, it would count for the next payment like it on this invoice.
        self._snapshots.spoil(invoice_id)
        path = self.path(invoice_id)
        raise unknown(
            f"POST {path}: the API may have recorded this payment ({_failure(exc)}), and reading the invoice "
            f"back did not prove it: {why}. It was not sent again: look at the invoice's payments before "
            "recording it again.",
            method="POST",
            url=self._base_url + path,
            cause=exc,
        )


def _has_payments(invoice: Invoice) -> bool:
    return invoice.payments is not None


def _matches(stored: Payment, wanted: PaymentCreate) -> bool | None:
    """Whether a stored payment is one like ``wanted``; None when a field left out leaves it open."""
    pairs: list[tuple[object, object]] = [
        (stored.amount, wanted.amount),
        (stored.payment_method, wanted.payment_method),
    ]
    if wanted.payment_date is not None:  # else the API chose the date: any will do
        pairs.append((stored.payment_date, wanted.payment_date))
    open_ = False
    for got, want in pairs:
        if got is None:
            open_ = True
        elif got != want:
            return False
    # Optional text: absent on the wire and left out by the API read alike, as None.
    for got, want in ((stored.reference, wanted.reference), (stored.notes, wanted.notes)):
        if got is None and want is not None:
            open_ = True
        elif got != want:
            return False
    return None if open_ else True


def _count(invoice: Invoice, wanted: PaymentCreate) -> int | None:
    """How many of the invoice's payments are like ``wanted``; None if that cannot be told."""
    if invoice.payments is None:
        return None
    count = 0
    for stored in invoice.payments:
        match = _matches(stored, wanted)
        if match is None:
            return None
        count += match
    return count


def _new_payment(before: Invoice | None, after: Invoice, wanted: PaymentCreate) -> Payment | None:
    """The one payment like ``wanted`` in ``after`` and not in ``before``, if ids tell it; else None."""
    if before is None or before.payments is None or after.payments is None:
        return None
    old = {p.id for p in before.payments}
    if None in old:
        return None
    new = [p for p in after.payments if p.id is not None and p.id not in old and _matches(p, wanted)]
    return new[0] if len(new) == 1 else None

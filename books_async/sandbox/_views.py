"""How stored documents are served: derived statuses, and JSON bytes cached until a document changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final

from ._json import dumps
from ._store import Record

__all__ = ["document_view", "invoice_status", "page_json", "quote_status", "record_json"]

_ZERO: Final = Decimal(0)


def invoice_status(doc: dict[str, object], day: date) -> str:
    """Return the status to show: sent or partially paid, with a balance, past the due date is overdue."""
    status = doc.get("status")
    if status in ("sent", "partially_paid"):
        due = doc.get("due_date")
        balance = doc.get("balance_due")
        if (
            isinstance(due, str)
            and due < day.isoformat()
            and isinstance(balance, Decimal)
            and balance > _ZERO
        ):
            return "overdue"
    return str(status)


def quote_status(doc: dict[str, object], day: date) -> str:
    """Return the status to report: an unconverted, undecided quote past its expiry date is expired."""
    status = doc.get("status")
    if status in ("draft", "sent", "accepted"):
        expiry = doc.get("expiry_date")
        if isinstance(expiry, str) and expiry < day.isoformat():
            return "expired"
    return str(status)


def document_view(rec: Record, day: date) -> dict[str, object]:
    """Return the document as the API shows it today (a shallow copy when a status is derived)."""
    if rec.collection == "invoices":
        status = invoice_status(rec.doc, day)
    elif rec.collection == "quotes":
        status = quote_status(rec.doc, day)
    else:
        return rec.doc
    if status == rec.doc.get("status"):
        return rec.doc
    return {**rec.doc, "status": status}


def record_json(rec: Record, day: date) -> bytes:
    """Return the JSON of ``rec`` as served today, serialising only when it changed (or the day did)."""
    cached = rec.cache
    if cached is not None and (rec.cache_day == day or rec.collection not in ("invoices", "quotes")):
        return cached
    data = dumps(document_view(rec, day))
    rec.cache = data
    rec.cache_day = day
    return data


def page_json(items: list[bytes], *, page: int, limit: int, total: int) -> bytes:
    """Return a list answer, ``{"data": [...], "pagination": {...}}``, from already-serialised items."""
    pages = (total + limit - 1) // limit
    # Formatted by hand: a page number may exceed the 64-bit integers orjson can write.
    tail = b'{"page":%d,"limit":%d,"total":%d,"pages":%d}' % (page, limit, total, pages)
    return b'{"data":[' + b",".join(items) + b'],"pagination":' + tail + b"}"

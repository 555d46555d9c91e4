"""``/books/invoices``: list, create (one or bulk), get, update, delete, bulk actions, PDF, send, payments."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final, cast

from aiohttp import web

from ._core import ApiError, Call, check_places, conflict, json_response, validation_error
from ._documents import as_error, create_response, pdf_response, send_document
from ._ids import now_iso, object_id
from ._json import dumps
from ._store import Record
from ._validation import Issue
from ._views import invoice_status, page_json, record_json

__all__ = ["HANDLERS", "list_page"]

_ALLOWED: Final = {("draft", "sent"), ("draft", "void"), ("sent", "void")}
_ZERO: Final = Decimal("0.00")


def list_page(call: Call, records: Iterable[Record], *, sort: bool = False) -> web.Response:
    """Answer one page of ``records`` (newest first unless already ordered) with pagination metadata."""
    page = cast("int", call.query.get("page", 1))
    limit = cast("int", call.query.get("limit", 20))
    items = list(records)
    if sort:
        items.sort(key=lambda r: r.seq, reverse=True)
    day = call.state.today()
    start = (page - 1) * limit
    chunk = [record_json(r, day) for r in items[start : start + limit]]
    return json_response(page_json(chunk, page=page, limit=limit, total=len(items)))


async def list_invoices(call: Call) -> web.StreamResponse:
    """``GET /books/invoices``: newest first, filtered by status (``overdue`` derived) and search."""
    space = call.space
    status = call.query.get("status")
    search = call.query.get("search")
    day = call.state.today()
    records: Iterable[Record]
    sort = False
    if status is None:
        records = reversed(space["invoices"].values())
    else:
        sort = True
        by_status = space.invoices_by_status
        if status in ("overdue", "sent", "partially_paid"):
            pool = [*by_status["sent"].values(), *by_status["partially_paid"].values()]
            records = [r for r in pool if invoice_status(r.doc, day) == status]
        else:
            records = by_status.get(str(status), {}).values()
    if isinstance(search, str):
        needle = search.lower()
        records = [r for r in records if needle in r.search]
    return list_page(call, records, sort=sort)


async def create_invoices(call: Call) -> web.StreamResponse:
    """``POST /books/invoices``: one InvoiceCreate, or an array of them created atomically."""
    return await create_response(call, "invoice")


async def get_invoice(call: Call) -> web.StreamResponse:
    """``GET /books/invoices/{id}``."""
    rec = call.lookup("invoices", "invoice")
    return json_response(record_json(rec, call.state.today()))


def change_status(call: Call, rec: Record, new: str, stamp: str) -> bool:
    """Apply a status change the state machine allows; return whether anything changed.

    Raises:
        ApiError: 409 for a change the state machine forbids.
    """
    current = str(rec.doc.get("status"))
    shown = invoice_status(rec.doc, call.state.today())
    if new in (current, shown):
        # Asking for the status the invoice already has is not a change, so a retried PATCH succeeds.
        return False
    if (current, new) not in _ALLOWED:
        raise conflict(
            f"Cannot change an invoice from {shown} to {new}: the allowed changes are draft → sent, "
            "draft → void and sent → void; payments make an invoice partially_paid or paid."
        )
    rec.doc["status"] = new
    if new == "sent":
        rec.doc.setdefault("sent_at", stamp)
    else:
        rec.meta["voided_at"] = stamp
    return True


async def update_invoice(call: Call) -> web.StreamResponse:
    """``PATCH /books/invoices/{id}``: status (by the state machine), notes, terms."""
    rec = call.lookup("invoices", "invoice")
    body = call.body_dict()
    stamp = now_iso()
    changed = False
    if "status" in body:
        changed = change_status(call, rec, str(body["status"]), stamp)
    for key in ("notes", "terms"):
        if key in body and rec.doc.get(key) != body[key]:
            rec.doc[key] = body[key]
            changed = True
    if changed:
        call.store.touch(rec, stamp=stamp)
    return json_response(record_json(rec, call.state.today()))


def _delete(call: Call, rec: Record) -> None:
    if rec.doc.get("payments"):
        raise conflict("An invoice with payments recorded cannot be deleted: void it instead.")
    call.store.delete(rec)


async def delete_invoice(call: Call) -> web.StreamResponse:
    """``DELETE /books/invoices/{id}``: refused (409) once a payment is recorded."""
    _delete(call, call.lookup("invoices", "invoice"))
    return web.Response(status=204)


async def bulk_action(call: Call) -> web.StreamResponse:
    """``POST /books/invoices/bulk-action``: per-id outcomes, not atomic."""
    body = call.body_dict()
    action = body["action"]
    status = body.get("status")
    if action == "update_status" and status is None:
        raise validation_error(
            [{"path": ["status"], "message": "Required with update_status", "code": "custom"}]
        )
    if action == "delete" and status is not None:
        raise validation_error([{"path": ["status"], "message": "Not allowed with delete", "code": "custom"}])
    results: list[dict[str, object]] = []
    stamp = now_iso()
    for doc_id in cast("list[str]", body["ids"]):
        rec = call.store.get("invoices", call.org_id, doc_id)
        if rec is None:
            results.append(
                {
                    "id": doc_id,
                    "ok": False,
                    "error": "not_found",
                    "message": f"No invoice with id {doc_id} in this organisation.",
                }
            )
            continue
        try:
            if action == "delete":
                _delete(call, rec)
            elif change_status(call, rec, str(status), stamp):
                call.store.touch(rec, stamp=stamp)
        except ApiError as exc:
            results.append({"id": doc_id, **as_error(exc)})
        else:
            results.append({"id": doc_id, "ok": True})
    ok = sum(1 for r in results if r["ok"])
    return json_response({"results": results, "succeeded": ok, "failed": len(results) - ok})


async def invoice_pdf(call: Call) -> web.StreamResponse:
    """``GET /books/invoices/{id}/pdf``."""
    return await pdf_response(call, "invoices", "invoice")


async def send_invoice(call: Call) -> web.StreamResponse:
    """``POST /books/invoices/{id}/send``."""
    return await send_document(call, "invoices", "invoice")


async def record_payment(call: Call) -> web.StreamResponse:
    """``POST /books/invoices/{id}/payments``: lowers balance_due; partially_paid, then paid."""
    rec = call.lookup("invoices", "invoice")
    body = call.body_dict()
    status = rec.doc.get("status")
    if status in ("draft", "void"):
        raise conflict(
            f"A {status} invoice takes no payments" + (": send it first." if status == "draft" else ".")
        )
    issues: list[Issue] = []
    amount = check_places(body["amount"], ["amount"], 2, issues)
    balance = cast("Decimal", rec.doc.get("balance_due", _ZERO))
    if amount is not None and amount > balance:
        issues.append(
            {
                "path": ["amount"],
                "message": f"The amount is more than the balance due ({balance})",
                "code": "too_big",
                "maximum": balance,
                "inclusive": True,
                "type": "number",
            }
        )
    if issues or amount is None:
        raise validation_error(issues)
    stamp = now_iso()
    payment: dict[str, object] = {
        "_id": object_id(),
        "amount": amount,
        "payment_method": body["payment_method"],
        "payment_date": body.get("payment_date") or call.state.today().isoformat(),
    }
    for key in ("reference", "notes"):
        if key in body:
            payment[key] = body[key]
    payment["createdAt"] = stamp
    cast("list[object]", rec.doc["payments"]).append(payment)
    paid = cast("Decimal", rec.doc["amount_paid"]) + amount
    rec.doc["amount_paid"] = paid
    rec.doc["balance_due"] = balance - amount
    rec.doc["status"] = "paid" if balance - amount == 0 else "partially_paid"
    call.store.touch(rec, stamp=stamp)
    body_json = b'{"payment":' + dumps(payment) + b',"invoice":' + record_json(rec, call.state.today()) + b"}"
    return json_response(body_json, status=201)


HANDLERS: Final = {
    "invoices.list": list_invoices,
    "invoices.create": create_invoices,
    "invoices.bulk_action": bulk_action,
    "invoices.get": get_invoice,
    "invoices.update": update_invoice,
    "invoices.delete": delete_invoice,
    "invoices.pdf": invoice_pdf,
    "invoices.send": send_invoice,
    "invoices.record_payment": record_payment,
}

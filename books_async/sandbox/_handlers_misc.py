"""``/orgs``, ``/books/validate``, ``/books/mobile/dashboard`` and the sandbox-only outbox."""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable
from decimal import Decimal
from typing import Final, cast

from aiohttp import web

from ._core import ApiError, Call, json_response, not_found
from ._documents import DocKind, check_document, number_key, number_taken, raise_if
from ._gst import GSTIN_RE, gstin_error, pan_error
from ._handlers_catalog import check_customer, check_product, check_service
from ._handlers_invoices import list_page
from ._ids import now_iso
from ._store import Record
from ._validation import Issue
from ._views import invoice_status, record_json

__all__ = ["HANDLERS", "outbox"]

_ZERO: Final = Decimal("0.00")
_CREATE_SCHEMAS: Final = {
    "invoice": "InvoiceCreate",
    "quote": "QuoteCreate",
    "customer": "CustomerCreate",
    "product": "ProductCreate",
    "service": "ServiceCreate",
}
_ACTIVITY_LIMIT: Final = 20

# ----------------------------------------------------------------------------------------------- orgs


def _visible_orgs(call: Call) -> list[Record]:
    store = call.store
    return [rec for rec in store.orgs.values() if store.account_of(rec.id) == call.key.account_id]


def _org(call: Call) -> Record:
    rec = call.store.orgs.get(call.id)
    if rec is None or call.store.account_of(rec.id) != call.key.account_id:
        raise not_found("organisation", call.id)
    return rec


async def list_orgs(call: Call) -> web.StreamResponse:
    """``GET /orgs``: only the organisations of the key's account."""
    return list_page(call, _visible_orgs(call))


async def get_org(call: Call) -> web.StreamResponse:
    """``GET /orgs/{id}``."""
    return json_response(record_json(_org(call), call.state.today()))


def _pan_issues(body: dict[str, object], current: dict[str, object], gstin: object) -> list[Issue]:
    """DOMAIN.md, PAN: a listed holder type; a regular taxpayer's PAN is its GSTIN's characters 3-12.

    Only a PAN-shaped GSTIN carries a PAN: TDS/TCS, UIN and non-resident registrations have other shapes.
    """
    pan = body.get("pan", current.get("pan"))
    if "pan" in body:
        why = pan_error(pan)
        if why is not None:
            return [{"path": ["pan"], "message": why, "code": "custom"}]
    if isinstance(pan, str) and isinstance(gstin, str) and GSTIN_RE.fullmatch(gstin) and gstin[2:12] != pan:
        where = ["pan"] if "pan" in body else ["gstin"]
        message = f"The PAN {pan} is not the one inside the GSTIN {gstin} ({gstin[2:12]})"
        return [{"path": where, "message": message, "code": "custom"}]
    return []


async def update_org(call: Call) -> web.StreamResponse:
    """``PATCH /orgs/{id}``: owners only; a GSTIN must carry the organisation's state code."""
    if call.key.role != "owner":
        raise ApiError(403, "forbidden", "Only an owner's key may change the organisation.")
    rec = _org(call)
    body = copy.deepcopy(call.body_dict())
    issues: list[Issue] = []
    address = body.get("address")
    state = (
        str(cast("dict[str, object]", address).get("state_code"))
        if isinstance(address, dict)
        else rec.text("state_code")
    )
    gstin = body.get("gstin", rec.doc.get("gstin"))
    if "gstin" in body:
        why = gstin_error(gstin)
        if why is not None:
            issues.append({"path": ["gstin"], "message": why, "code": "custom"})
    if isinstance(gstin, str) and not issues and gstin[:2] != state:
        where = ["gstin"] if "gstin" in body else ["address", "state_code"]
        issues.append(
            {
                "path": where,
                "message": f"The GSTIN's state {gstin[:2]} is not the organisation's state {state}",
                "code": "custom",
            }
        )
    issues.extend(_pan_issues(body, rec.doc, gstin))
    raise_if(issues)
    rec.doc.update(body)
    rec.doc["state_code"] = state
    call.store.touch(rec)
    return json_response(record_json(rec, call.state.today()))


# ------------------------------------------------------------------------------------------- validate


async def session_context(call: Call) -> web.StreamResponse:
    """``GET /books/validate``: the key's organisation, role and application."""
    return json_response(
        {
            "org_id": call.org_id,
            "org_name": call.org.text("name"),
            "key_name": call.key.name,
            "role": call.key.role,
            "app": call.key.app,
        }
    )


def _document_issues(kind: str) -> Callable[[Call, dict[str, object]], list[Issue]]:
    def check(call: Call, body: dict[str, object]) -> list[Issue]:
        doc_kind: DocKind = "invoice" if kind == "invoice" else "quote"
        draft, issues = check_document(call, doc_kind, body)
        field = f"{kind}_number"
        number = body.get(field)
        if draft is not None and isinstance(number, str):
            key = number_key(doc_kind, draft.doc, number)
            if number_taken(call.space, doc_kind, key):
                scope = f"financial year {key[0]}" if key[0] else "organisation"
                issues.append(
                    {
                        "path": [field],
                        "message": f"{number} is already used in this {scope} (creating it would be a 409)",
                        "code": "custom",
                    }
                )
        return issues

    return check


def _sku_issue(call: Call, body: dict[str, object]) -> list[Issue]:
    issues = check_product(call, copy.deepcopy(body))
    sku = body.get("sku")
    if isinstance(sku, str) and sku in call.space.skus:
        issues.append(
            {
                "path": ["sku"],
                "message": f"SKU {sku} is already used (creating it would be a 409)",
                "code": "custom",
            }
        )
    return issues


_DOMAIN_CHECKS: Final[dict[str, Callable[[Call, dict[str, object]], list[Issue]]]] = {
    "invoice": _document_issues("invoice"),
    "quote": _document_issues("quote"),
    "customer": check_customer,
    "product": _sku_issue,
    "service": lambda call, body: check_service(call, copy.deepcopy(body)),
}


async def validate_payload(call: Call) -> web.StreamResponse:
    """``POST /books/validate``: the create endpoint's checks, domain rules included; nothing is written."""
    body = call.body_dict()
    kind = str(body["kind"])
    payload = body["payload"]
    issues = call.state.spec.checker(_CREATE_SCHEMAS[kind]).issues(payload)
    if not issues:
        issues = _DOMAIN_CHECKS[kind](call, cast("dict[str, object]", payload))
    return json_response({"valid": not issues, "kind": kind, "details": issues})


# ------------------------------------------------------------------------------------------ dashboard


async def dashboard(call: Call) -> web.StreamResponse:
    """``GET /books/mobile/dashboard``: figures computed from the invoices, payments and quotes stored now."""
    day = call.state.today()
    counts = dict.fromkeys(("draft", "sent", "partially_paid", "paid", "overdue", "void"), 0)
    revenue = receivables = overdue = _ZERO
    events: list[tuple[str, int, dict[str, object]]] = []
    tie = 0

    def event(kind: str, rec: Record, number_key: str, amount: object, at: object) -> None:
        nonlocal tie
        if not isinstance(at, str):
            return
        tie += 1
        item = {"kind": kind, "id": rec.id, "number": rec.text(number_key), "amount": amount, "at": at}
        heap_item = (at, tie, item)
        if len(events) < _ACTIVITY_LIMIT:
            heapq.heappush(events, heap_item)
        elif heap_item > events[0]:
            heapq.heapreplace(events, heap_item)

    for rec in call.space["invoices"].values():
        doc = rec.doc
        status = invoice_status(doc, day)
        counts[status] += 1
        balance = cast("Decimal", doc["balance_due"])
        if status in ("sent", "partially_paid", "overdue"):
            receivables += balance
            if status == "overdue":
                overdue += balance
        total = doc.get("total")
        event("invoice_created", rec, "invoice_number", total, doc.get("createdAt"))
        event("invoice_sent", rec, "invoice_number", total, doc.get("sent_at"))
        event("invoice_voided", rec, "invoice_number", total, rec.meta.get("voided_at"))
        for payment in cast("list[dict[str, object]]", doc.get("payments", [])):
            revenue += cast("Decimal", payment["amount"])
            event("payment_received", rec, "invoice_number", payment["amount"], payment.get("createdAt"))
    for rec in call.space["quotes"].values():
        doc = rec.doc
        total = doc.get("total")
        event("quote_created", rec, "quote_number", total, doc.get("createdAt"))
        event("quote_sent", rec, "quote_number", total, doc.get("sent_at"))
        event("quote_converted", rec, "quote_number", total, rec.meta.get("converted_at"))
    recent = [item for _, _, item in sorted(events, reverse=True)]
    return json_response(
        {
            "total_revenue": revenue,
            "total_receivables": receivables,
            "overdue_amount": overdue,
            "invoice_counts": counts,
            "recent_activity": recent,
            "currency": "INR",
            "as_of": now_iso(),
        }
    )


async def outbox(call: Call) -> web.StreamResponse:
    """``GET /api/v1/__sandbox__/outbox``: the e-mails the key's organisation has sent (sandbox only)."""
    return json_response({"data": call.space.outbox})


HANDLERS: Final = {
    "orgs.list": list_orgs,
    "orgs.get": get_org,
    "orgs.update": update_org,
    "validate.context": session_context,
    "validate.check": validate_payload,
    "mobile.dashboard": dashboard,
}

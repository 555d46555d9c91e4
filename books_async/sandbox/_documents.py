"""Invoices and quotes: checking and building them, numbering, PDFs and e-mail sends.

Shared by the create, convert and validate endpoints, so a payload that ``POST /books/validate`` accepts is
exactly one that the create endpoint accepts.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Final, Literal, cast

from aiohttp import web

from ._core import CENT, ApiError, Call, State, conflict, json_response, validation_error
from ._gst import (
    EXPORT_PLACE,
    STATE_CODES,
    DomainError,
    compute_line,
    compute_totals,
    is_valid_hsn,
    is_valid_sac,
    place_of_supply,
    supply_type,
)
from ._ids import now_iso, object_id
from ._pdf import pdf_filename, render_document
from ._store import OrgSpace, Record, document_year
from ._validation import Issue
from ._views import document_view, quote_status, record_json

__all__ = [
    "DocKind",
    "Draft",
    "check_document",
    "create_response",
    "next_number",
    "number_key",
    "number_taken",
    "pdf_response",
    "render_pdf",
    "send_document",
]

log = logging.getLogger("books_async.sandbox")

DocKind = Literal["invoice", "quote"]

_FIELDS: Final = {
    # kind: (collection, number key, date key, end-date key, prefix key)
    "invoice": ("invoices", "invoice_number", "invoice_date", "due_date", "invoice_prefix"),
    "quote": ("quotes", "quote_number", "quote_date", "expiry_date", "quote_prefix"),
}
_QUOTE_VALIDITY: Final = timedelta(days=30)
_PDF_CACHE_SIZE: Final = 256
# Measured: a page renders in ~12 ms with a few lines (~9 of them embedding the rupee sign's font), ~20 ms
# with 40 and ~60 ms with 200; documents longer than _INLINE_RENDER_LINES render in a thread so the loop
# keeps answering meanwhile.
_INLINE_RENDER_LINES: Final = 40
_SLOW_RENDER_SECONDS: Final = 0.02


@dataclass(slots=True)
class Draft:
    """A checked document, ready to be numbered and stored."""

    doc: dict[str, object]
    number: str | None
    stock: list[tuple[Record, Decimal]] = field(default_factory=list)


def _issue(path: Sequence[str | int], message: str, code: str = "custom") -> Issue:
    return {"path": list(path), "message": message, "code": code}


def _catalogued(
    space: OrgSpace,
    item: dict[str, object],
    kind: Literal["product", "service"],
    path: tuple[str | int, ...],
    issues: list[Issue],
) -> Record | None:
    """The product or service a line names, if it exists and the line's ``item_type`` agrees; else issues."""
    ref = item.get(f"{kind}_id")
    if not isinstance(ref, str):
        return None
    rec = space[f"{kind}s"].get(ref)
    if rec is None:
        issues.append(_issue((*path, f"{kind}_id"), f"No {kind} with this id in the organisation"))
    elif item.get("item_type") != kind:
        issues.append(_issue((*path, "item_type"), f"A line with {kind}_id must have item_type '{kind}'"))
    else:
        return rec
    return None


def _check_line(
    space: OrgSpace,
    item: dict[str, object],
    path: tuple[str | int, ...],
    intra: bool,
    issues: list[Issue],
    zero_rated: bool,
) -> tuple[dict[str, object], Record | None]:
    """Check one line against the catalogue and the GST rules; return it with catalogue defaults filled in."""
    line = dict(item)
    item_type = item.get("item_type")
    product = _catalogued(space, item, "product", path, issues)
    service = _catalogued(space, item, "service", path, issues)
    if service is not None:
        line.setdefault("hsn_sac", service.doc.get("sac_code"))
    if product is not None:
        line.setdefault("hsn_sac", product.doc.get("hsn_code"))
        line.setdefault("unit", product.doc.get("unit"))
    code = line.get("hsn_sac")
    if isinstance(code, str):
        if item_type == "service" and not is_valid_sac(code):
            issues.append(_issue((*path, "hsn_sac"), "A service's SAC code has 6 digits and starts with 99"))
        elif item_type == "product" and not is_valid_hsn(code):
            issues.append(_issue((*path, "hsn_sac"), "A product's HSN code has 4, 6 or 8 digits"))
    try:
        compute_line(line, intra_state=intra, path=path, zero_rated=zero_rated)
    except DomainError as exc:
        issues.append(_issue(exc.path, exc.message, exc.code))
    return line, product


def check_document(
    call: Call, kind: DocKind, body: dict[str, object], prefix: tuple[str | int, ...] = ()
) -> tuple[Draft | None, list[Issue]]:
    """Apply the domain rules to a schema-valid InvoiceCreate or QuoteCreate; return a draft or issues."""
    _, number_field, date_key, end_key, _ = _FIELDS[kind]
    space = call.space
    org = call.org.doc
    issues: list[Issue] = []

    customer = space["customers"].get(str(body.get("customer_id")))
    if customer is None:
        issues.append(_issue((*prefix, "customer_id"), "No customer with this id in the organisation"))

    start = date.fromisoformat(str(body[date_key]))
    end_raw = body.get(end_key)
    if isinstance(end_raw, str):
        end = date.fromisoformat(end_raw)
        # DOMAIN.md, invoice life cycle: a due date (or a quote's expiry) is never before the document date.
        # Payments are not held to it: one dated before its invoice is an advance.
        if end < start:
            issues.append(_issue((*prefix, end_key), f"{end_key} must be on or after {date_key}"))
    else:
        end = start if kind == "invoice" else start + _QUOTE_VALIDITY

    explicit = body.get("place_of_supply")
    pos = ""
    try:
        if customer is not None:
            pos = place_of_supply(customer.doc, explicit if isinstance(explicit, str) else None)
        elif isinstance(explicit, str):
            pos = place_of_supply({}, explicit)
    except DomainError as exc:
        issues.append(_issue((*prefix, *exc.path), exc.message, exc.code))
    org_state = str(org.get("state_code", ""))
    intra = pos == org_state if pos else True
    export = body.get("export_type")
    if export is not None and pos and pos != EXPORT_PLACE:
        # DOMAIN.md, place of supply 96: only an export is zero-rated (IGST paid, or under LUT).
        issues.append(_issue((*prefix, "export_type"), f"export_type needs place_of_supply {EXPORT_PLACE}"))
    zero_rated = export == "lut"
    reverse_charge = body.get("reverse_charge") is True

    lines: list[dict[str, object]] = []
    stock: list[tuple[Record, Decimal]] = []
    for index, item in enumerate(cast("list[dict[str, object]]", body.get("line_items", []))):
        path = (*prefix, "line_items", index)
        line, product = _check_line(space, item, path, intra, issues, zero_rated)
        lines.append(line)
        if kind == "invoice" and product is not None and product.doc.get("track_inventory") is True:
            stock.append((product, cast("Decimal", line["quantity"])))

    if issues or customer is None:
        return None, issues

    totals = compute_totals(lines, intra_state=intra, reverse_charge=reverse_charge, zero_rated=zero_rated)
    for line in totals["line_items"]:
        # Amounts are kept at 2 places on the wire (100 -> 100.00); quantities and percentages as sent.
        line["rate"] = cast("Decimal", line["rate"]).quantize(CENT)
        line["discount"] = cast("Decimal", line["discount"]).quantize(CENT)
    cust = customer.doc
    doc: dict[str, object] = {
        number_field: "",
        date_key: start.isoformat(),
        end_key: end.isoformat(),
        "customer_id": customer.id,
        "customer_name": cust.get("name"),
    }
    if cust.get("type") == "B2B" and isinstance(cust.get("gstin"), str):
        doc["customer_gstin"] = cust["gstin"]
    doc["billing_address"] = copy.deepcopy(cust.get("billing_address"))
    doc["place_of_supply"] = pos
    doc["supply_type"] = supply_type(org_state, pos)
    doc["status"] = "draft"
    doc.update(totals)
    if kind == "invoice":
        doc["amount_paid"] = Decimal("0.00")
        doc["balance_due"] = totals["total"]
        doc["payments"] = []
    for key in ("notes", "terms", "reverse_charge", "export_type"):
        if key in body:
            doc[key] = body[key]
    number = body.get(number_field)
    return Draft(doc, number if isinstance(number, str) else None, stock), []


def number_key(kind: DocKind, doc: dict[str, object], number: str) -> tuple[str, str]:
    """The key a number is unique under: (financial year of the invoice date, number) for an invoice.

    DOMAIN.md, invoice number: unique per organisation within a financial year (1 April - 31 March), as
    GST rule 46(b) has it. Quotes are not tax invoices: their numbers stay unique per organisation.
    """
    return (document_year(doc.get("invoice_date")), number) if kind == "invoice" else ("", number)


def number_taken(space: OrgSpace, kind: DocKind, key: tuple[str, str]) -> bool:
    """Whether the organisation already has a document under this :func:`number_key`."""
    return key in space.invoice_numbers if kind == "invoice" else key[1] in space.quote_numbers


def next_number(call: Call, kind: DocKind, doc: dict[str, object], taken: set[tuple[str, str]]) -> str:
    """Return the next number from the organisation's prefix (e.g. ``INV-0007``) free for ``doc``."""
    collection, _, _, _, prefix_key = _FIELDS[kind]
    space = call.space
    prefix = str(call.org.doc.get(prefix_key, ""))
    while True:
        n = space.next_number[collection]
        space.next_number[collection] = n + 1
        number = f"{prefix}{n:04d}"
        key = number_key(kind, doc, number)
        if not number_taken(space, kind, key) and key not in taken:
            return number


def create_documents(call: Call, kind: DocKind, bodies: list[dict[str, object]], bulk: bool) -> list[Record]:
    """Check every body, then store them all, or none (a bulk request is atomic)."""
    collection, number_key_name, _, _, _ = _FIELDS[kind]
    issues: list[Issue] = []
    drafts: list[Draft] = []
    for index, body in enumerate(bodies):
        draft, found = check_document(call, kind, body, (index,) if bulk else ())
        issues.extend(found)
        if draft is not None:
            drafts.append(draft)
    if issues:
        raise validation_error(issues)
    taken: set[tuple[str, str]] = set()
    scope = "financial year" if kind == "invoice" else "organisation"
    for position, draft in enumerate(drafts):
        if draft.number is None:
            continue
        where = f"item {position}: " if bulk else ""
        key = number_key(kind, draft.doc, draft.number)
        year = f" {key[0]}" if key[0] else ""
        if number_taken(call.space, kind, key):
            raise conflict(f"{where}{kind} number {draft.number} is already used in this {scope}{year}")
        if key in taken:
            raise conflict(f"{where}{kind} number {draft.number} appears twice in the request{year}")
        taken.add(key)
    records: list[Record] = []
    stamp = now_iso()
    for draft in drafts:
        draft.doc[number_key_name] = draft.number or next_number(call, kind, draft.doc, taken)
        records.append(call.store.insert(collection, call.org_id, draft.doc, stamp=stamp))
        apply_stock(call, draft.stock, stamp)
    return records


async def create_response(call: Call, kind: DocKind) -> web.StreamResponse:
    """Answer ``POST /books/invoices`` or ``/books/quotes``: one body, or an array created atomically."""
    bulk = isinstance(call.body, list)
    bodies = cast("list[dict[str, object]]", call.body if bulk else [call.body])
    records = create_documents(call, kind, bodies, bulk)
    day = call.state.today()
    if bulk:
        return json_response(b"[" + b",".join(record_json(r, day) for r in records) + b"]", status=201)
    return json_response(record_json(records[0], day), status=201)


def apply_stock(call: Call, stock: list[tuple[Record, Decimal]], stamp: str) -> None:
    """Lower the stock of tracked products sold (it may go negative, as the spec allows)."""
    for product, quantity in stock:
        if product.id not in call.space["products"]:
            continue
        current = product.doc.get("stock_quantity")
        base = current if isinstance(current, Decimal) else Decimal(0)
        product.doc["stock_quantity"] = base - quantity
        call.store.touch(product, stamp=stamp)


# ---------------------------------------------------------------------------------------------- PDFs


def _kind_of(rec: Record) -> DocKind:
    return "invoice" if rec.collection == "invoices" else "quote"


async def render_pdf(state: State, org: Record, rec: Record) -> tuple[str, bytes]:
    """Return (file name, PDF bytes) of an invoice or quote, rendering only if it changed since last time."""
    kind = _kind_of(rec)
    view = document_view(rec, state.today())
    cache_key = (rec.id, rec.text("updatedAt"), org.text("updatedAt"), str(view.get("status")))
    cached = state.pdf_cache.get(cache_key)
    if cached is not None:
        state.pdf_cache.move_to_end(cache_key)
        return cached
    customer_rec = state.store.get("customers", rec.org_id, rec.text("customer_id"))
    customer = customer_rec.doc if customer_rec is not None else {}
    number = rec.text("invoice_number" if kind == "invoice" else "quote_number")
    # Copies, so a request that changes the document while a thread renders it cannot tear the page.
    args = (kind, copy.deepcopy(view), copy.deepcopy(org.doc), copy.deepcopy(customer))
    started = time.perf_counter()
    if len(cast("list[object]", view.get("line_items", []))) > _INLINE_RENDER_LINES:
        pdf = await asyncio.to_thread(render_document, *args)
    else:
        pdf = render_document(*args)
    elapsed = time.perf_counter() - started
    if elapsed > _SLOW_RENDER_SECONDS:
        log.debug("rendering %s %s took %.1f ms", kind, rec.id, elapsed * 1000)
    state.pdf_renders += 1
    result = (pdf_filename(kind, number), pdf)
    state.pdf_cache[cache_key] = result
    while len(state.pdf_cache) > _PDF_CACHE_SIZE:
        state.pdf_cache.popitem(last=False)
    return result


async def pdf_response(call: Call, collection: str, kind: str) -> web.StreamResponse:
    """Answer ``GET …/pdf``."""
    rec = call.lookup(collection, kind)
    name, pdf = await render_pdf(call.state, call.org, rec)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------------------------------------- sends


async def send_document(call: Call, collection: str, kind: DocKind) -> web.StreamResponse:
    """Answer ``POST …/send``: record the e-mail in the outbox and mark a draft sent."""
    rec = call.lookup(collection, kind)
    body = call.body_dict()
    day = call.state.today()
    doc = rec.doc
    if kind == "invoice":
        if doc.get("status") == "void":
            raise conflict("A void invoice cannot be sent.")
    else:
        status = quote_status(doc, day)
        if status in ("converted", "declined", "expired"):
            raise conflict(f"A {status} quote cannot be sent.")
    customer = call.store.get("customers", rec.org_id, rec.text("customer_id"))
    to = cast("list[str] | None", body.get("to"))
    if not to:
        email = customer.doc.get("email") if customer is not None else None
        if not isinstance(email, str) or not email:
            raise validation_error(
                [_issue(["to"], "The customer has no e-mail address: give the recipients in `to`.")]
            )
        to = [email]
    cc = cast("list[str]", body.get("cc", []))
    number = rec.text("invoice_number" if kind == "invoice" else "quote_number")
    org_name = call.org.text("name")
    title = "Invoice" if kind == "invoice" else "Quote"
    subject = str(body.get("subject") or f"{title} {number} from {org_name}")
    sent_at = now_iso()
    if doc.get("status") == "draft":
        doc["status"] = "sent"
    doc.setdefault("sent_at", sent_at)
    call.store.touch(rec, stamp=sent_at)
    name, pdf = await render_pdf(call.state, call.org, rec)
    message_id = f"<{object_id()}@sandbox.books-async>"
    call.space.outbox.append(
        {
            "message_id": message_id,
            "to": list(to),
            "cc": list(cc),
            "subject": subject,
            "message": body.get("message", ""),
            "attachment_name": name,
            "attachment_size": len(pdf),
            "document_id": rec.id,
            "kind": kind,
            "sent_at": sent_at,
        }
    )
    log.debug("sandbox outbox: %s %s sent (%d bytes attached)", kind, rec.id, len(pdf))
    receipt = {
        "message_id": message_id,
        "to": list(to),
        "cc": list(cc),
        "subject": subject,
        "attachment_name": name,
        "attachment_size": len(pdf),
        "sent_at": sent_at,
        "document_status": document_view(rec, day).get("status"),
    }
    return json_response(receipt)


def ensure_known_state(code: str, path: Sequence[str | int], issues: list[Issue]) -> None:
    """Add an issue if ``code`` is not a GST state code."""
    if code not in STATE_CODES:
        issues.append(_issue(path, f"Unknown GST state code {code!r}"))


def raise_if(issues: list[Issue]) -> None:
    """Raise a 400 listing ``issues`` if there are any."""
    if issues:
        raise validation_error(issues)


def as_error(exc: ApiError) -> dict[str, object]:
    """Return a bulk outcome's failure fields for ``exc``."""
    return {"ok": False, "error": exc.error, "message": exc.message}

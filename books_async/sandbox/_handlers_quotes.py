"""``/books/quotes``: list, create (one or bulk), get, PDF, send and convert into a draft invoice."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, cast

from aiohttp import web

from ._core import Call, conflict, json_response
from ._documents import apply_stock, create_response, next_number, pdf_response, send_document
from ._handlers_invoices import list_page
from ._ids import now_iso
from ._store import Record
from ._views import quote_status, record_json

__all__ = ["HANDLERS"]

_CONVERTIBLE: Final = ("draft", "sent", "accepted")
_COPIED: Final = (
    "customer_id",
    "customer_name",
    "customer_gstin",
    "billing_address",
    "place_of_supply",
    "supply_type",
)
_TOTALS: Final = (
    "line_items",
    "subtotal",
    "discount_total",
    "taxable_total",
    "cgst_total",
    "sgst_total",
    "igst_total",
    "tax_total",
    "round_off",
    "total",
)


async def list_quotes(call: Call) -> web.StreamResponse:
    """``GET /books/quotes``: newest first, filtered by status (``expired`` derived) and customer."""
    status = call.query.get("status")
    customer_id = call.query.get("customer_id")
    day = call.state.today()
    records: Iterable[Record] = reversed(call.space["quotes"].values())
    if customer_id is not None:
        records = [r for r in records if r.doc.get("customer_id") == customer_id]
    if status is not None:
        records = [r for r in records if quote_status(r.doc, day) == status]
    return list_page(call, records)


async def create_quotes(call: Call) -> web.StreamResponse:
    """``POST /books/quotes``: one QuoteCreate, or an array of them created atomically."""
    return await create_response(call, "quote")


async def get_quote(call: Call) -> web.StreamResponse:
    """``GET /books/quotes/{id}``."""
    rec = call.lookup("quotes", "quote")
    return json_response(record_json(rec, call.state.today()))


async def quote_pdf(call: Call) -> web.StreamResponse:
    """``GET /books/quotes/{id}/pdf``."""
    return await pdf_response(call, "quotes", "quote")


async def send_quote(call: Call) -> web.StreamResponse:
    """``POST /books/quotes/{id}/send``."""
    return await send_document(call, "quotes", "quote")


async def convert_quote(call: Call) -> web.StreamResponse:
    """``POST /books/quotes/{id}/convert``: a draft invoice with the quote's lines and totals, linked."""
    quote = call.lookup("quotes", "quote")
    day = call.state.today()
    status = quote_status(quote.doc, day)
    if status == "converted":
        raise conflict(
            f"Quote {quote.text('quote_number')} was already converted into invoice "
            f"{quote.text('converted_invoice_id')}."
        )
    if status not in _CONVERTIBLE:
        raise conflict(f"A {status} quote cannot be converted.")
    stamp = now_iso()
    today = day.isoformat()
    doc: dict[str, object] = {"invoice_number": "", "invoice_date": today, "due_date": today}
    doc["invoice_number"] = next_number(call, "invoice", doc, set())
    for key in _COPIED:
        if key in quote.doc:
            doc[key] = copy.deepcopy(quote.doc[key])
    doc["status"] = "draft"
    for key in _TOTALS:
        doc[key] = copy.deepcopy(quote.doc[key])
    if "cess_total" in quote.doc:
        doc["cess_total"] = quote.doc["cess_total"]
    doc["amount_paid"] = Decimal("0.00")
    doc["balance_due"] = quote.doc["total"]
    doc["payments"] = []
    for key in ("notes", "terms"):
        if key in quote.doc:
            doc[key] = quote.doc[key]
    doc["quote_id"] = quote.id
    invoice = call.store.insert("invoices", call.org_id, doc, stamp=stamp)
    stock: list[tuple[Record, Decimal]] = []
    for line in cast("list[dict[str, object]]", doc["line_items"]):
        product = call.space["products"].get(str(line.get("product_id")))
        if (
            product is not None
            and line.get("item_type") == "product"
            and product.doc.get("track_inventory") is True
        ):
            stock.append((product, cast("Decimal", line["quantity"])))
    apply_stock(call, stock, stamp)
    quote.doc["status"] = "converted"
    quote.doc["converted_invoice_id"] = invoice.id
    quote.meta["converted_at"] = stamp
    call.store.touch(quote, stamp=stamp)
    return json_response(record_json(invoice, day), status=201)


HANDLERS: Final = {
    "quotes.list": list_quotes,
    "quotes.create": create_quotes,
    "quotes.get": get_quote,
    "quotes.pdf": quote_pdf,
    "quotes.send": send_quote,
    "quotes.convert": convert_quote,
}

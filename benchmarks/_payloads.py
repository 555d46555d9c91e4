"""The fixed payloads every benchmark shares: one realistic invoice, a 100-invoice page, a PDF-like body.

``invoice.json`` is a real sandbox answer to ``GET /books/invoices/{id}``, captured once from
``python -m books_async.sandbox``: a B2B intra-state invoice with 5 lines (catalogue products, services and
a free-text line), one payment, a billing address; pretty-printed here, served compact byte for byte as the
sandbox wrote it. Everything here is deterministic, so two runs send and decode the same bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
API_KEY = "bk_bench_0123456789abcdef0123456789abcdef"
INVOICE_ID = "6b06cf5de1b90966a3feae0c"
LIVE_INVOICE_ID = "6b06cf5de1b90966a3feae0d"  # the fixed server answers it live-shaped
PDF_SIZE = 200 * 1024


def _fragment(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))  # exact digits, as the sandbox writes money
    raise TypeError(type(value).__name__)


def dumps(obj: object) -> bytes:
    """Compact JSON with Decimals written verbatim (the sandbox's wire format)."""
    return orjson.dumps(obj, default=_fragment)


def invoice_doc() -> dict[str, object]:
    """The invoice as parsed JSON, money as exact ``Decimal``s."""
    doc: dict[str, object] = json.loads((HERE / "invoice.json").read_bytes(), parse_float=Decimal)
    return doc


def invoice_bytes() -> bytes:
    """The wire body of ``GET /books/invoices/{id}``."""
    return dumps(invoice_doc())


def page_bytes(n: int = 100) -> bytes:
    """The wire body of a list page of ``n`` distinct invoices (ids, numbers and amounts vary)."""
    base = invoice_doc()
    data = []
    for i in range(n):
        doc = dict(base)
        doc["_id"] = f"{0x6650C3E2A1B4C5D6E7F80000 + i:024x}"
        doc["invoice_number"] = f"INV-2026-{i:04d}"
        lines = []
        for j, line in enumerate(base["line_items"]):  # type: ignore[union-attr]
            line = dict(line)
            line["rate"] = line["rate"] + Decimal(i * 7 + j) / 100
            lines.append(line)
        doc["line_items"] = lines
        data.append(doc)
    return dumps({"data": data, "pagination": {"page": 1, "limit": n, "total": 4213, "pages": 43}})


def _live(doc: dict[str, object], i: int) -> dict[str, object]:
    """``doc`` as the live API is expected to send it (``../shared/DOMAIN.md``): what ``NextResponse.json()``
    makes of a native-driver MongoDB document. Every object carries keys the spec does not list, and every
    date is an ISO date-time (midnight in India, in UTC)."""
    oid = f"{0x6650C3E2A1B4C5D6E7F90000 + i:024x}"

    def when(day: object) -> str:
        moment = datetime.fromisoformat(f"{day}T00:00:00+05:30").astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    live = {**doc, "__v": 0, "org_id": oid, "created_by": oid}
    live["invoice_date"] = when(doc["invoice_date"])
    live["due_date"] = when(doc["due_date"])
    live["line_items"] = [
        {**line, "_id": f"{0x6650C3E2A1B4C5D6E7FA0000 + i * 16 + j:024x}"}
        for j, line in enumerate(doc["line_items"])  # type: ignore[arg-type]
    ]
    live["payments"] = [
        {**p, "payment_date": when(p["payment_date"]), "invoice_id": doc["_id"], "__v": 0}
        for p in doc["payments"]  # type: ignore[attr-defined]
    ]
    live["billing_address"] = {**doc["billing_address"], "landmark": "Near the MIDC gate"}  # type: ignore[dict-item]
    return live


def live_invoice_bytes() -> bytes:
    """The invoice as the live API is expected to send it: unknown keys everywhere, date-times for dates."""
    return dumps(_live(invoice_doc(), 0))


def live_page_bytes(n: int = 100) -> bytes:
    """:func:`page_bytes`, every invoice as :func:`live_invoice_bytes` shapes it."""
    page = json.loads(page_bytes(n), parse_float=Decimal)
    page["data"] = [_live(doc, i) for i, doc in enumerate(page["data"])]
    page["pagination"] = {**page["pagination"], "has_next": True}
    return dumps(page)


def pdf_bytes(size: int = PDF_SIZE) -> bytes:
    """A PDF-like body of ``size`` bytes: a header, incompressible-looking filler, an EOF marker."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    tail = b"\n%%EOF\n"
    filler = bytearray()
    state = 0x12345678
    while len(filler) < size - len(head) - len(tail):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF  # a fixed LCG: the same bytes every run
        filler += state.to_bytes(4, "little")
    return head + bytes(filler[: size - len(head) - len(tail)]) + tail


def create_items_json(n: int, customer_id: str | None = None) -> list[dict[str, object]]:
    """``n`` InvoiceCreate bodies as JSON, the captured invoice's 5 lines each, numbers unique.

    Lines keep their HSN/SAC codes but not their catalogue ids, which differ from one sandbox to the next
    (and a tracked product's stock would run out over 10,000 invoices).
    """
    base = invoice_doc()
    lines = [
        {k: v for k, v in line.items() if k in _LINE_CREATE_KEYS}
        for line in base["line_items"]  # type: ignore[attr-defined]
    ]
    return [
        {
            "customer_id": customer_id or base["customer_id"],
            "invoice_date": base["invoice_date"],
            "invoice_number": f"B-{i:07d}",
            "due_date": base["due_date"],
            "place_of_supply": base["place_of_supply"],
            "line_items": lines,
            "notes": base["notes"],
        }
        for i in range(n)
    ]


def object_ids(n: int) -> list[str]:
    """``n`` distinct 24-hex ids."""
    return [f"{0x6B06CF5DE1B90966A4000000 + i:024x}" for i in range(n)]


_LINE_CREATE_KEYS = frozenset(
    {"item_type", "description", "quantity", "rate", "gst_rate", "hsn_sac", "unit", "discount"}
)

"""Dict request bodies (`books_async.params`): sent like the model they stand for, refused like it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

import pytest

from books_async import BooksClient, InvalidRequestError
from books_async.models import InvoiceCreate, ItemType, LineItemCreate
from books_async.params import InvoiceCreateParam, LineItemCreateParam
from books_async.sandbox import Sandbox

ID = "0" * 24


def _seed(sandbox: Sandbox) -> str:
    seed = sandbox.seed
    assert seed is not None
    return seed.customer_b2b_intra


def _line_dict() -> LineItemCreateParam:
    return {
        "item_type": "service",
        "description": "Consulting",
        "quantity": 2,
        "rate": Decimal("1500.00"),
        "gst_rate": Decimal(18),
    }


async def test_create_with_a_dict_body_gives_the_same_invoice_as_the_model(
    books: BooksClient, sandbox: Sandbox
) -> None:
    """A dict body in wire keys creates the invoice the equivalent model creates, totals and lines alike."""
    customer = _seed(sandbox)
    model = InvoiceCreate(
        customer_id=customer,
        invoice_number="DICT-M-1",
        invoice_date=date(2026, 11, 2),
        line_items=[
            LineItemCreate(
                item_type=ItemType.service,
                description="Consulting",
                quantity=Decimal(2),
                rate=Decimal("1500.00"),
                gst_rate=Decimal(18),
            )
        ],
    )
    as_dict: InvoiceCreateParam = {
        "customer_id": customer,
        "invoice_number": "DICT-D-1",
        "invoice_date": date(2026, 11, 2),
        "line_items": [_line_dict()],
    }
    from_model = await books.invoices.create(model)
    from_dict = await books.invoices.create(as_dict)
    assert from_dict.invoice_number == "DICT-D-1"
    assert from_dict.total == from_model.total == Decimal(3540)
    assert from_dict.line_items == from_model.line_items
    assert (from_dict.cgst_total, from_dict.sgst_total) == (from_model.cgst_total, from_model.sgst_total)


async def test_bulk_create_with_dict_items_creates_each(books: BooksClient, sandbox: Sandbox) -> None:
    """A list of dicts is a bulk body: one invoice per item, in order."""
    customer = _seed(sandbox)
    items: list[InvoiceCreateParam] = [
        {"customer_id": customer, "invoice_date": date(2026, 11, 3), "line_items": [_line_dict()]},
        {"customer_id": customer, "invoice_date": date(2026, 11, 4), "line_items": [_line_dict()]},
    ]
    created = await books.invoices.create(items)
    assert [inv.invoice_date for inv in created] == [date(2026, 11, 3), date(2026, 11, 4)]


Call = Callable[[BooksClient, str], Awaitable[object]]


def _invoice(customer: str, **line: object) -> dict[str, object]:
    return {
        "customer_id": customer,
        "invoice_date": date(2026, 11, 2),
        "line_items": [{**_line_dict(), **line}],
    }


# Every operation that takes a body, with a dict that is certainly wrong and the wire path the error names.
# Not type-checked on purpose (tests/typing/params.py shows mypy refusing such dicts): run-time checks.
REFUSED: dict[str, tuple[Call, tuple[str | int, ...]]] = {
    "invoices.create float price": (
        lambda b, c: b.invoices.create(_invoice(c, rate=1500.0)),
        ("line_items", 0, "rate"),
    ),
    "invoices.create unknown nested key": (
        lambda b, c: b.invoices.create(_invoice(c, hsn="8471")),
        ("line_items", 0, "hsn"),
    ),
    "invoices.create wrong enum type": (
        lambda b, c: b.invoices.create(_invoice(c, item_type=1)),
        ("line_items", 0, "item_type"),
    ),
    "invoices.create bulk": (
        lambda b, c: b.invoices.create([_invoice(c), _invoice(c, quantity=2.5)]),
        (1, "line_items", 0, "quantity"),
    ),
    "invoices.with_raw_response.create": (
        lambda b, c: b.invoices.with_raw_response.create(_invoice(c, rate=1.5)),
        ("line_items", 0, "rate"),
    ),
    "quotes.create": (
        lambda b, c: b.quotes.create(
            {"customer_id": c, "quote_date": date(2026, 11, 2), "line_items": [{"rate": 9.99}]}
        ),
        ("line_items", 0, "rate"),
    ),
    "invoices.update": (
        lambda b, c: b.invoices.update(ID, {"status": "sent", "note": "typo"}),
        ("note",),
    ),
    "invoices.send": (
        lambda b, c: b.invoices.send(ID, {"to": ["a@example.com"], "bcc": []}),
        ("bcc",),
    ),
    "quotes.send": (
        lambda b, c: b.quotes.send(ID, {"subject": 5}),
        ("subject",),
    ),
    "invoices.record_payment": (
        lambda b, c: b.invoices.record_payment(ID, {"amount": 10.5, "payment_method": "upi"}),
        ("amount",),
    ),
    "invoices.bulk_action": (
        lambda b, c: b.invoices.bulk_action({"action": 3, "ids": [ID]}),
        ("action",),
    ),
    "customers.create": (
        lambda b, c: b.customers.create(
            {"type": "B2C", "name": "A", "billing_address": {"line1": "1", "zip": "400001"}}
        ),
        ("billing_address", "zip"),
    ),
    "products.create": (
        lambda b, c: b.products.create(
            {"name": "Bolt", "hsn_code": "7318", "unit": "PCS", "sale_price": 12.5, "gst_rate": 18}
        ),
        ("sale_price",),
    ),
    "products.update": (
        lambda b, c: b.products.update(ID, {"gst_rate": 18.0}),
        ("gst_rate",),
    ),
    "services.create": (
        lambda b, c: b.services.create(
            {"name": "Audit", "sac_code": "998221", "rate": 100.0, "gst_rate": 18}
        ),
        ("rate",),
    ),
    "services.update": (
        lambda b, c: b.services.update(ID, {"rate": 0.1}),
        ("rate",),
    ),
    "orgs.update": (
        lambda b, c: b.orgs.update(ID, {"bank_details": {"ifsc": 1}}),
        ("bank_details", "ifsc"),
    ),
    "validate.check": (
        lambda b, c: b.validate.check({"kind": "invoice", "payload": {}, "strict": True}),
        ("strict",),
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_wrong_dict_body_is_refused_before_sending(
    books: BooksClient, sandbox: Sandbox, case: str
) -> None:
    """A float for money, an unknown key or a wrong type in a dict body, at any depth and for every operation
    with a body, is an InvalidRequestError naming the field, and the sandbox sees no request."""
    call, path = REFUSED[case]
    customer = _seed(sandbox)
    before = len(sandbox.request_log)
    with pytest.raises(InvalidRequestError) as err:
        await call(books, customer)
    assert path in [d.path for d in err.value.details]
    assert len(sandbox.request_log) == before


async def test_bulk_helper_checks_dict_items_like_models(books: BooksClient, sandbox: Sandbox) -> None:
    """books.bulk.create_invoices checks a dict item against InvoiceCreate: a float price fails that item
    alone, unsent, and the good dict is created."""
    customer = _seed(sandbox)
    good = _invoice(customer)
    bad = _invoice(customer, rate=99.5)
    result = await books.bulk.create_invoices([good, bad])
    assert result.succeeded == 1
    error = result.errors[1]
    assert isinstance(error, InvalidRequestError)
    assert [d.path for d in error.details] == [("line_items", 0, "rate")]
    posts = [entry for entry in sandbox.request_log if entry[2] == "POST"]
    assert len(posts) == 1

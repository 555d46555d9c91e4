"""Models out of the SDK: ``to_dict()`` and ``to_json()`` on every generated model (books_async._travel)."""

from __future__ import annotations

import inspect
import json
from datetime import date
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from books_async import BooksClient, _serde, extra
from books_async._generated import models as generated
from books_async.models import (
    Address,
    CustomerType,
    Invoice,
    InvoiceCreate,
    ItemType,
    LineItemCreate,
    Pagination,
    PaymentCreate,
    PaymentMethod,
)
from books_async.sandbox import Sandbox
from tests.drift_server import DriftProxy
from tests.strategies import models

GENERATED_MODELS = sorted(
    (
        cls
        for _, cls in inspect.getmembers(generated, inspect.isclass)
        if attrs.has(cls) and cls.__module__ == generated.__name__
    ),
    key=lambda cls: cls.__name__,
)
OID = "0123456789abcdef01234567"
ADDRESS = Address(line1="1 GE Road", city="Raipur", state_code="22", pincode="492001")


async def create_invoice(books: BooksClient, number: str = "TRAVEL-1") -> Invoice:
    """An invoice for a seeded B2B customer: one line of 1500.00 at 18 %."""
    customer = (await books.customers.list(type=CustomerType.B2B)).data[0]
    line = LineItemCreate(
        item_type=ItemType.service,
        description="GST filing",
        hsn_sac="998231",
        quantity=Decimal(1),
        rate=Decimal("1500.00"),
        gst_rate=Decimal(18),
    )
    return await books.invoices.create(
        InvoiceCreate(
            customer_id=customer.id, invoice_number=number, invoice_date=date(2026, 11, 25), line_items=[line]
        )
    )


@pytest.mark.parametrize("cls", GENERATED_MODELS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_to_dict_reads_back_equal_for_every_generated_model(cls: type, data: st.DataObject) -> None:
    """structure(x.to_dict()) == x for every generated model, read-only and renamed fields included."""
    value = data.draw(models(cls))
    assert _serde.structure(value.to_dict(), cls) == value


@pytest.mark.parametrize("cls", GENERATED_MODELS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_to_json_reads_back_digit_for_digit_for_every_generated_model(cls: type, data: st.DataObject) -> None:
    """decode(x.to_json()) == x, and writing it again gives the same text: every Decimal keeps its scale."""
    value = data.draw(models(cls))
    text = value.to_json()
    back = _serde.decode(text, cls)
    assert back == value
    assert back.to_json() == text


@pytest.mark.parametrize("amount", ["0.10", "1500.00", "99999999.99", "0.001"])
def test_to_json_writes_money_as_exact_json_numbers_when_compact(amount: str) -> None:
    """Money is a JSON number with the Decimal's own digits (1500.00, never 1500.0 or "1500.00")."""
    line = LineItemCreate(
        item_type=ItemType.product,
        description="Widget",
        quantity=Decimal(amount),
        rate=Decimal(amount),
        gst_rate=Decimal("18"),
    )
    text = line.to_json(indent=None)
    assert f'"quantity":{amount},"rate":{amount},"gst_rate":18' in text
    assert json.loads(text, parse_float=str)["rate"] == amount


def test_to_json_is_indented_by_two_by_default() -> None:
    """The default text is indented by 2, like openai-python's to_json; indent=None is compact."""
    assert ADDRESS.to_json() == (
        '{\n  "line1": "1 GE Road",\n  "city": "Raipur",\n  "state_code": "22",\n  "pincode": "492001"\n}'
    )
    assert "\n" not in ADDRESS.to_json(indent=None)


@pytest.mark.parametrize("indent", [4, 0])
def test_to_json_refuses_an_indent_it_cannot_write(indent: int) -> None:
    """Only 2 and None are possible (the JSON writer indents by 2): anything else is a ValueError."""
    with pytest.raises(ValueError, match="indent must be 2 or None"):
        ADDRESS.to_json(indent=indent)


def test_to_dict_writes_expected_keys_as_null_and_leaves_optional_ones_out() -> None:
    """As on the wire: an unknown x-may-be-absent value is null, an unset optional field has no key."""
    assert Pagination(page=1, limit=None, total=0, pages=0).to_dict() == {
        "page": 1,
        "limit": None,
        "total": 0,
        "pages": 0,
    }
    assert "line2" not in ADDRESS.to_dict()
    assert "country" not in ADDRESS.to_dict()


async def test_to_dict_equals_the_answer_the_sandbox_sent(books: BooksClient) -> None:
    """An invoice's to_dict() is the JSON body it was read from, key for key and digit for digit."""
    created = await create_invoice(books)
    await books.invoices.send(created.id)
    await books.invoices.record_payment(
        created.id, PaymentCreate(amount=Decimal("500.50"), payment_method=PaymentMethod.upi)
    )
    raw = await books.invoices.with_raw_response.get(created.id)
    invoice = raw.parse()
    assert invoice.to_dict() == _serde.loads(raw.content)
    # Digit for digit: numbers compared as their text, so 1500.00 and 1500.0 would differ.
    assert json.loads(invoice.to_json(), parse_float=str) == json.loads(raw.content, parse_float=str)


@pytest.mark.drift("unknown_keys")
async def test_to_dict_puts_back_unknown_keys_in_every_object_when_the_server_adds_them(
    books: BooksClient, sandbox: Sandbox, drift_proxy: DriftProxy
) -> None:
    """Keys the spec does not list, at the top and in nested line items, come back out as they were sent."""
    created = await create_invoice(books)
    async with BooksClient(sandbox.api_key, base_url=drift_proxy.base_url) as drifted:
        raw = await drifted.invoices.with_raw_response.get(created.id)
    invoice = raw.parse()
    sent = _serde.loads(raw.content)
    assert isinstance(sent, dict)
    assert sent["x_new_field"] == {"a": 1}
    assert sent["line_items"][0]["__v"] == 0
    assert invoice.to_dict() == sent
    assert invoice.to_dict(include_extra=False) == created.to_dict()
    back = _serde.structure(invoice.to_dict(), Invoice)
    assert extra(back) == extra(invoice)
    assert extra(back.line_items[0]) == {"x_new_field": {"a": 1}, "__v": 0}  # type: ignore[index]


async def test_to_dict_by_attribute_name_renames_nested_keys_and_keeps_values(books: BooksClient) -> None:
    """by_alias=False gives id/created_at at every level (payments too); values are the wire form's."""
    created = await create_invoice(books)
    await books.invoices.send(created.id)
    await books.invoices.record_payment(
        created.id, PaymentCreate(amount=Decimal("100.00"), payment_method=PaymentMethod.cash)
    )
    invoice = await books.invoices.get(created.id)
    wire = invoice.to_dict()
    named = invoice.to_dict(by_alias=False)
    assert {"id", "created_at", "updated_at"} <= set(named)
    assert not {"_id", "createdAt", "updatedAt"} & set(named)
    assert named["id"] == wire["_id"] == invoice.id
    payment = named["payments"][0]  # type: ignore[index]
    assert isinstance(payment, dict)
    assert payment["id"] == invoice.payments[0].id  # type: ignore[index]
    assert "created_at" in payment
    assert payment["amount"] == Decimal("100.00")
    assert named["total"] == wire["total"] == invoice.total


def test_to_dict_writes_null_where_a_value_could_not_be_read() -> None:
    """A value that could not be read stays in extra() but is not written back: the model has None."""
    wire = _serde.unstructure(Pagination(page=1, limit=20, total=5, pages=1))
    assert isinstance(wire, dict)
    wire["limit"] = "twenty"
    page = _serde.structure(wire, Pagination)
    assert extra(page) == {"limit": "twenty"}
    assert page.to_dict() == {"page": 1, "limit": None, "total": 5, "pages": 1}

"""Models in FastAPI and pydantic (books_async._pydantic): return types, bodies, OpenAPI, no import."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Annotated

import attrs
import httpx
import pytest
from fastapi import Body, FastAPI
from pydantic import BaseModel, TypeAdapter

from books_async import BooksClient
from books_async._typeinfo import wire_key
from books_async.models import Invoice, InvoiceCreate, InvoiceList, ItemType, LineItemCreate
from tests.test_models import create_invoice


def money_strings(value: object) -> object:
    """The expected JSON of a to_dict() value once pydantic has written it: Decimals as their digits."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {k: money_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [money_strings(v) for v in value]
    return value


def make_app(books: BooksClient, received: list[InvoiceCreate]) -> FastAPI:
    """A small app over the SDK: models as return types, a response_model and a request body."""
    app = FastAPI()

    @app.get("/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str) -> Invoice:
        return await books.invoices.get(invoice_id)

    @app.get("/invoices", response_model=InvoiceList)
    async def list_invoices() -> object:
        return await books.invoices.list(limit=10)

    @app.post("/invoices")
    async def create(body: Annotated[InvoiceCreate, Body()]) -> Invoice:
        received.append(body)
        return await books.invoices.create(body)

    return app


@pytest.fixture
async def app_client(books: BooksClient) -> AsyncIterator[tuple[httpx.AsyncClient, list[InvoiceCreate]]]:
    received: list[InvoiceCreate] = []
    transport = httpx.ASGITransport(app=make_app(books, received))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client, received


async def test_fastapi_returns_models_as_their_wire_dict_with_money_as_exact_strings(
    books: BooksClient, app_client: tuple[httpx.AsyncClient, list[InvoiceCreate]]
) -> None:
    """A returned Invoice is its to_dict(), every Decimal a string of its exact digits ("1500.00")."""
    client, _ = app_client
    invoice = await create_invoice(books)
    response = await client.get(f"/invoices/{invoice.id}")
    assert response.status_code == 200
    body = response.json()
    assert body == money_strings(invoice.to_dict())
    assert body["_id"] == invoice.id
    assert body["line_items"][0]["rate"] == "1500.00"
    assert body["total"] == f"{invoice.total:f}"
    page = await client.get("/invoices")
    assert page.status_code == 200
    assert page.json() == money_strings((await books.invoices.list(limit=10)).to_dict())


async def test_fastapi_takes_a_model_as_request_body_from_its_own_json(
    books: BooksClient, app_client: tuple[httpx.AsyncClient, list[InvoiceCreate]]
) -> None:
    """An InvoiceCreate posted as JSON (money as strings, as the app writes it) arrives equal, digits kept."""
    client, received = app_client
    customer = (await books.customers.list()).data[0]
    draft = InvoiceCreate(
        customer_id=customer.id,
        invoice_number="API-1",
        invoice_date=date(2026, 11, 25),
        line_items=[
            LineItemCreate(
                item_type=ItemType.product,
                description="Widget",
                quantity=Decimal("2.500"),
                rate=Decimal("99999999.99"),
                gst_rate=Decimal("18"),
            )
        ],
    )
    response = await client.post("/invoices", json=money_strings(draft.to_dict()))
    assert response.status_code == 200, response.text
    assert received == [draft]
    assert str(received[0].line_items[0].quantity) == "2.500"
    assert response.json()["invoice_number"] == "API-1"
    assert (await books.invoices.get(response.json()["_id"])).invoice_number == "API-1"


async def test_fastapi_refuses_a_bad_body_with_422_naming_the_path_not_the_value(
    books: BooksClient, app_client: tuple[httpx.AsyncClient, list[InvoiceCreate]]
) -> None:
    """A rate that is no number is a 422 naming $.line_items[0].rate; nothing reaches the handler."""
    client, received = app_client
    line = {"item_type": "product", "description": "W", "quantity": 1, "rate": "lots", "gst_rate": 18}
    response = await client.post(
        "/invoices", json={"customer_id": "0" * 24, "invoice_number": "BAD-1", "line_items": [line]}
    )
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert "$.line_items[0].rate" in detail["msg"]
    assert "lots" not in detail["msg"]
    missing = await client.post("/invoices", json={"invoice_number": "BAD-2"})
    assert missing.status_code == 422
    assert "customer_id" in missing.json()["detail"][0]["msg"]
    assert received == []


async def test_fastapi_openapi_lists_every_field_of_the_models_from_the_spec(books: BooksClient) -> None:
    """The app's OpenAPI document has Invoice and its nested models with the spec's fields and wire keys."""
    schemas = make_app(books, []).openapi()["components"]["schemas"]
    invoice = schemas["Invoice"]
    assert set(invoice["properties"]) == {wire_key(a) for a in attrs.fields(Invoice)}
    assert "invoice_number" in invoice["required"]
    assert invoice["properties"]["line_items"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/LineItem"
    }
    assert set(schemas["LineItem"]["properties"]) >= {"rate", "gst_rate", "taxable_value", "total"}
    # Answers carry money as decimal strings; bodies take numbers or decimal strings.
    assert invoice["properties"]["total"]["anyOf"][0]["type"] == "string"
    body = schemas["LineItemCreate"]["properties"]["rate"]
    assert [option["type"] for option in body["anyOf"]] == ["number", "string"]
    assert body["anyOf"][0]["minimum"] == 0
    assert set(schemas["InvoiceList"]["properties"]) == {"data", "pagination"}


async def test_pydantic_type_adapter_round_trips_a_model_exactly(books: BooksClient) -> None:
    """dump_json then validate_json gives an equal model with the same digits; python mode keeps Decimals."""
    invoice = await create_invoice(books)
    adapter = TypeAdapter(Invoice)
    text = adapter.dump_json(invoice)
    back = adapter.validate_json(text)
    assert back == invoice
    assert back.to_json() == invoice.to_json()
    assert adapter.dump_python(invoice) == invoice.to_dict()
    assert adapter.dump_python(invoice, by_alias=False)["id"] == invoice.id


async def test_pydantic_model_holds_an_sdk_model_with_its_schema_as_a_definition(books: BooksClient) -> None:
    """A pydantic model with an Invoice field writes it as the wire dict and names it in $defs."""

    class Report(BaseModel):
        invoice: Invoice
        note: str

    invoice = await create_invoice(books)
    dumped = json.loads(Report(invoice=invoice, note="ok").model_dump_json())
    assert dumped == {"invoice": money_strings(invoice.to_dict()), "note": "ok"}
    schema = Report.model_json_schema(mode="serialization")
    assert schema["properties"]["invoice"] == {"$ref": "#/$defs/Invoice"}
    assert "balance_due" in schema["$defs"]["Invoice"]["properties"]
    assert "LineItem" in schema["$defs"]


def test_import_books_async_loads_no_pydantic() -> None:
    """`import books_async`, its models and to_json() never import pydantic (checked in a fresh process)."""
    code = (
        "import sys, books_async, books_async.models as m\n"
        "m.Pagination(page=1, limit=None, total=0, pages=0).to_json()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'fastapi')))"
    )
    done = subprocess.run(  # noqa: S603  # our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"

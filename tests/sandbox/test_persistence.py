"""``--data FILE``: the store survives a restart, keys included; without it nothing does."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from books_async import BooksClient, ConflictError
from books_async.models import InvoiceStatus, InvoiceUpdate, PaymentCreate, PaymentMethod
from books_async.sandbox import serve
from tests.factories import invoice, invoice_dict

from .conftest import Api

D = Decimal


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    """Invoices, stock and keys written in one run are there in the next; numbering continues."""
    path = tmp_path / "books.sqlite"
    async with serve(data=path) as sb, aiohttp.ClientSession() as session:
        api = Api(session, sb)
        seed = sb.seed
        assert seed is not None
        first = await api.post("/books/invoices", invoice_dict(seed.customer_b2c, invoice_number="P-1"))
        assert first.status == 201
        await api.patch(f"/books/invoices/{first.json['_id']}", {"status": "sent"})
        await api.post(
            f"/books/invoices/{first.json['_id']}/payments", {"amount": 10.1, "payment_method": "cash"}
        )
        key, member, org_id = sb.api_key, sb.member_key, sb.org_id
        saved = first.json["_id"]

    async with serve(data=path) as sb, aiohttp.ClientSession() as session:
        api = Api(session, sb)
        assert (sb.api_key, sb.member_key, sb.org_id) == (key, member, org_id)
        got = await api.get(f"/books/invoices/{saved}")
        assert got.status == 200
        assert got.json["status"] == "partially_paid"
        assert str(got.json["amount_paid"]) == "10.10"
        assert b'"amount_paid":10.10' in got.raw
        assert (
            await api.post("/books/invoices", invoice_dict(sb.seed.customer_b2c, invoice_number="P-1"))
        ).status == 409  # type: ignore[union-attr]
        nxt = await api.post("/books/invoices", invoice_dict(sb.seed.customer_b2c))  # type: ignore[union-attr]
        assert nxt.json["invoice_number"] == "INV-0002"


async def test_api_key_option_is_added_to_existing_data(tmp_path: Path) -> None:
    """Restarting with --api-key keeps the data and accepts the given key as an owner."""
    path = tmp_path / "books.sqlite"
    async with serve(data=path):
        pass
    async with serve(data=path, api_key="my-own-key") as sb, aiohttp.ClientSession() as session:
        api = Api(session, sb)
        assert sb.api_key == "my-own-key"
        assert (await api.get("/books/validate")).json["role"] == "owner"


# ---------------------------------------------------------------------------------------- through the SDK


async def test_data_file_keeps_documents_across_restarts(tmp_path: Path) -> None:
    """With ``data=FILE`` an invoice, its payment and the keys survive stopping and serving again."""
    path = tmp_path / "books.sqlite"
    async with (
        serve(data=path) as sb,
        BooksClient(sb.api_key, base_url=sb.base_url, rate_limit=None) as books,
    ):
        assert sb.seed is not None
        made = await books.invoices.create(invoice(sb.seed.customer_b2c, invoice_number="KEEP-1"))
        await books.invoices.update(made.id, InvoiceUpdate(status=InvoiceStatus.sent))
        await books.invoices.record_payment(
            made.id, PaymentCreate(amount=D("10.10"), payment_method=PaymentMethod.cash)
        )
        key = sb.api_key

    async with serve(data=path) as sb, BooksClient(key, base_url=sb.base_url, rate_limit=None) as books:
        assert sb.api_key == key
        assert sb.seed is not None
        got = await books.invoices.get(made.id)
        assert (got.invoice_number, got.status, got.amount_paid) == (
            "KEEP-1",
            InvoiceStatus.partially_paid,
            D("10.10"),
        )
        assert got.balance_due == D("2349.90")
        with pytest.raises(ConflictError):
            await books.invoices.create(invoice(sb.seed.customer_b2c, invoice_number="KEEP-1"))
        numbers = [i.invoice_number async for i in books.invoices.iter()]
        assert numbers == ["KEEP-1"]


async def test_without_data_file_nothing_survives() -> None:
    """The default in-memory store starts fresh each time (the contrast to ``data=FILE``)."""
    for _ in itertools.repeat(None, 2):
        async with serve() as sb, BooksClient(sb.api_key, base_url=sb.base_url, rate_limit=None) as books:
            assert (await books.invoices.list()).pagination.total == 0
            assert sb.seed is not None
            await books.invoices.create(invoice(sb.seed.customer_b2c, invoice_number="ONCE-1"))

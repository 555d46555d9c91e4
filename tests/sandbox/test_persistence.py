"""``--data FILE``: the store survives a restart, keys included."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from books_async.sandbox import serve
from tests.factories import invoice_dict

from .conftest import Api


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

"""Type-checked, never run: the escape hatches' types as users see them (mypy --strict over this file)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import assert_type

from books_async import BooksClient, RawResponse
from books_async.models import Invoice, InvoiceCreate, InvoiceList, InvoiceUpdate, ItemType, LineItemCreate


async def hatches() -> None:
    async with BooksClient("key") as books:
        r = await books.invoices.with_raw_response.get("x")
        inv: Invoice = r.parse()
        assert_type(r, RawResponse[Invoice])
        assert_type(inv, Invoice)
        assert_type(r.status, int)
        assert_type(r.headers, Mapping[str, str])
        assert_type(r.request_id, str | None)
        assert_type(r.content, bytes)
        assert_type(r.json(), object)

        page = await books.invoices.with_raw_response.list(limit=10, extra_query={"include": "payments"})
        assert_type(page.parse(), InvoiceList)
        assert_type((await books.invoices.with_raw_response.pdf("x")).parse(), bytes)
        assert_type((await books.invoices.with_raw_response.delete("x")).parse(), None)

        line = LineItemCreate(
            item_type=ItemType.service,
            description="Audit",
            quantity=Decimal(1),
            rate=Decimal(1),
            gst_rate=Decimal(18),
        )
        one = InvoiceCreate(customer_id="c", invoice_date=dt.date(2026, 11, 1), line_items=[line])
        assert_type((await books.invoices.with_raw_response.create(one)).parse(), Invoice)
        assert_type((await books.invoices.with_raw_response.create([one])).parse(), list[Invoice])
        assert_type(await books.invoices.create([one], extra_body={"reverse_charge": True}), list[Invoice])

        updated = await books.invoices.update(
            "x",
            InvoiceUpdate(notes="n"),
            extra_body={"tcs_amount": Decimal("12.50")},
            extra_headers={"X-Trace-Id": "t"},
            extra_query={"notify": True},
        )
        assert_type(updated, Invoice)
        async for item in books.invoices.iter(extra_headers={"X-Trace-Id": "t"}, extra_query={"x": 1}):
            assert_type(item, Invoice)

        answer = await books.request("POST", "/books/invoices", json={"amount": Decimal("1500.00")})
        assert_type(answer, object)
        raw = await books.with_raw_response.request(
            "GET", "/books/reports/gstr1", params={"month": "2026-10"}
        )
        assert_type(raw, RawResponse[object])

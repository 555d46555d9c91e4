"""Type-checked, never run: the public API's types as users see them (mypy --strict over this file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import assert_type

from books_async import BooksClient, RateLimit, Timeout
from books_async.models import (
    Customer,
    Invoice,
    InvoiceCreate,
    InvoiceList,
    InvoiceStatus,
    ItemType,
    LineItemCreate,
    PaymentCreate,
    PaymentMethod,
    PaymentRecorded,
    SessionContext,
)


async def tour() -> None:
    async with BooksClient("key", rate_limit=RateLimit(100, 60.0), timeout=Timeout(total=30.0)) as books:
        assert_type(await books.validate.context(), SessionContext)
        assert_type(await books.invoices.list(status=InvoiceStatus.sent, page=1, limit=50), InvoiceList)
        async for invoice in books.invoices.iter(status=InvoiceStatus.overdue):
            assert_type(invoice, Invoice)
            assert_type(invoice.balance_due, Decimal | None)  # a key the live API may leave out
            assert_type(invoice.id, str)  # one it cannot
        line = LineItemCreate(
            item_type=ItemType.service,
            description="Consulting",
            quantity=Decimal(1),
            rate=Decimal("1500.00"),
            gst_rate=Decimal(18),
        )
        one = InvoiceCreate(customer_id="0" * 24, invoice_date=dt.date(2026, 11, 1), line_items=[line])
        assert_type(await books.invoices.create(one), Invoice)
        assert_type(await books.invoices.create([one, one]), list[Invoice])
        assert_type(await books.invoices.pdf("0" * 24, timeout=5.0), bytes)
        paid = await books.invoices.record_payment(
            "0" * 24, PaymentCreate(amount=Decimal("1500.00"), payment_method=PaymentMethod.upi)
        )
        assert_type(paid, PaymentRecorded)
        assert_type(await books.customers.get("0" * 24), Customer)
        assert_type(await books.invoices.delete("0" * 24), None)

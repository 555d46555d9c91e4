"""Type-checked, never run: dict request bodies (books_async.params) as mypy --strict sees them.

Each `# type: ignore[code]` proves mypy reports that error there: `warn_unused_ignores` (part of --strict)
fails the run if the ignore is not needed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import assert_type

from books_async import BooksClient
from books_async.models import (
    Invoice,
    InvoiceStatus,
    ItemType,
    PaymentMethod,
    PaymentRecorded,
)
from books_async.params import (
    InvoiceCreateParam,
    InvoiceUpdateParam,
    LineItemCreateParam,
    PaymentCreateParam,
)


async def dict_bodies() -> None:
    async with BooksClient("key") as books:
        line: LineItemCreateParam = {
            "item_type": "service",
            "description": "Audit",
            "quantity": 1,  # an int is exact, so accepted for a Decimal field
            "rate": Decimal("1500.00"),
            "gst_rate": Decimal(18),
        }
        invoice: InvoiceCreateParam = {
            "customer_id": "0" * 24,
            "invoice_date": dt.date(2026, 11, 1),
            "line_items": [line, {**line, "item_type": ItemType.product, "hsn_sac": "8471"}],
        }
        assert_type(await books.invoices.create(invoice), Invoice)
        assert_type(await books.invoices.create([invoice, invoice]), list[Invoice])
        assert_type((await books.invoices.with_raw_response.create(invoice)).parse(), Invoice)
        # A literal straight in the call is checked key by key too.
        await books.invoices.update("x", {"status": "void"})
        await books.invoices.update("x", {"status": InvoiceStatus.void, "notes": "cancelled"})
        await books.invoices.send("x", {"to": ["a@example.com"]})
        await books.invoices.send("x")
        paid = await books.invoices.record_payment(
            "x", {"amount": Decimal("10.50"), "payment_method": PaymentMethod.upi}
        )
        assert_type(paid, PaymentRecorded)

        # A misspelt key, at the top and nested. Straight in a call, the literal is checked against the
        # model | dict union, so mypy's code there is arg-type; an annotated dict gets the precise one.
        await books.invoices.update("x", {"note": "typo"})  # type: ignore[arg-type]
        update: InvoiceUpdateParam = {"note": "typo"}  # type: ignore[typeddict-unknown-key]
        bad_line: LineItemCreateParam = {
            "item_type": "service",
            "description": "Audit",
            "quantity": 1,
            "rate": Decimal(1),
            "gst_rate": Decimal(18),
            "hsn": "8471",  # type: ignore[typeddict-unknown-key]
        }
        # A float for money: refused at run time, so refused here.
        payment: PaymentCreateParam = {
            "amount": 10.5,  # type: ignore[typeddict-item]
            "payment_method": "upi",
        }
        # A value the enum does not list, and a missing required key.
        await books.invoices.update("x", {"status": "unpaid"})  # type: ignore[arg-type]
        missing: InvoiceCreateParam = {  # type: ignore[typeddict-item]
            "customer_id": "0" * 24,
            "line_items": [bad_line],
        }
        del update, payment, missing

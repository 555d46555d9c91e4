"""Type-checked, never run: open enums, honest absence and extra() as a user's code meets them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import assert_type

from books_async import BooksClient, extra
from books_async.models import Customer, CustomerType, Invoice, InvoiceStatus


def describe(invoice: Invoice) -> str:
    status = invoice.status
    # A status compares with its string, and formats as it, member or value the spec does not list.
    if status == "paid" or status == InvoiceStatus.paid:
        return f"{invoice.invoice_number} is {status}"
    match status:
        case InvoiceStatus.draft | InvoiceStatus.sent:
            return "open"
        case None:
            return "the API sent no status"
        case _:  # an open enum: values the spec does not list land here
            return "unknown" if not status.is_known() else str(status)


def total_or_zero(invoice: Invoice) -> Decimal:
    # Computed keys may be absent on the live API: the types say so, and the code must decide.
    return invoice.total if invoice.total is not None else Decimal(0)


def kind(customer: Customer) -> str:
    assert_type(customer.type, CustomerType | None)
    assert_type(extra(customer), Mapping[str, object])
    return "business" if customer.type == CustomerType.B2B else str(customer.type)


async def strict_contract_test() -> None:
    async with BooksClient("key", strict_responses=True) as books:
        invoice = await books.invoices.get("64f1a2b3c4d5e6f708192a3b")
        assert_type(invoice.status, InvoiceStatus | None)
        assert_type(InvoiceStatus("unpaid").is_known(), bool)

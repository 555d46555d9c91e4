"""``books.invoices``: the generated operations, plus a look-up by invoice number."""

from __future__ import annotations

from books_async._generated.models import Invoice
from books_async._generated.resources.invoices import InvoicesResource
from books_async._types import NOT_GIVEN, TimeoutArg

__all__ = ["Invoices"]


class Invoices(InvoicesResource):
    """GST tax invoices: list, create (one or bulk), update, delete, PDF, send and payments.

    For thousands of invoices use ``books.bulk.create_invoices``: it packs them into as few requests as the
    5 MB body limit allows, and reports per item.
    """

    async def find_by_number(self, invoice_number: str, *, timeout: TimeoutArg = NOT_GIVEN) -> Invoice | None:
        """Return the invoice with exactly this number, or ``None``.

        What to call before resending a create whose outcome is unknown: numbers are unique per organisation.
        """
        async for invoice in self.iter(search=invoice_number, timeout=timeout):
            if invoice.invoice_number == invoice_number:
                return invoice
        return None

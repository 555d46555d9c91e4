"""``books.invoices``: the generated operations plus ``iter()`` and number look-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from books_async._generated.models import Invoice, InvoiceStatus
from books_async._generated.resources.invoices import InvoicesResource
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async._types import NOT_GIVEN, NotGiven, TimeoutArg

__all__ = ["Invoices"]


class Invoices(InvoicesResource):
    """GST tax invoices: list, create (one or bulk), update, delete, PDF, send and payments.

    For thousands of invoices use ``books.bulk.create_invoices``: it packs them into as few requests as the
    5 MB body limit allows, and reports per item.
    """

    def iter(
        self,
        *,
        status: InvoiceStatus | NotGiven = NOT_GIVEN,
        search: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> AsyncIterator[Invoice]:
        """Yield every matching invoice, following pages until the last.

        Requests the largest page size the API allows, to spend fewer of the 100 requests a minute.
        """
        return iterate_pages(
            lambda page: self.list(
                status=status,
                search=search,
                page=page,
                limit=MAX_PAGE_SIZE,
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
            )
        )

    async def find_by_number(self, invoice_number: str, *, timeout: TimeoutArg = NOT_GIVEN) -> Invoice | None:
        """Return the invoice with exactly this number, or ``None``.

        What to call before resending a create whose outcome is unknown: numbers are unique per organisation.
        """
        async for invoice in self.iter(search=invoice_number, timeout=timeout):
            if invoice.invoice_number == invoice_number:
                return invoice
        return None

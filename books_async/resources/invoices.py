"""``books.invoices``: the generated operations, plus a look-up by invoice number."""

from __future__ import annotations

from datetime import date

from books_async._exceptions import ConfigurationError
from books_async._fiscal import financial_year as year_of
from books_async._fiscal import parse_financial_year
from books_async._generated.models import Invoice
from books_async._generated.resources.invoices import InvoicesResource
from books_async._types import NOT_GIVEN, TimeoutArg

__all__ = ["Invoices"]


class Invoices(InvoicesResource):
    """GST tax invoices: list, create (one or bulk), update, delete, PDF, send and payments.

    For thousands of invoices use ``books.bulk.create_invoices``: it packs them into as few requests as the
    5 MB body limit allows, and reports per item.
    """

    async def find_by_number(
        self,
        invoice_number: str,
        *,
        invoice_date: date | None = None,
        financial_year: str | None = None,
        customer_id: str | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> Invoice | None:
        """Return the invoice with exactly this number (in that year, of that customer), or ``None``.

        Numbers are unique per organisation only within a financial year (1 April - 31 March): ``FY/0001``
        dated 31 March and ``FY/0001`` dated 1 April are two invoices. Give ``invoice_date`` (any date of
        the year: the invoice found is the one holding the number in that date's financial year, whatever
        its own date) or ``financial_year`` (``"2026-27"``), and ``customer_id`` to also require that
        customer. Without a year, the most recently created invoice with the number is returned, which may
        be last year's.

        Before resending a create whose outcome is unknown, pass the draft's ``invoice_date`` and
        ``customer_id``: ``None`` then means this customer has no invoice with this number in that year.
        (Another customer's invoice may still hold the number that year; a create then gets a 409.)
        A list row that leaves out the date or customer asked about is read again by id, once.

        Raises:
            ConfigurationError: both ``invoice_date`` and ``financial_year``, or a malformed one; before
                any request.
        """
        year = _wanted_year(invoice_date, financial_year)
        async for listed in self.iter(search=invoice_number, timeout=timeout):
            if listed.invoice_number != invoice_number:
                continue
            invoice = listed
            if (year is not None and invoice.invoice_date is None) or (
                customer_id is not None and invoice.customer_id is None
            ):
                # A list may leave fields out (read as None), which proves nothing: the document itself tells.
                invoice = await self.get(listed.id, timeout=timeout)
            if year is not None and (invoice.invoice_date is None or year_of(invoice.invoice_date) != year):
                continue
            if customer_id is not None and invoice.customer_id != customer_id:
                continue
            return invoice
        return None


def _wanted_year(invoice_date: object, financial_year: object) -> str | None:
    if invoice_date is not None and financial_year is not None:
        raise ConfigurationError(
            "find_by_number: pass invoice_date or financial_year, not both (the date names its year)."
        )
    if invoice_date is not None:
        if not isinstance(invoice_date, date):
            raise ConfigurationError(
                f"find_by_number: invoice_date must be a datetime.date; got {type(invoice_date).__name__}."
            )
        return year_of(invoice_date)
    if financial_year is not None:
        year = parse_financial_year(financial_year)
        if year is None:
            raise ConfigurationError(
                'find_by_number: financial_year must look like "2026-27" (April 2026 to March 2027); '
                f"got {financial_year!r}."
            )
        return year
    return None

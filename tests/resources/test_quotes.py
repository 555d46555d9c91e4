"""books.quotes against the sandbox: converting a quote makes one linked draft invoice, once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from books_async import (
    BooksClient,
    ConflictError,
)
from books_async.models import (
    InvoiceStatus,
    QuoteCreate,
    QuoteStatus,
)
from books_async.sandbox import SeedIds
from tests.factories import DAY, line

D = Decimal


async def test_quote_convert_makes_a_linked_draft_invoice_once(books: BooksClient, seed: SeedIds) -> None:
    """Convert returns a draft invoice with ``quote_id``; the quote is converted; again is a ConflictError."""
    quote = await books.quotes.create(
        QuoteCreate(customer_id=seed.customer_b2b_inter, quote_date=DAY, line_items=[line()], notes="30 days")
    )
    assert (quote.status, quote.total, quote.igst_total) == (QuoteStatus.draft, D("2360.00"), D("360.00"))
    converted = await books.quotes.convert(quote.id)
    assert (converted.status, converted.quote_id, converted.total) == (
        InvoiceStatus.draft,
        quote.id,
        quote.total,
    )
    assert converted.notes == "30 days"
    after = await books.quotes.get(quote.id)
    assert (after.status, after.converted_invoice_id) == (QuoteStatus.converted, converted.id)
    assert (await books.invoices.get(converted.id)).quote_id == quote.id
    with pytest.raises(ConflictError) as err:
        await books.quotes.convert(quote.id)
    assert err.value.status == 409
    assert (await books.invoices.list()).pagination.total == 1

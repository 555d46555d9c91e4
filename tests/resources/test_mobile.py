"""books.mobile against the sandbox: the dashboard adds up the invoices and payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from books_async import (
    BooksClient,
)
from books_async.models import (
    Invoice,
    InvoiceStatus,
    InvoiceUpdate,
    PaymentCreate,
    PaymentMethod,
)
from books_async.sandbox import SeedIds
from tests.factories import invoice, line

D = Decimal


async def test_dashboard_matches_invoices_and_payments(books: BooksClient, seed: SeedIds) -> None:
    """Revenue is the sum of payments; receivables the balance due of sent, part-paid and overdue invoices."""
    past = date(2025, 4, 1)  # due long ago: sent and unpaid, it is overdue
    draft, sent, part, paid, void, overdue = await books.invoices.create(
        [
            invoice(seed.customer_b2c),
            invoice(seed.customer_b2b_inter),
            invoice(seed.customer_b2b_intra, line("3", "333.33")),
            invoice(seed.customer_b2c, line("1", "99.99", "5")),
            invoice(seed.customer_b2c),
            invoice(seed.customer_b2c, invoice_date=past, due_date=past),
        ]
    )
    for inv in (sent, part, paid, void, overdue):
        await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.sent))
    await books.invoices.update(void.id, InvoiceUpdate(status=InvoiceStatus.void))
    payments = [(part, D("500.25")), (paid, paid.total), (overdue, D("60.00"))]
    for inv, amount in payments:
        await books.invoices.record_payment(
            inv.id, PaymentCreate(amount=amount, payment_method=PaymentMethod.upi)
        )

    dash = await books.mobile.dashboard()
    invoices = [i async for i in books.invoices.iter()]
    by_status: dict[InvoiceStatus, list[Invoice]] = {}
    for inv in invoices:
        by_status.setdefault(inv.status, []).append(inv)
    assert (
        dash.total_revenue
        == sum((a for _, a in payments), D("0"))
        == sum((p.amount for inv in invoices for p in inv.payments), D("0"))
    )
    open_statuses = (InvoiceStatus.sent, InvoiceStatus.partially_paid, InvoiceStatus.overdue)
    assert dash.total_receivables == sum(
        (inv.balance_due for inv in invoices if inv.status in open_statuses), D("0")
    )
    # By hand: 2360.00 (sent) + 1180.00 - 500.25 (part: 3 x 333.33 = 999.99 + 180.00 = 1179.99 -> 1180)
    # + 2360.00 - 60.00 (overdue).
    assert dash.total_receivables == D("2360.00") + D("679.75") + D("2300.00")
    assert dash.overdue_amount == D("2300.00")
    counts = dash.invoice_counts
    assert (counts.draft, counts.sent, counts.partially_paid, counts.paid, counts.overdue, counts.void) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert {s: len(v) for s, v in by_status.items()} == dict.fromkeys(
        [
            InvoiceStatus.draft,
            InvoiceStatus.sent,
            InvoiceStatus.partially_paid,
            InvoiceStatus.paid,
            InvoiceStatus.overdue,
            InvoiceStatus.void,
        ],
        1,
    )
    assert {a.id for a in dash.recent_activity} <= {i.id for i in invoices}
    assert dash.currency == "INR"
    assert draft.status is InvoiceStatus.draft

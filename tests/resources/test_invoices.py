"""books.invoices against the sandbox: validation (local and the server's), GST arithmetic, the status
machine, bulk create and actions, payments, stock, filters and paging, PDFs and sending."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import aiohttp
import attrs
import pytest
from pypdf import PdfReader

from books_async import (
    BooksClient,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from books_async.models import (
    Address,
    BulkActionKind,
    CustomerCreate,
    CustomerType,
    EmailReceipt,
    Invoice,
    InvoiceBulkAction,
    InvoiceStatus,
    InvoiceUpdate,
    ItemType,
    LineItemCreate,
    PaymentCreate,
    PaymentMethod,
    QuoteCreate,
    SupplyType,
)
from books_async.sandbox import Sandbox, SeedIds
from tests.factories import DAY, client, invoice, line

D = Decimal


def pdf_text(pdf: bytes) -> str:
    """The text of every page of ``pdf``, which must parse as a PDF."""
    assert pdf.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_auth_another_orgs_invoice_is_not_found(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """An invoice id of another organisation is a 404 NotFoundError, for reads and writes alike."""
    mine = await books.invoices.create(invoice(seed.customer_b2c))
    async with client(sandbox, sandbox.other_org_key) as other:
        with pytest.raises(NotFoundError) as err:
            await other.invoices.get(mine.id)
        assert err.value.status == 404
        with pytest.raises(NotFoundError):
            await other.invoices.update(mine.id, InvoiceUpdate(status=InvoiceStatus.void))
    assert (await books.invoices.get(mine.id)).status is InvoiceStatus.draft


async def test_validation_inferred_patterns_are_left_to_the_server(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """What only the spec's guessed patterns forbid is sent, and the server's 400 names every field."""
    bad = invoice(seed.customer_b2c, invoice_number="has spaces!", place_of_supply="M")
    with pytest.raises(ValidationError) as err:
        await books.invoices.create(bad)
    assert {d.path for d in err.value.details} == {("invoice_number",), ("place_of_supply",)}
    assert [entry[2] for entry in sandbox.request_log] == ["POST"]


async def test_validation_certain_problems_are_refused_before_sending(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """A float for money, a B2B customer without a GSTIN, or a wrong check character: nothing is sent."""
    with pytest.raises(InvalidRequestError) as err:
        await books.invoices.create(
            [invoice(seed.customer_b2c), invoice(seed.customer_b2c, attrs.evolve(line(), rate=1500.0))]
        )
    assert [d.path for d in err.value.details] == [(1, "line_items", 0, "rate")]
    address = Address(line1="1 Main Road", city="Raipur", state_code="22", pincode="492001")
    with pytest.raises(InvalidRequestError) as b2b:
        await books.customers.create(
            CustomerCreate(type=CustomerType.B2B, name="Acme", billing_address=address)
        )
    assert [d.path for d in b2b.value.details] == [("gstin",)]
    with pytest.raises(InvalidRequestError) as gstin:
        await books.customers.create(
            CustomerCreate(
                type=CustomerType.B2B, name="Acme", gstin="22AAAAA0000A1Z5", billing_address=address
            )
        )
    assert "check character" in gstin.value.details[0].message
    with pytest.raises(InvalidRequestError):
        await books.invoices.get("..")  # would reach the collection, not an invoice
    assert list(sandbox.request_log) == []


async def test_validation_lists_every_failing_domain_rule(books: BooksClient) -> None:
    """Unknown customer, due date before invoice date, GST rate off the slabs: one 400 names all three."""
    body = invoice(
        "0" * 24,
        line(gst_rate="7"),
        invoice_date=date(2099, 4, 10),
        due_date=date(2099, 4, 9),
    )
    with pytest.raises(ValidationError) as err:
        await books.invoices.create(body)
    assert {d.path for d in err.value.details} == {
        ("customer_id",),
        ("due_date",),
        ("line_items", 0, "gst_rate"),
    }
    assert (await books.invoices.list()).pagination.total == 0


async def test_validation_duplicate_invoice_number_is_a_conflict(books: BooksClient, seed: SeedIds) -> None:
    """A second invoice with a number already used in the organisation raises ConflictError (409)."""
    first = await books.invoices.create(invoice(seed.customer_b2c, invoice_number="DUP-1"))
    assert first.invoice_number == "DUP-1"
    with pytest.raises(ConflictError) as err:
        await books.invoices.create(invoice(seed.customer_b2b_inter, invoice_number="DUP-1"))
    assert err.value.status == 409
    assert (await books.invoices.list()).pagination.total == 1


# Three lines, used for one customer in the organisation's state (27) and one in Karnataka (29):
#   bolts    40 x 12.50 = 500.00 - 25.00 discount = 475.00 taxable, 18 %: 42.75 + 42.75, or 85.50 IGST
#   service 1.5 x 2500.00 = 3750.00 taxable, 18 %:                       337.50 + 337.50, or 675.00 IGST
#   courier   1 x 10.10 = 10.10 taxable, 5 %: 0.2525 -> 0.25 + 0.25 = 0.50, or 0.505 -> 0.51 IGST
# subtotal 4260.10, discounts 25.00, taxable 4235.10.
# Intra: CGST = SGST = 380.50, tax 761.00, 4996.10 -> total 4996.00, round-off -0.10.
# Inter: IGST 761.01 (per-line half-up rounding), 4996.11 -> total 4996.00, round-off -0.11.


def _gst_lines(seed: SeedIds) -> list[LineItemCreate]:
    return [
        line(
            "40",
            "12.50",
            "18",
            item_type=ItemType.product,
            description="Steel Bolt M8",
            discount="25.00",
            product_id=seed.product_tracked,
        ),
        line("1.5", "2500.00", "18", description="Consulting (per hour)"),
        line("1", "10.10", "5", description="Courier"),
    ]


async def test_invoice_intra_state_splits_cgst_and_sgst(books: BooksClient, seed: SeedIds) -> None:
    """A customer in the organisation's state pays CGST + SGST, half the rate each, rounded per line."""
    inv = await books.invoices.create(invoice(seed.customer_b2b_intra, *_gst_lines(seed)))
    assert isinstance(inv, Invoice)
    assert (inv.place_of_supply, inv.supply_type) == ("27", SupplyType.intra_state)
    assert [
        (i.amount, i.taxable_value, i.cgst_amount, i.sgst_amount, i.igst_amount) for i in inv.line_items
    ] == [
        (D("500.00"), D("475.00"), D("42.75"), D("42.75"), D("0.00")),
        (D("3750.00"), D("3750.00"), D("337.50"), D("337.50"), D("0.00")),
        (D("10.10"), D("10.10"), D("0.25"), D("0.25"), D("0.00")),
    ]
    assert inv.line_items[0].hsn_sac == "7318"  # taken from the catalogue product
    assert (inv.subtotal, inv.discount_total, inv.taxable_total) == (D("4260.10"), D("25.00"), D("4235.10"))
    assert (inv.cgst_total, inv.sgst_total, inv.igst_total) == (D("380.50"), D("380.50"), D("0.00"))
    assert (inv.tax_total, inv.round_off, inv.total) == (D("761.00"), D("-0.10"), D("4996.00"))
    assert (inv.amount_paid, inv.balance_due) == (D("0.00"), D("4996.00"))
    assert (inv.status, inv.invoice_number) == (InvoiceStatus.draft, "INV-0001")


async def test_invoice_inter_state_charges_igst(books: BooksClient, seed: SeedIds) -> None:
    """A customer in another state pays one IGST at the full rate; each line is rounded on its own."""
    inv = await books.invoices.create(invoice(seed.customer_b2b_inter, *_gst_lines(seed)))
    assert isinstance(inv, Invoice)
    assert (inv.place_of_supply, inv.supply_type) == ("29", SupplyType.inter_state)
    assert inv.customer_gstin == "29AAACT1234K1ZC"
    assert [i.igst_amount for i in inv.line_items] == [D("85.50"), D("675.00"), D("0.51")]
    assert [i.total for i in inv.line_items] == [D("560.50"), D("4425.00"), D("10.61")]
    assert (inv.cgst_total, inv.sgst_total, inv.igst_total) == (D("0.00"), D("0.00"), D("761.01"))
    assert (inv.taxable_total, inv.tax_total) == (D("4235.10"), D("761.01"))
    assert (inv.round_off, inv.total, inv.balance_due) == (D("-0.11"), D("4996.00"), D("4996.00"))


async def test_invoice_status_machine_through_update(books: BooksClient, seed: SeedIds) -> None:
    """draft → sent → void via ``invoices.update``; draft → paid and void → sent raise ConflictError."""
    inv = await books.invoices.create(invoice(seed.customer_b2c))
    with pytest.raises(ConflictError, match="draft"):
        await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.paid))
    sent = await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.sent, notes="thanks"))
    assert (sent.status, sent.notes) == (InvoiceStatus.sent, "thanks")
    assert sent.sent_at is not None
    again = await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.sent))
    assert again.status is InvoiceStatus.sent  # asking for the current status is not a change
    void = await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.void))
    assert void.status is InvoiceStatus.void
    with pytest.raises(ConflictError):
        await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.sent))
    assert (await books.invoices.get(inv.id)).status is InvoiceStatus.void


async def test_invoice_bulk_create_is_atomic(books: BooksClient, seed: SeedIds) -> None:
    """One bad item fails the whole array, its details paths starting with its index; nothing is created."""
    batch = [
        invoice(seed.customer_b2c),
        invoice(seed.customer_b2c, line(gst_rate="7")),
        invoice(seed.customer_b2c),
    ]
    with pytest.raises(ValidationError) as err:
        await books.invoices.create(batch)
    assert [d.path for d in err.value.details] == [(1, "line_items", 0, "gst_rate")]
    assert (await books.invoices.list()).pagination.total == 0
    made = await books.invoices.create([invoice(seed.customer_b2c), invoice(seed.customer_b2b_inter)])
    assert [i.invoice_number for i in made] == ["INV-0001", "INV-0002"]
    assert [i.customer_id for i in made] == [seed.customer_b2c, seed.customer_b2b_inter]


async def test_invoice_bulk_action_reports_each_id(books: BooksClient, seed: SeedIds) -> None:
    """bulk_action delete and update_status give one outcome per id, in order; failures stay per id."""
    draft, paid_part, to_send = await books.invoices.create([invoice(seed.customer_b2c) for _ in range(3)])
    await books.invoices.update(paid_part.id, InvoiceUpdate(status=InvoiceStatus.sent))
    await books.invoices.record_payment(
        paid_part.id, PaymentCreate(amount=D("1"), payment_method=PaymentMethod.upi)
    )
    missing = "f" * 24

    sent = await books.invoices.bulk_action(
        InvoiceBulkAction(
            action=BulkActionKind.update_status,
            ids=[to_send.id, missing, paid_part.id],
            status=InvoiceStatus.sent,
        )
    )
    assert [(r.id, r.ok, r.error) for r in sent.results] == [
        (to_send.id, True, None),
        (missing, False, "not_found"),
        (paid_part.id, False, "conflict"),  # partially_paid cannot go back to sent
    ]
    assert (sent.succeeded, sent.failed) == (1, 2)
    assert (await books.invoices.get(to_send.id)).status is InvoiceStatus.sent

    deleted = await books.invoices.bulk_action(
        InvoiceBulkAction(action=BulkActionKind.delete, ids=[draft.id, paid_part.id, missing])
    )
    assert [(r.id, r.ok, r.error) for r in deleted.results] == [
        (draft.id, True, None),
        (paid_part.id, False, "conflict"),  # an invoice with payments is voided, not deleted
        (missing, False, "not_found"),
    ]
    assert (deleted.succeeded, deleted.failed) == (1, 2)
    with pytest.raises(NotFoundError):
        await books.invoices.get(draft.id)
    assert {i.id async for i in books.invoices.iter()} == {paid_part.id, to_send.id}


async def test_invoice_payments_move_status_and_balance(books: BooksClient, seed: SeedIds) -> None:
    """A part payment makes it partially_paid, the rest makes it paid; more than the balance is a 400."""
    inv = await books.invoices.create(invoice(seed.customer_b2b_inter))  # 2000.00 + 360.00 IGST
    assert inv.total == D("2360.00")
    with pytest.raises(ConflictError, match="send it first"):
        await books.invoices.record_payment(
            inv.id, PaymentCreate(amount=D("1"), payment_method=PaymentMethod.cash)
        )
    await books.invoices.update(inv.id, InvoiceUpdate(status=InvoiceStatus.sent))

    first = await books.invoices.record_payment(
        inv.id,
        PaymentCreate(amount=D("1000.50"), payment_method=PaymentMethod.bank_transfer, reference="UTR123"),
    )
    assert (first.payment.amount, first.payment.reference) == (D("1000.50"), "UTR123")
    assert first.invoice.status is InvoiceStatus.partially_paid
    assert (first.invoice.amount_paid, first.invoice.balance_due) == (D("1000.50"), D("1359.50"))

    with pytest.raises(ValidationError) as err:
        await books.invoices.record_payment(
            inv.id, PaymentCreate(amount=D("1359.51"), payment_method=PaymentMethod.upi)
        )
    assert [d.path for d in err.value.details] == [("amount",)]

    rest = await books.invoices.record_payment(
        inv.id, PaymentCreate(amount=D("1359.50"), payment_method=PaymentMethod.upi)
    )
    assert rest.invoice.status is InvoiceStatus.paid
    assert (rest.invoice.amount_paid, rest.invoice.balance_due) == (D("2360.00"), D("0.00"))
    fetched = await books.invoices.get(inv.id)
    assert [p.amount for p in fetched.payments] == [D("1000.50"), D("1359.50")]


async def test_invoice_sale_decrements_tracked_stock(books: BooksClient, seed: SeedIds) -> None:
    """Invoicing a product that tracks inventory lowers its stock; an untracked one keeps its stock."""
    before = await books.products.get(seed.product_tracked)
    assert (before.track_inventory, before.stock_quantity) == (True, D("1000"))
    untracked = await books.products.get(seed.product_untracked)
    await books.invoices.create(
        invoice(
            seed.customer_b2c,
            line(
                "2.5",
                "12.50",
                item_type=ItemType.product,
                description="Bolts",
                product_id=seed.product_tracked,
            ),
            line(
                "3",
                "245.00",
                "12",
                item_type=ItemType.product,
                description="Paper",
                product_id=seed.product_untracked,
            ),
        )
    )
    assert (await books.products.get(seed.product_tracked)).stock_quantity == D("997.5")
    assert (await books.products.get(seed.product_untracked)).stock_quantity == untracked.stock_quantity


async def test_invoice_list_filters_and_pagination(books: BooksClient, seed: SeedIds) -> None:
    """``list`` filters by status and search (number or customer name) and reports page metadata."""
    made = await books.invoices.create(
        [
            invoice(seed.customer_b2c, invoice_number="ALPHA-1"),
            invoice(seed.customer_b2b_inter, invoice_number="ALPHA-2"),
            invoice(seed.customer_b2b_intra, invoice_number="BETA-1"),
        ]
    )
    await books.invoices.update(made[1].id, InvoiceUpdate(status=InvoiceStatus.sent))

    sent = await books.invoices.list(status=InvoiceStatus.sent)
    assert [i.invoice_number for i in sent.data] == ["ALPHA-2"]
    alpha = await books.invoices.list(search="alpha")
    assert sorted(i.invoice_number for i in alpha.data) == ["ALPHA-1", "ALPHA-2"]
    by_name = await books.invoices.list(search="konkan")  # the intra-state customer's name
    assert [i.invoice_number for i in by_name.data] == ["BETA-1"]
    both = await books.invoices.list(status=InvoiceStatus.draft, search="ALPHA")
    assert [i.invoice_number for i in both.data] == ["ALPHA-1"]

    page1 = await books.invoices.list(limit=2)
    page2 = await books.invoices.list(limit=2, page=2)
    assert (
        page1.pagination.page,
        page1.pagination.limit,
        page1.pagination.total,
        page1.pagination.pages,
    ) == (
        1,
        2,
        3,
        2,
    )
    assert (page2.pagination.page, len(page2.data)) == (2, 1)
    assert [i.invoice_number for i in [*page1.data, *page2.data]] == [
        "BETA-1",
        "ALPHA-2",
        "ALPHA-1",
    ]  # newest first


async def test_invoice_iter_follows_pages_past_100(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """``iter()`` yields every invoice of a 130-invoice list, in 2 requests of up to 100."""
    made = await books.invoices.create([invoice(seed.customer_b2c) for _ in range(130)])
    assert len(made) == 130
    before = len(sandbox.request_log)
    seen = [i.id async for i in books.invoices.iter()]
    assert sorted(seen) == sorted(i.id for i in made)
    assert len(set(seen)) == 130
    pages = [e for e in list(sandbox.request_log)[before:] if e[2] == "GET"]
    assert len(pages) == 2


async def test_pdf_of_invoice_and_quote_parse(books: BooksClient, seed: SeedIds) -> None:
    """``invoices.pdf`` and ``quotes.pdf`` return real PDFs showing the number, GSTINs and the total."""
    inv = await books.invoices.create(invoice(seed.customer_b2b_inter, invoice_number="PDF-7"))
    text = pdf_text(await books.invoices.pdf(inv.id))
    assert "PDF-7" in text
    assert "29AAACT1234K1ZC" in text  # the customer's GSTIN
    assert "27AAPFU0939F1ZV" in text  # the organisation's
    assert "2,360.00" in text or "2360.00" in text
    quote = await books.quotes.create(
        QuoteCreate(customer_id=seed.customer_b2c, quote_date=DAY, line_items=[line()])
    )
    assert quote.quote_number in pdf_text(await books.quotes.pdf(quote.id))


async def test_send_records_outbox_and_marks_sent(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """``send`` returns an EmailReceipt, marks the draft sent, and the e-mail is in the sandbox's outbox."""
    inv = await books.invoices.create(invoice(seed.customer_b2c))
    receipt = await books.invoices.send(inv.id)
    assert isinstance(receipt, EmailReceipt)
    assert receipt.to == ["priya@example.com"]
    assert inv.invoice_number in receipt.subject
    assert receipt.document_status == "sent"
    assert receipt.attachment_name.endswith(".pdf")
    assert receipt.attachment_size > 0
    assert (await books.invoices.get(inv.id)).status is InvoiceStatus.sent

    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.base_url + "/__sandbox__/outbox", headers={"x-api-key": sandbox.api_key}) as resp,
    ):
        assert resp.status == 200
        outbox = (await resp.json())["data"]
    assert [(m["message_id"], m["to"], m["attachment_size"]) for m in outbox] == [
        (receipt.message_id, ["priya@example.com"], receipt.attachment_size)
    ]
    assert outbox == sandbox.outbox()


async def test_send_without_customer_email_needs_to(books: BooksClient, seed: SeedIds) -> None:
    """A customer without an e-mail and no ``to`` is a ValidationError on ``to``; the invoice stays draft."""
    inv = await books.invoices.create(invoice(seed.customer_b2c_no_email))
    with pytest.raises(ValidationError) as err:
        await books.invoices.send(inv.id)
    assert [d.path for d in err.value.details] == [("to",)]
    assert (await books.invoices.get(inv.id)).status is InvoiceStatus.draft

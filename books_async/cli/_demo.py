"""``books-async demo``: a realistic bulk invoicing job against the embedded sandbox, through the public SDK.

It starts the sandbox in-process on a free port (nothing leaves the machine, no key needed; the sandbox
enforces the live API's 100 requests a minute), then creates customers (B2B with a GSTIN, and B2C),
products and services, invoices in bulk, the same number on both sides of 1 April (invoice numbers restart
each financial year), a few quotes whose PDFs it saves and that it converts, sends every invoice, downloads
every PDF, records payments (some full, some partial), and prints the dashboard and a summary.

The default of 20 invoices needs about 84 requests, so the whole run fits in one minute's quota and takes a
few seconds; larger runs wait for the quota as the live API would make them.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TypeVar

from books_async import BooksClient, BooksError, ConfigurationError, RateLimit
from books_async.bulk import BulkResult, PDFFile
from books_async.cli._interrupt import GracefulStop
from books_async.cli._output import Output
from books_async.models import (
    Address,
    Customer,
    CustomerCreate,
    CustomerType,
    Invoice,
    InvoiceCreate,
    ItemType,
    LineItemCreate,
    PaymentCreate,
    PaymentMethod,
    Product,
    ProductCreate,
    QuoteCreate,
    Service,
    ServiceCreate,
)

__all__ = ["DEFAULT_INVOICES", "estimate_requests", "run_demo"]

T = TypeVar("T")

DEFAULT_INVOICES = 20
"""Invoices the demo creates by default: small enough that every request fits in one minute's quota."""

_QUOTES = 3
_FY_NUMBER = "FY/0001"
"""Used twice, dated 31 March and 1 April: unique within a financial year, not forever (DOMAIN.md)."""
_IST = timezone(timedelta(hours=5, minutes=30), "IST")
_PAISA = Decimal("0.01")
_PAY_METHODS = (PaymentMethod.upi, PaymentMethod.bank_transfer, PaymentMethod.card, PaymentMethod.cheque)


def estimate_requests(invoices: int) -> int:
    """Return how many API requests a demo with ``invoices`` invoices makes (without retries)."""
    documents = invoices + _QUOTES + 2  # converted quotes and the two FY/0001 invoices too
    payments = math.ceil(documents * 2 / 3)
    # The list pages that sends and payments read first, to resolve an unknown outcome without a resend.
    snapshots = 2 * math.ceil(documents / 100)
    # context + 4 customers + 2 products + 2 services + 1 bulk invoice create + 2 FY/0001 creates
    # + 1 bulk quote create + quote PDFs + converts + sends + PDFs + payments + snapshots + dashboard
    return 1 + 4 + 2 + 2 + 1 + 2 + 1 + 2 * _QUOTES + documents + documents + payments + snapshots + 1


@dataclass
class _Step:
    name: str
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, result: BulkResult[object]) -> None:
        self.succeeded += result.succeeded
        self.failed += result.failed
        self.cancelled += result.cancelled
        self.errors.extend(f"item {i}: {str(e).splitlines()[0]}" for i, e in result.errors.items())


def _address(line1: str, city: str, state: str, pincode: str) -> Address:
    return Address(line1=line1, city=city, state_code=state, pincode=pincode, country="IN")


_CUSTOMERS = (
    CustomerCreate(
        type=CustomerType.B2B,
        name="Konkan Engineering Works",
        gstin="27AABCT5678M1ZN",  # Maharashtra, as the sandbox's organisation: CGST + SGST
        email="accounts@konkan.example.com",
        billing_address=_address("Plot 7, MIDC Bhosari", "Pune", "27", "411026"),
    ),
    CustomerCreate(
        type=CustomerType.B2B,
        name="Bangalore Tech Solutions",
        gstin="29AAACT1234K1ZC",  # Karnataka: inter-state, IGST
        email="ap@blrtech.example.com",
        billing_address=_address("80 Feet Road, Koramangala", "Bengaluru", "29", "560034"),
    ),
    CustomerCreate(
        type=CustomerType.B2C,
        name="Priya Sharma",
        email="priya@example.com",
        billing_address=_address("Flat 3B, Sea View", "Mumbai", "27", "400050"),
    ),
    CustomerCreate(
        type=CustomerType.B2C,
        name="Ravi Kumar",
        email="ravi@example.com",
        billing_address=_address("14 Anna Salai", "Chennai", "33", "600002"),
    ),
)

_PRODUCTS = (
    ProductCreate(
        name="Steel Bolt M8",
        sku="BOLT-M8",
        hsn_code="7318",
        unit="PCS",
        sale_price=Decimal("12.50"),
        gst_rate=Decimal(18),
        track_inventory=True,
        stock_quantity=Decimal(100000),
    ),
    ProductCreate(
        name="A4 Copier Paper (ream)",
        sku="PAPER-A4",
        hsn_code="4802",
        unit="NOS",
        sale_price=Decimal("245.00"),
        gst_rate=Decimal(5),
    ),
)

_SERVICES = (
    ServiceCreate(name="Installation", sac_code="998729", rate=Decimal("1500.00"), gst_rate=Decimal(18)),
    ServiceCreate(
        name="Consulting (per hour)", sac_code="998311", rate=Decimal("2500.00"), gst_rate=Decimal(18)
    ),
)


def _needed(value: T | None, what: str) -> T:
    # Tolerant reading gives None for a key the API left out; the demo cannot build a line without it.
    if value is None:
        raise BooksError(f"The API's answer has no {what}; the demo needs it (see `books-async doctor`).")
    return value


def _product_line(product: Product, quantity: int) -> LineItemCreate:
    return LineItemCreate(
        item_type=ItemType.product,
        product_id=product.id,
        description=_needed(product.name, "product name"),
        quantity=Decimal(quantity),
        rate=_needed(product.sale_price, "product sale_price"),
        gst_rate=_needed(product.gst_rate, "product gst_rate"),
    )


def _service_line(service: Service, hours: int) -> LineItemCreate:
    return LineItemCreate(
        item_type=ItemType.service,
        service_id=service.id,
        description=_needed(service.name, "service name"),
        quantity=Decimal(hours),
        rate=_needed(service.rate, "service rate"),
        gst_rate=_needed(service.gst_rate, "service gst_rate"),
    )


def _lines(i: int, products: list[Product], services: list[Service]) -> list[LineItemCreate]:
    lines = [_product_line(products[i % len(products)], 10 * (i % 7 + 1))]
    if i % 2 == 0:
        lines.append(_service_line(services[i % len(services)], i % 3 + 1))
    if i % 5 == 0:
        lines.append(_product_line(products[(i + 1) % len(products)], 3))
    return lines


class _Demo:
    def __init__(self, books: BooksClient, output: Output, stop: GracefulStop) -> None:
        self.books = books
        self.output = output
        self.stop = stop
        self.steps: dict[str, _Step] = {}

    def step(self, name: str) -> _Step:
        return self.steps.setdefault(name, _Step(name))

    def say(self, text: str) -> None:
        self.output.note(f"  {text}")

    async def setup(self) -> tuple[list[Customer], list[Product], list[Service]]:
        books = self.books
        # The set-up is a handful of calls, made one by one: any failure here ends the demo with its message.
        customers = [await books.customers.create(body) for body in _CUSTOMERS]
        self.step("customers").succeeded = len(customers)
        products = [await books.products.create(body) for body in _PRODUCTS]
        self.step("products").succeeded = len(products)
        services = [await books.services.create(body) for body in _SERVICES]
        self.step("services").succeeded = len(services)
        b2b = sum(1 for c in customers if c.type is CustomerType.B2B)
        self.say(
            f"created {b2b} B2B and {len(customers) - b2b} B2C customers, {len(products)} products, "
            f"{len(services)} services"
        )
        return customers, products, services

    async def run(self, count: int, out_dir: Path) -> None:
        books, bulk, stop = self.books, self.books.bulk, self.stop.event
        context = await books.validate.context()
        self.say(f"organisation: {context.org_name}")
        customers, products, services = await self.setup()
        today = datetime.now(_IST).date()

        drafts = [
            InvoiceCreate(
                customer_id=customers[i % len(customers)].id,
                invoice_number=f"DEMO-{i + 1:04d}",
                invoice_date=today,
                due_date=today + timedelta(days=15),
                line_items=_lines(i, products, services),
                notes="Thank you for your business.",
            )
            for i in range(count)
        ]
        sent_before = books.requests_sent
        with self.output.progress("Creating invoices", len(drafts)) as progress:
            created = await bulk.create_invoices(drafts, progress=progress, stop=stop)
        self.step("invoices created").count(created)
        self.say(
            f"created {created.succeeded} invoices in {books.requests_sent - sent_before} bulk request(s)"
        )

        invoices = created.values
        if not self.stop.stopped:
            invoices += await self.financial_years(customers, products, services, today)
        if not self.stop.stopped:
            invoices += await self.quotes(customers, products, services, today, out_dir)
        if not self.stop.stopped:
            await self.send(invoices)
        if not self.stop.stopped:
            await self.download(invoices, out_dir)
        if not self.stop.stopped:
            await self.pay(invoices, today)
        if not self.stop.stopped:
            await self.dashboard()

    async def financial_years(
        self, customers: list[Customer], products: list[Product], services: list[Service], today: date
    ) -> list[Invoice]:
        """The same number on 31 March and on 1 April: two financial years, so two invoices."""
        start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
        made: list[Invoice] = []
        for day in (start - timedelta(days=1), start):
            body = InvoiceCreate(
                customer_id=customers[0].id,
                invoice_number=_FY_NUMBER,
                invoice_date=day,
                due_date=day + timedelta(days=15),
                line_items=_lines(len(made), products, services),
            )
            made.append(await self.books.invoices.create(body))
        self.step("invoices created").succeeded += len(made)
        dates = " and ".join(f"{inv.invoice_date:%d %b %Y}" for inv in made if inv.invoice_date)
        self.say(f"created {_FY_NUMBER} dated {dates}: invoice numbers restart each financial year")
        return made

    async def quotes(
        self,
        customers: list[Customer],
        products: list[Product],
        services: list[Service],
        today: date,
        out_dir: Path,
    ) -> list[Invoice]:
        bulk = self.books.bulk
        drafts = [
            QuoteCreate(
                customer_id=customers[i % len(customers)].id,
                quote_number=f"DQ-{i + 1:04d}",
                quote_date=today,
                line_items=_lines(i + 1, products, services),
            )
            for i in range(_QUOTES)
        ]
        quotes = await bulk.create_quotes(drafts, stop=self.stop.event)
        self.step("quotes created").count(quotes)
        names = {q.id: f"quote-{q.quote_number.replace('/', '-')}.pdf" for q in quotes.values}
        pdfs = await bulk.download_pdfs(list(names), out_dir, kind="quote", names=names, stop=self.stop.event)
        self.step("quote PDFs downloaded").count(pdfs)
        converted = await bulk.convert_quotes([q.id for q in quotes.values], stop=self.stop.event)
        self.step("quotes converted").count(converted)
        self.say(
            f"created {quotes.succeeded} quotes, saved {pdfs.succeeded} quote PDFs and converted "
            f"{converted.succeeded} into invoices"
        )
        return converted.values

    async def send(self, invoices: list[Invoice]) -> None:
        with self.output.progress("Sending invoices", len(invoices)) as progress:
            sent = await self.books.bulk.send_invoices(
                [inv.id for inv in invoices], progress=progress, stop=self.stop.event
            )
        self.step("invoices sent").count(sent)
        self.say(f"sent {sent.succeeded} invoices by e-mail")

    async def download(self, invoices: list[Invoice], out_dir: Path) -> None:
        # The number alone is not unique (FY/0001 twice): the invoice date tells them apart.
        names = {
            inv.id: f"invoice-{inv.invoice_number.replace('/', '-')}-{inv.invoice_date}.pdf"
            for inv in invoices
        }
        with self.output.progress("Downloading PDFs", len(invoices)) as progress:
            pdfs = await self.books.bulk.download_pdfs(
                [inv.id for inv in invoices], out_dir, names=names, progress=progress, stop=self.stop.event
            )
        step = self.step("PDFs downloaded")
        step.count(pdfs)
        bad = await asyncio.to_thread(_not_pdfs, pdfs.values)
        if bad:
            step.succeeded -= len(bad)
            step.failed += len(bad)
            step.errors.extend(f"{path}: does not start with %PDF" for path in bad)
        size = sum(f.size for f in pdfs.values)
        self.say(
            f"downloaded {pdfs.succeeded} PDFs ({size / 1024:,.0f} KiB) to {out_dir}; "
            f"{pdfs.succeeded - len(bad)} checked to start with %PDF"
        )

    async def pay(self, invoices: list[Invoice], today: date) -> None:
        pairs: list[tuple[str, PaymentCreate]] = []
        for i, inv in enumerate(invoices):
            if i % 3 == 2:
                continue  # a third stay unpaid, so the dashboard shows receivables
            due = _needed(inv.balance_due, "invoice balance_due")
            amount = due if i % 3 == 0 else (due / 2).quantize(_PAISA, ROUND_DOWN)
            if amount <= 0:
                continue
            pairs.append(
                (
                    inv.id,
                    PaymentCreate(
                        amount=amount,
                        payment_method=_PAY_METHODS[i % len(_PAY_METHODS)],
                        payment_date=today,
                        reference=f"UTR{i + 1:08d}",
                    ),
                )
            )
        with self.output.progress("Recording payments", len(pairs)) as progress:
            paid = await self.books.bulk.record_payments(pairs, progress=progress, stop=self.stop.event)
        self.step("payments recorded").count(paid)
        full = sum(1 for p in paid.values if p.invoice is not None and p.invoice.balance_due == 0)
        self.say(f"recorded {paid.succeeded} payments: {full} in full, {paid.succeeded - full} partial")

    async def dashboard(self) -> None:
        board = await self.books.mobile.dashboard()
        counts = board.invoice_counts
        rows = [
            ["Revenue received", f"₹{board.total_revenue:,.2f}"],
            ["Receivables", f"₹{board.total_receivables:,.2f}"],
            ["Overdue", f"₹{board.overdue_amount:,.2f}"],
            *[
                [f"Invoices {name.replace('_', ' ')}", str(getattr(counts, name))]
                for name in ("draft", "sent", "partially_paid", "paid", "overdue", "void")
            ],
        ]
        self.output.line()
        self.output.table(
            f"Dashboard (as of {board.as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
            if board.as_of
            else "Dashboard",
            ["", "value"],
            rows,
            right={1},
        )

    def summary(self, elapsed: float) -> int:
        steps = self.steps.values()
        failed = sum(s.failed for s in steps)
        headers = ["", "ok", "failed"]
        rows = [[s.name, str(s.succeeded), str(s.failed)] for s in steps]
        if any(s.cancelled for s in steps):
            headers.append("not started")
            for row, step in zip(rows, steps, strict=True):
                row.append(str(step.cancelled))
        blank = [""] * (len(headers) - 2)
        rows += [
            ["requests made", str(self.books.requests_sent), *blank],
            ["429s met", str(self.books.rate_limited), *blank],
            ["elapsed", f"{elapsed:.1f} s", *blank],
        ]
        self.output.line()
        self.output.table("Summary", headers, rows, right=set(range(1, len(headers))))
        for step in self.steps.values():
            for error in step.errors[:5]:
                self.output.note(f"{step.name}: {error}")
        return failed


def _not_pdfs(files: list[PDFFile]) -> list[Path]:
    bad = []
    for f in files:
        with f.path.open("rb") as fh:
            if fh.read(5) != b"%PDF-":
                bad.append(f.path)
    return bad


async def run_demo(
    *, invoices: int, out_dir: Path, rate_limit: tuple[int, float] | None, output: Output
) -> int:
    """Run the demo; return the exit status (0 only when every item succeeded, 130 when stopped)."""
    try:
        from books_async.sandbox import serve  # the `sandbox` extra, needed only here
    except ImportError as exc:
        raise ConfigurationError(
            f"The demo needs the sandbox extra ({exc.name} is missing): "
            "pip install 'books-async[sandbox,cli]'."
        ) from exc
    started = time.perf_counter()
    needed = estimate_requests(invoices)
    async with serve(rate_limit=rate_limit, empty=True) as sandbox:
        limit = f"{rate_limit[0]} requests per {rate_limit[1]:g} s" if rate_limit else "no rate limit"
        output.note(f"Sandbox running at {sandbox.base_url} ({limit}).")
        if rate_limit is not None and needed > rate_limit[0]:
            minutes = math.ceil(needed / rate_limit[0]) - 1
            output.note(
                f"  {invoices} invoices need about {needed} requests: expect ~{minutes} quota wait(s)."
            )
        client_limit = RateLimit(*rate_limit) if rate_limit is not None else None
        async with BooksClient(
            api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limit=client_limit
        ) as books:
            demo = _Demo(
                books, output, GracefulStop(lambda: output.note("Stopping after the items in flight..."))
            )
            with demo.stop:
                try:
                    await demo.run(invoices, out_dir)
                finally:
                    failed = demo.summary(time.perf_counter() - started)
    if demo.stop.stopped:
        output.note("Stopped before the end (Ctrl-C).")
        return 130
    if failed:
        output.note(f"{failed} item(s) failed.")
        return 1
    output.note(f"Done: every item succeeded. PDFs are in {out_dir}.")
    return 0

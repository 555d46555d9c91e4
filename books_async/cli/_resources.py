"""The account's resources as the CLI offers them: one row per resource, from which the commands are built.

A row names the client attribute, the list operation's filters (each becomes a flag), the columns of the
table ``list`` prints, and whether the documents have a PDF and can be e-mailed (``pdf``, ``send``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from books_async._enums import OpenEnum
from books_async.models import CustomerType, InvoiceStatus, QuoteStatus

__all__ = ["RESOURCES", "Column", "Filter", "Resource"]


@dataclass(frozen=True, slots=True)
class Filter:
    """A keyword of the resource's ``list()``, offered as ``--<param with dashes>``."""

    param: str
    help: str
    choices: type[OpenEnum] | None = None

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--customer-id``."""
        return "--" + self.param.replace("_", "-")


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the ``list`` table: its header and the model attribute it shows."""

    header: str
    attribute: str
    money: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One resource: ``name`` is both the command and the client's attribute (``books.invoices``)."""

    name: str
    noun: str
    help: str
    filters: tuple[Filter, ...] = ()
    columns: tuple[Column, ...]
    documents: bool = False
    example_filter: str = ""


_SEARCH = Filter("search", "match the name (case-insensitive)")
_ID = Column("id", "id")

RESOURCES: Final = (
    Resource(
        name="invoices",
        noun="invoice",
        help="GST invoices: list, get, pdf, send, download-pdfs",
        filters=(
            Filter("status", "only invoices in this state", InvoiceStatus),
            Filter("search", "match the invoice number or the customer's name"),
        ),
        columns=(
            _ID,
            Column("number", "invoice_number"),
            Column("date", "invoice_date"),
            Column("customer", "customer_name"),
            Column("status", "status"),
            Column("total", "total", money=True),
            Column("balance", "balance_due", money=True),
        ),
        documents=True,
        example_filter="--status overdue",
    ),
    Resource(
        name="quotes",
        noun="quote",
        help="quotes and estimates: list, get, pdf, send",
        filters=(
            Filter("status", "only quotes in this state", QuoteStatus),
            Filter("customer_id", "only this customer's quotes"),
        ),
        columns=(
            _ID,
            Column("number", "quote_number"),
            Column("date", "quote_date"),
            Column("customer", "customer_name"),
            Column("status", "status"),
            Column("total", "total", money=True),
        ),
        documents=True,
        example_filter="--status sent",
    ),
    Resource(
        name="customers",
        noun="customer",
        help="customers: list, get",
        filters=(Filter("type", "B2B (GST-registered) or B2C", CustomerType), _SEARCH),
        columns=(_ID, Column("name", "name"), Column("type", "type"), Column("gstin", "gstin")),
        example_filter="--type B2B",
    ),
    Resource(
        name="products",
        noun="product",
        help="products (stock-tracked goods): list, get",
        filters=(_SEARCH,),
        columns=(
            _ID,
            Column("name", "name"),
            Column("hsn", "hsn_code"),
            Column("price", "sale_price", money=True),
            Column("gst %", "gst_rate"),
            Column("stock", "stock_quantity"),
        ),
        example_filter="--search cable",
    ),
    Resource(
        name="services",
        noun="service",
        help="services of the catalogue: list, get",
        filters=(_SEARCH,),
        columns=(
            _ID,
            Column("name", "name"),
            Column("sac", "sac_code"),
            Column("rate", "rate", money=True),
            Column("gst %", "gst_rate"),
        ),
        example_filter="--search audit",
    ),
    Resource(
        name="orgs",
        noun="organisation",
        help="organisations the key may use: list, get",
        columns=(_ID, Column("name", "name"), Column("gstin", "gstin"), Column("state", "state_code")),
    ),
)

"""The alternatives books-async is compared with: pydantic v2 models, msgspec Structs, and a client
generated from our own spec by openapi-python-client (at bench time, into a temporary folder).

The pydantic and msgspec models are hand-written to match ``openapi/books.yaml``'s ``Invoice`` field for
field, with the same types (money as ``Decimal``, dates, timestamps, the generated enums), so each decoder
builds the same objects.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pydantic

from books_async._generated.models import InvoiceStatus, ItemType, PaymentMethod, SupplyType

ROOT = Path(__file__).resolve().parent.parent

# ---- pydantic v2 -------------------------------------------------------------------------------------


class _Model(pydantic.BaseModel):
    # Frozen like the attrs models; unknown keys ignored, as every client here does.
    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")


class PAddress(_Model):
    line1: str
    city: str
    state_code: str
    pincode: str
    line2: str | None = None
    country: str | None = None


class PLineItem(_Model):
    item_type: ItemType
    description: str
    quantity: Decimal
    rate: Decimal
    discount: Decimal
    gst_rate: Decimal
    amount: Decimal
    taxable_value: Decimal
    cgst_amount: Decimal
    sgst_amount: Decimal
    igst_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    product_id: str | None = None
    service_id: str | None = None
    hsn_sac: str | None = None
    unit: str | None = None


class PPayment(_Model):
    id: str = pydantic.Field(alias="_id")
    amount: Decimal
    payment_method: PaymentMethod
    payment_date: date
    created_at: datetime = pydantic.Field(alias="createdAt")
    reference: str | None = None
    notes: str | None = None


class PInvoice(_Model):
    id: str = pydantic.Field(alias="_id")
    invoice_number: str
    invoice_date: date
    due_date: date
    customer_id: str
    customer_name: str
    place_of_supply: str
    supply_type: SupplyType
    status: InvoiceStatus
    line_items: list[PLineItem]
    subtotal: Decimal
    discount_total: Decimal
    taxable_total: Decimal
    cgst_total: Decimal
    sgst_total: Decimal
    igst_total: Decimal
    tax_total: Decimal
    round_off: Decimal
    total: Decimal
    amount_paid: Decimal
    balance_due: Decimal
    payments: list[PPayment]
    created_at: datetime = pydantic.Field(alias="createdAt")
    updated_at: datetime = pydantic.Field(alias="updatedAt")
    customer_gstin: str | None = None
    billing_address: PAddress | None = None
    notes: str | None = None
    terms: str | None = None
    quote_id: str | None = None
    sent_at: datetime | None = None


class PPagination(_Model):
    page: int
    limit: int
    total: int
    pages: int


class PInvoiceList(_Model):
    data: list[PInvoice]
    pagination: PPagination


# ---- msgspec -----------------------------------------------------------------------------------------


class MAddress(msgspec.Struct, frozen=True, kw_only=True):
    line1: str
    city: str
    state_code: str
    pincode: str
    line2: str | None = None
    country: str | None = None


class MLineItem(msgspec.Struct, frozen=True, kw_only=True):
    item_type: ItemType
    description: str
    quantity: Decimal
    rate: Decimal
    discount: Decimal
    gst_rate: Decimal
    amount: Decimal
    taxable_value: Decimal
    cgst_amount: Decimal
    sgst_amount: Decimal
    igst_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    product_id: str | None = None
    service_id: str | None = None
    hsn_sac: str | None = None
    unit: str | None = None


class MPayment(msgspec.Struct, frozen=True, kw_only=True):
    id: str = msgspec.field(name="_id")
    amount: Decimal
    payment_method: PaymentMethod
    payment_date: date
    created_at: datetime = msgspec.field(name="createdAt")
    reference: str | None = None
    notes: str | None = None


class MInvoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str = msgspec.field(name="_id")
    invoice_number: str
    invoice_date: date
    due_date: date
    customer_id: str
    customer_name: str
    place_of_supply: str
    supply_type: SupplyType
    status: InvoiceStatus
    line_items: list[MLineItem]
    subtotal: Decimal
    discount_total: Decimal
    taxable_total: Decimal
    cgst_total: Decimal
    sgst_total: Decimal
    igst_total: Decimal
    tax_total: Decimal
    round_off: Decimal
    total: Decimal
    amount_paid: Decimal
    balance_due: Decimal
    payments: list[MPayment]
    created_at: datetime = msgspec.field(name="createdAt")
    updated_at: datetime = msgspec.field(name="updatedAt")
    customer_gstin: str | None = None
    billing_address: MAddress | None = None
    notes: str | None = None
    terms: str | None = None
    quote_id: str | None = None
    sent_at: datetime | None = None


class MPagination(msgspec.Struct, frozen=True):
    page: int
    limit: int
    total: int
    pages: int


class MInvoiceList(msgspec.Struct, frozen=True):
    data: list[MInvoice]
    pagination: MPagination


# ---- openapi-python-client ---------------------------------------------------------------------------

OPC_PACKAGE = "books_opc"
_OPC_CONFIG = (
    # It has no PDF response type of its own; this maps PDFs onto its binary (`File`) support.
    "content_type_overrides:\n  application/pdf: application/octet-stream\n"
    f"package_name_override: {OPC_PACKAGE}\n"
    # Its ruff post-hooks only format the output; without ruff on PATH they would just warn.
    "post_hooks: []\n"
)


def generate_opc_client(workdir: Path) -> object:
    """Generate a client from ``openapi/books.yaml`` into ``workdir`` and import it; returns the package.

    Raises:
        RuntimeError: the generator is missing or failed (its output is in the message).
    """
    exe = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "openapi-python-client"
    )
    if exe is None:
        raise RuntimeError("openapi-python-client is not installed (it is in the bench dependency group)")
    config = workdir / "opc.yaml"
    config.write_text(_OPC_CONFIG, encoding="utf-8")
    out = workdir / OPC_PACKAGE
    done = subprocess.run(  # noqa: S603  # fixed arguments
        [
            exe,
            "generate",
            "--path",
            str(ROOT / "openapi" / "books.yaml"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    if done.returncode != 0 or not (out / "__init__.py").is_file():
        raise RuntimeError(f"openapi-python-client failed ({done.returncode}): {done.stdout}{done.stderr}")
    sys.path.insert(0, str(workdir))
    importlib.invalidate_caches()
    return importlib.import_module(OPC_PACKAGE)

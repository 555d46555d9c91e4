"""books.validate against the sandbox: the session's context, and checks that write nothing."""

from __future__ import annotations

from datetime import date

from books_async import (
    BooksClient,
)
from books_async.models import (
    Address,
    CustomerCreate,
    CustomerType,
    KeyRole,
)
from books_async.sandbox import Sandbox, SeedIds
from tests.factories import client, invoice, line


async def test_validate_context_names_org_and_role(sandbox: Sandbox, books: BooksClient) -> None:
    """``validate.context()`` gives the key's organisation id and name, and its role."""
    owner = await books.validate.context()
    assert (owner.org_id, owner.org_name, owner.role) == (
        sandbox.org_id,
        "Sandbox Traders Pvt Ltd",
        KeyRole.owner,
    )
    async with client(sandbox, sandbox.member_key) as member:
        assert (await member.validate.context()).role is KeyRole.member


async def test_validate_check_model_writes_nothing(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """``check_model`` answers valid, or not valid with every failing field, and never creates anything."""
    good = await books.validate.check_model(invoice(seed.customer_b2b_intra, invoice_number="CHK-1"))
    assert (good.valid, good.details) == (True, [])
    bad = await books.validate.check_model(invoice("0" * 24, line(gst_rate="7"), due_date=date(2099, 3, 1)))
    assert bad.valid is False
    assert {tuple(d.path) for d in bad.details} == {
        ("customer_id",),
        ("due_date",),
        ("line_items", 0, "gst_rate"),
    }
    gstin = await books.validate.check_model(
        CustomerCreate(
            type=CustomerType.B2B,
            name="Acme",
            gstin="22AAAAA0000A1Z5",
            billing_address=Address(line1="1 Main Road", city="Raipur", state_code="22", pincode="492001"),
        )
    )
    assert (gstin.valid, [tuple(d.path) for d in gstin.details]) == (False, [("gstin",)])
    assert sandbox.store.documents("invoices", sandbox.org_id) == []
    assert (await books.customers.list()).pagination.total == 5  # the seeded ones only
    created = await books.invoices.create(invoice(seed.customer_b2b_intra, invoice_number="CHK-1"))
    assert created.invoice_number == "CHK-1"  # the number was not taken by the check

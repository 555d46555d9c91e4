"""Invoices: GST arithmetic, status machine, bulk create and actions, payments, stock, lists, PDF, send."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from books_async.sandbox import Sandbox
from tests.factories import invoice_dict, line_dict

from .conftest import Api


def _seed(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    seed = sandbox.seed
    assert seed is not None
    return seed


async def test_intra_state_invoice_splits_cgst_and_sgst(api: Api, sandbox: Sandbox) -> None:
    """A customer in the organisation's state pays CGST + SGST, each half the rate, rounded per line."""
    seed = _seed(sandbox)
    body = invoice_dict(
        seed.customer_b2b_intra,
        line_dict(quantity=3, rate=333.33, discount=0.99, gst_rate=18),
        line_dict(quantity=1.5, rate=99.99, gst_rate=5),
    )
    reply = await api.post("/books/invoices", body)
    assert reply.status == 201
    inv = reply.json
    assert inv["supply_type"] == "intra_state"
    assert inv["place_of_supply"] == "27"
    first, second = inv["line_items"]  # type: ignore[misc]
    assert first["amount"] == Decimal("999.99")
    assert first["taxable_value"] == Decimal("999.00")
    assert first["cgst_amount"] == first["sgst_amount"] == Decimal("89.91")
    assert first["igst_amount"] == Decimal("0.00")
    assert second["amount"] == Decimal("149.99")  # 1.5 x 99.99 = 149.985, half-up
    assert second["cgst_amount"] == Decimal("3.75")  # 149.99 x 2.5 % = 3.74975
    assert inv["taxable_total"] == Decimal("1148.99")
    assert inv["tax_total"] == Decimal("187.32")
    assert inv["total"] == Decimal("1336.00")
    assert inv["round_off"] == Decimal("-0.31")
    assert inv["balance_due"] == inv["total"]
    assert inv["amount_paid"] == Decimal("0.00")
    assert inv["status"] == "draft"
    assert inv["invoice_number"] == "INV-0001"
    assert b'"rate":333.33' in reply.raw  # money is a JSON number with its exact digits


async def test_inter_state_invoice_charges_igst(api: Api, sandbox: Sandbox) -> None:
    """A customer in another state pays one IGST at the full rate."""
    seed = _seed(sandbox)
    reply = await api.post(
        "/books/invoices", invoice_dict(seed.customer_b2b_inter, line_dict(rate=1000, quantity=2))
    )
    inv = reply.json
    assert inv["supply_type"] == "inter_state"
    assert inv["place_of_supply"] == "29"
    assert inv["customer_gstin"] == "29AAACT1234K1ZC"
    assert inv["igst_total"] == Decimal("360.00")
    assert inv["cgst_total"] == inv["sgst_total"] == Decimal("0.00")
    assert inv["total"] == Decimal("2360.00")


async def test_b2c_place_of_supply_is_the_billing_state(api: Api, sandbox: Sandbox) -> None:
    """A B2C customer in Tamil Nadu makes the supply inter-state; an explicit place of supply wins."""
    seed = _seed(sandbox)
    derived = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c_no_email))).json
    assert (derived["place_of_supply"], derived["supply_type"]) == ("33", "inter_state")
    explicit = (
        await api.post("/books/invoices", invoice_dict(seed.customer_b2c_no_email, place_of_supply="27"))
    ).json
    assert (explicit["place_of_supply"], explicit["supply_type"]) == ("27", "intra_state")


async def test_status_machine_allows_only_the_documented_changes(api: Api, sandbox: Sandbox) -> None:
    """draft → sent → void is allowed; void → sent, draft → paid and a PATCH to overdue are 409."""
    seed = _seed(sandbox)
    inv_id = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c))).json["_id"]
    path = f"/books/invoices/{inv_id}"
    paid = await api.patch(path, {"status": "paid"})
    assert paid.status == 409
    assert "draft" in str(paid.json["message"])
    sent = await api.patch(path, {"status": "sent", "notes": "thanks"})
    assert (sent.status, sent.json["status"], sent.json["notes"]) == (200, "sent", "thanks")
    assert "sent_at" in sent.json
    assert (await api.patch(path, {"status": "sent"})).status == 200  # same status: a retried PATCH is fine
    assert (await api.patch(path, {"status": "void"})).json["status"] == "void"
    assert (await api.patch(path, {"status": "sent"})).status == 409
    assert (await api.patch(path, {"status": "draft"})).status == 409


async def test_bulk_create_is_atomic(api: Api, sandbox: Sandbox) -> None:
    """One bad item fails the whole array (paths start at its index); a good array is created in order."""
    seed = _seed(sandbox)
    bad = await api.post(
        "/books/invoices",
        [invoice_dict(seed.customer_b2c), invoice_dict(seed.customer_b2c, line_dict(gst_rate=7))],
    )
    assert bad.status == 400
    assert bad.paths() == [[1, "line_items", 0, "gst_rate"]]
    assert sandbox.store.documents("invoices", sandbox.org_id) == []
    duplicate = await api.post(
        "/books/invoices",
        [
            invoice_dict(seed.customer_b2c, invoice_number="X-1"),
            invoice_dict(seed.customer_b2c, invoice_number="X-1"),
        ],
    )
    assert duplicate.status == 409
    assert sandbox.store.documents("invoices", sandbox.org_id) == []
    good = await api.post(
        "/books/invoices", [invoice_dict(seed.customer_b2c), invoice_dict(seed.customer_b2b_inter)]
    )
    assert good.status == 201
    assert isinstance(good.body, list)
    assert [i["invoice_number"] for i in good.body] == ["INV-0001", "INV-0002"]
    assert [i["customer_id"] for i in good.body] == [seed.customer_b2c, seed.customer_b2b_inter]


async def test_bulk_action_reports_each_id(api: Api, sandbox: Sandbox) -> None:
    """update_status and delete report per-id outcomes: unknown ids and forbidden changes fail alone."""
    seed = _seed(sandbox)
    made = (await api.post("/books/invoices", [invoice_dict(seed.customer_b2c)] * 3)).body
    assert isinstance(made, list)
    a, b, c = (i["_id"] for i in made)
    await api.patch(f"/books/invoices/{b}", {"status": "void"})
    missing = "e" * 24
    reply = await api.post(
        "/books/invoices/bulk-action", {"action": "update_status", "status": "sent", "ids": [a, b, missing]}
    )
    assert reply.status == 200
    results = reply.json["results"]
    assert [(r["id"], r["ok"], r.get("error")) for r in results] == [  # type: ignore[union-attr]
        (a, True, None),
        (b, False, "conflict"),
        (missing, False, "not_found"),
    ]
    assert (reply.json["succeeded"], reply.json["failed"]) == (1, 2)
    deleted = await api.post("/books/invoices/bulk-action", {"action": "delete", "ids": [c, missing]})
    assert [r["ok"] for r in deleted.json["results"]] == [True, False]  # type: ignore[union-attr]
    assert (await api.get(f"/books/invoices/{c}")).status == 404
    no_status = await api.post("/books/invoices/bulk-action", {"action": "update_status", "ids": [a]})
    assert no_status.status == 400


async def test_payments_move_balance_and_status(api: Api, sandbox: Sandbox) -> None:
    """A part payment makes it partially_paid, the rest makes it paid; overpaying and paying drafts fail."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c))).json
    path = f"/books/invoices/{inv['_id']}"
    draft = await api.post(f"{path}/payments", {"amount": 1, "payment_method": "cash"})
    assert draft.status == 409
    await api.patch(path, {"status": "sent"})
    too_much = await api.post(f"{path}/payments", {"amount": 99999, "payment_method": "cash"})
    assert (too_much.status, too_much.paths()) == (400, [["amount"]])
    three_places = await api.post(f"{path}/payments", {"amount": 1.005, "payment_method": "cash"})
    assert three_places.status == 400
    part = await api.post(
        f"{path}/payments", {"amount": 1000.5, "payment_method": "upi", "reference": "UTR1"}
    )
    assert part.status == 201
    assert part.json["payment"]["amount"] == Decimal("1000.50")  # type: ignore[index]
    after = part.json["invoice"]
    assert after["status"] == "partially_paid"  # type: ignore[index]
    assert after["amount_paid"] == Decimal("1000.50")  # type: ignore[index]
    assert after["balance_due"] == Decimal("1359.50")  # type: ignore[index]
    rest = await api.post(
        f"{path}/payments",
        {
            "amount": 1359.5,
            "payment_method": "bank_transfer",
            "payment_date": "2025-04-05",
            "notes": "Q1 Settlement",
        },
    )
    final = rest.json["invoice"]
    assert (final["status"], final["balance_due"], len(final["payments"])) == ("paid", Decimal("0.00"), 2)  # type: ignore[index]
    assert (await api.delete(path)).status == 409  # paid invoices cannot be deleted


async def test_invoicing_a_tracked_product_lowers_its_stock(api: Api, sandbox: Sandbox) -> None:
    """A tracked product's stock falls by the quantity invoiced; an untracked one is untouched."""
    seed = _seed(sandbox)
    body = invoice_dict(
        seed.customer_b2c,
        line_dict(
            item_type="product", product_id=seed.product_tracked, description="Bolts", quantity=40, rate=12.5
        ),
        line_dict(
            item_type="product", product_id=seed.product_untracked, description="Paper", quantity=2, rate=245
        ),
    )
    reply = await api.post("/books/invoices", body)
    assert reply.status == 201
    assert reply.json["line_items"][0]["hsn_sac"] == "7318"  # type: ignore[index]
    tracked = (await api.get(f"/books/products/{seed.product_tracked}")).json
    untracked = (await api.get(f"/books/products/{seed.product_untracked}")).json
    assert tracked["stock_quantity"] == 960
    assert untracked["stock_quantity"] == 0


async def test_list_paginates_filters_and_searches(api: Api, sandbox: Sandbox) -> None:
    """Newest first, pagination metadata, status (with derived overdue) and search on number and name."""
    seed = _seed(sandbox)
    made = (
        await api.post(
            "/books/invoices",
            [invoice_dict(seed.customer_b2c)] * 5
            + [invoice_dict(seed.customer_b2b_inter, invoice_date="2025-04-01", due_date="2025-04-02")],
        )
    ).body
    assert isinstance(made, list)
    first_page = await api.get("/books/invoices", params={"limit": "4"})
    assert first_page.json["pagination"] == {"page": 1, "limit": 4, "total": 6, "pages": 2}
    assert [i["invoice_number"] for i in first_page.items] == ["INV-0006", "INV-0005", "INV-0004", "INV-0003"]
    second = await api.get("/books/invoices", params={"limit": "4", "page": "2"})
    assert [i["invoice_number"] for i in second.items] == ["INV-0002", "INV-0001"]
    beyond = await api.get("/books/invoices", params={"page": "9"})
    assert (beyond.items, beyond.json["pagination"]["total"]) == ([], 6)  # type: ignore[index]

    await api.patch(f"/books/invoices/{made[5]['_id']}", {"status": "sent"})  # due 2025-04-02: overdue now
    await api.patch(f"/books/invoices/{made[0]['_id']}", {"status": "void"})
    overdue = await api.get("/books/invoices", params={"status": "overdue"})
    assert [i["_id"] for i in overdue.items] == [made[5]["_id"]]
    assert overdue.items[0]["status"] == "overdue"
    assert (await api.get("/books/invoices", params={"status": "sent"})).items == []
    assert len((await api.get("/books/invoices", params={"status": "draft"})).items) == 4
    by_name = await api.get("/books/invoices", params={"search": "bangalore"})
    assert [i["_id"] for i in by_name.items] == [made[5]["_id"]]
    by_number = await api.get("/books/invoices", params={"search": "inv-0003"})
    assert [i["invoice_number"] for i in by_number.items] == ["INV-0003"]


async def test_pdf_is_a_real_pdf_with_the_number(api: Api, sandbox: Sandbox) -> None:
    """GET …/pdf answers application/pdf with a file name; pypdf finds the number and GSTIN in its text."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2b_inter))).json
    reply = await api.get(f"/books/invoices/{inv['_id']}/pdf")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="invoice-INV-0001.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(reply.raw)).pages)
    assert "INV-0001" in text
    assert "29AAACT1234K1ZC" in text


async def test_pdf_of_an_unchanged_document_is_rendered_once(api: Api, sandbox: Sandbox) -> None:
    """Fetching the PDF twice renders once; a change renders again."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c))).json
    path = f"/books/invoices/{inv['_id']}"
    first = await api.get(f"{path}/pdf")
    second = await api.get(f"{path}/pdf")
    assert first.raw == second.raw
    assert sandbox.state.pdf_renders == 1
    await api.patch(path, {"notes": "changed"})
    await api.get(f"{path}/pdf")
    assert sandbox.state.pdf_renders == 2


async def test_send_records_the_email_and_marks_sent(api: Api, sandbox: Sandbox) -> None:
    """Send puts the e-mail in the outbox (to, subject, attachment) and a draft becomes sent."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c))).json
    reply = await api.post(f"/books/invoices/{inv['_id']}/send", {"cc": ["boss@example.com"]})
    assert reply.status == 200
    assert reply.json["to"] == ["priya@example.com"]
    assert reply.json["document_status"] == "sent"
    outbox = await api.get("/__sandbox__/outbox")
    (mail,) = outbox.items
    assert mail["to"] == ["priya@example.com"]
    assert mail["cc"] == ["boss@example.com"]
    assert mail["subject"] == "Invoice INV-0001 from Sandbox Traders Pvt Ltd"
    assert mail["attachment_name"] == "invoice-INV-0001.pdf"
    assert isinstance(mail["attachment_size"], int)
    assert mail["attachment_size"] > 1000
    assert (mail["document_id"], mail["kind"]) == (inv["_id"], "invoice")
    assert (await api.get(f"/books/invoices/{inv['_id']}")).json["status"] == "sent"
    assert (await api.get("/__sandbox__/outbox", key=sandbox.other_org_key)).items == []


async def test_send_without_an_email_needs_to(api: Api, sandbox: Sandbox) -> None:
    """A customer without e-mail and no `to` is a 400 at ["to"]; with `to` it goes out."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c_no_email))).json
    refused = await api.post(f"/books/invoices/{inv['_id']}/send")
    assert (refused.status, refused.paths()) == (400, [["to"]])
    assert (await api.get(f"/books/invoices/{inv['_id']}")).json["status"] == "draft"
    sent = await api.post(f"/books/invoices/{inv['_id']}/send", {"to": ["ravi@example.com"]})
    assert sent.status == 200


async def test_sending_a_void_invoice_is_409(api: Api, sandbox: Sandbox) -> None:
    """A void invoice is not sent."""
    seed = _seed(sandbox)
    inv = (await api.post("/books/invoices", invoice_dict(seed.customer_b2c))).json
    await api.patch(f"/books/invoices/{inv['_id']}", {"status": "void"})
    assert (await api.post(f"/books/invoices/{inv['_id']}/send")).status == 409


@pytest.mark.sandbox(empty=True)
async def test_empty_sandbox_has_org_and_keys_only(api: Api, sandbox: Sandbox) -> None:
    """--empty: the organisation and keys exist, no customers, products or services."""
    assert sandbox.seed is None
    assert (await api.get("/books/customers")).json["pagination"]["total"] == 0  # type: ignore[index]
    assert (await api.get("/books/products")).items == []
    assert (await api.get(f"/orgs/{sandbox.org_id}")).status == 200

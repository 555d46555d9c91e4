"""Dashboard consistency, catalogue endpoints, customers' summary, routing errors and the body limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp

from books_async.sandbox import Sandbox
from tests.factories import invoice_dict, line_dict

from .conftest import Api


async def test_dashboard_matches_the_store(api: Api, sandbox: Sandbox) -> None:
    """Revenue is the payments, receivables the open balances, overdue the past-due part; counts by status."""
    seed = sandbox.seed
    assert seed is not None
    made = (
        await api.post(
            "/books/invoices",
            [
                invoice_dict(seed.customer_b2c),  # stays draft
                invoice_dict(
                    seed.customer_b2c, invoice_date="2025-04-01", due_date="2025-04-02"
                ),  # sent, overdue
                invoice_dict(seed.customer_b2c, invoice_date="2099-01-01"),  # sent, part paid, not due
                invoice_dict(seed.customer_b2c, invoice_date="2099-01-01"),  # void
            ],
        )
    ).body
    assert isinstance(made, list)
    ids = [m["_id"] for m in made]
    for i in (1, 2):
        await api.patch(f"/books/invoices/{ids[i]}", {"status": "sent"})
    await api.post(f"/books/invoices/{ids[2]}/payments", {"amount": 360, "payment_method": "upi"})
    await api.patch(f"/books/invoices/{ids[3]}", {"status": "void"})
    await api.post(
        "/books/quotes",
        {"customer_id": seed.customer_b2c, "quote_date": "2099-01-01", "line_items": [line_dict()]},
    )

    dash = (await api.get("/books/mobile/dashboard")).json
    assert dash["total_revenue"] == Decimal("360.00")
    assert dash["total_receivables"] == Decimal("2360.00") + Decimal("2000.00")
    assert dash["overdue_amount"] == Decimal("2360.00")
    assert dash["invoice_counts"] == {
        "draft": 1,
        "sent": 0,
        "partially_paid": 1,
        "paid": 0,
        "overdue": 1,
        "void": 1,
    }
    assert dash["currency"] == "INR"
    kinds = [a["kind"] for a in dash["recent_activity"]]  # type: ignore[union-attr]
    assert kinds[0] == "quote_created"
    assert {"invoice_created", "invoice_sent", "payment_received", "invoice_voided"} <= set(kinds)
    listed = {i["_id"]: i["status"] for i in (await api.get("/books/invoices")).items}
    assert sorted(listed.values()) == ["draft", "overdue", "partially_paid", "void"]


async def test_customer_summary(api: Api, sandbox: Sandbox) -> None:
    """GET /customers/{id} carries invoiced, paid, outstanding and count (drafts and voids left out)."""
    seed = sandbox.seed
    assert seed is not None
    made = (await api.post("/books/invoices", [invoice_dict(seed.customer_b2c)] * 2)).body
    assert isinstance(made, list)
    await api.patch(f"/books/invoices/{made[0]['_id']}", {"status": "sent"})
    await api.post(f"/books/invoices/{made[0]['_id']}/payments", {"amount": 60, "payment_method": "cash"})
    summary = (await api.get(f"/books/customers/{seed.customer_b2c}")).json["summary"]
    assert summary == {
        "invoiced": Decimal("2360.00"),
        "paid": Decimal("60.00"),
        "outstanding": Decimal("2300.00"),
        "invoice_count": 1,
    }
    listed = (await api.get("/books/customers", params={"type": "B2C"})).items
    assert [c["name"] for c in listed] == ["Priya Sharma", "Ravi Kumar"]
    assert all("summary" not in c for c in listed)


async def test_products_and_services_crud(api: Api) -> None:
    """Create, patch, search and delete products and services; a duplicate SKU is 409."""
    made = await api.post(
        "/books/products",
        {
            "name": "Cable",
            "sku": "CBL-1",
            "hsn_code": "8544",
            "unit": "PCS",
            "sale_price": 99.9,
            "gst_rate": 18,
            "track_inventory": True,
            "stock_quantity": 5,
        },
    )
    assert made.status == 201
    assert b'"sale_price":99.90' in made.raw
    assert (
        await api.post(
            "/books/products",
            {
                "name": "Other",
                "sku": "CBL-1",
                "hsn_code": "8544",
                "unit": "PCS",
                "sale_price": 1,
                "gst_rate": 18,
            },
        )
    ).status == 409
    patched = await api.patch(f"/books/products/{made.json['_id']}", {"sale_price": 120})
    assert patched.json["sale_price"] == Decimal("120.00")
    assert [p["name"] for p in (await api.get("/books/products", params={"search": "cbl"})).items] == [
        "Cable"
    ]
    assert (await api.delete(f"/books/products/{made.json['_id']}")).status == 204
    assert (await api.get(f"/books/products/{made.json['_id']}")).status == 404
    bad_rate = await api.post(
        "/books/services", {"name": "Audit", "sac_code": "998221", "rate": 10, "gst_rate": 13}
    )
    assert (bad_rate.status, bad_rate.paths()) == (400, [["gst_rate"]])
    svc = await api.post(
        "/books/services", {"name": "Audit", "sac_code": "998221", "rate": 10, "gst_rate": 18}
    )
    assert (await api.patch(f"/books/services/{svc.json['_id']}", {"rate": 12.5})).json["rate"] == Decimal(
        "12.50"
    )


async def test_unknown_route_and_method_are_json_errors(api: Api) -> None:
    """Unknown paths are 404 and wrong methods 405, both with the error body."""
    missing = await api.get("/books/nothing-here")
    assert (missing.status, missing.json["error"]) == (404, "not_found")
    wrong = await api.call("PUT", "/books/invoices")
    assert (wrong.status, wrong.json["error"]) == (405, "method_not_allowed")


async def test_body_over_5_mb_is_413_before_it_is_read(api: Api, sandbox: Sandbox) -> None:
    """A 6 MB upload is refused while most of it is still unsent: the server answers without reading it."""
    size = 6 * 1024 * 1024
    sent = 0
    release = asyncio.Event()

    async def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        chunk = b" " * 65536
        sent += len(chunk)
        yield chunk
        await release.wait()  # the rest is only offered once the answer has arrived
        while sent < size:
            sent += len(chunk)
            yield chunk

    headers = {"x-api-key": sandbox.api_key, "Content-Type": "application/json", "Content-Length": str(size)}
    async with asyncio.timeout(10):
        async with (
            aiohttp.ClientSession() as session,
            session.post(sandbox.base_url + "/books/customers", data=body(), headers=headers) as resp,
        ):
            assert resp.status == 413
            assert sent < size
            payload = await resp.json()
            release.set()
    assert payload["error"] == "payload_too_large"


async def test_chunked_body_over_5_mb_is_413(api: Api, sandbox: Sandbox) -> None:
    """A chunked upload (no Content-Length) is cut off at the limit with 413."""

    async def body():  # type: ignore[no-untyped-def]
        chunk = b" " * 262144
        for _ in range(24):  # 6 MB
            yield chunk

    headers = {"x-api-key": sandbox.api_key, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(sandbox.base_url + "/books/customers", data=body(), headers=headers) as resp,
    ):
        assert resp.status == 413


async def test_undeclared_method_on_a_literal_path_is_405(api: Api) -> None:
    """PATCH /books/invoices/bulk-action is not an invoice id: 405 with Allow: POST."""
    reply = await api.patch("/books/invoices/bulk-action", {"action": "delete", "ids": ["0" * 24]})
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"


async def test_page_beyond_64_bits_is_an_empty_page(api: Api) -> None:
    """A page number orjson could not write still answers (found by schemathesis)."""
    reply = await api.get("/books/customers", params={"page": str(2**70)})
    assert reply.status == 200
    assert reply.items == []
    assert reply.json["pagination"]["page"] == 2**70  # type: ignore[index]

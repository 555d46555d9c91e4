"""Every answer of a typical session matches the spec: a declared status, and a body valid for its schema."""

from __future__ import annotations

from typing import cast

from jsonschema import Draft202012Validator

from books_async.sandbox import Sandbox
from tests.factories import invoice_dict, line_dict

from .conftest import Api, Reply

_CHECKER = Draft202012Validator.FORMAT_CHECKER


def _conforms(sandbox: Sandbox, operation_id: str, reply: Reply) -> None:
    document = sandbox.state.spec.document
    for item in cast("dict[str, dict[str, object]]", document["paths"]).values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                responses = cast("dict[str, dict[str, object]]", op["responses"])
                assert str(reply.status) in responses, f"{operation_id}: undeclared status {reply.status}"
                content = cast(
                    "dict[str, dict[str, object]]", responses[str(reply.status)].get("content", {})
                )
                if "application/json" in content:
                    schema = content["application/json"]["schema"]
                    errors = list(
                        Draft202012Validator(schema, format_checker=_CHECKER).iter_errors(reply.body)
                    )
                    assert not errors, (
                        f"{operation_id} {reply.status}: {errors[0].message} at {list(errors[0].path)}"
                    )
                return
    raise AssertionError(f"no operation {operation_id}")


async def test_a_session_conforms_to_the_spec(api: Api, sandbox: Sandbox) -> None:
    """Lists, creates, gets, payments, sends, converts and errors all answer as the spec says."""
    seed = sandbox.seed
    assert seed is not None
    c = _conforms
    inv = await api.post(
        "/books/invoices",
        invoice_dict(
            seed.customer_b2b_inter,
            line_dict(item_type="product", product_id=seed.product_tracked, quantity=2.5, rate=12.5),
        ),
    )
    c(sandbox, "invoices.create", inv)
    inv_id = inv.json["_id"]
    c(sandbox, "invoices.create", await api.post("/books/invoices", [invoice_dict(seed.customer_b2c)]))
    c(sandbox, "invoices.create", await api.post("/books/invoices", {"customer_id": "x"}))
    c(sandbox, "invoices.list", await api.get("/books/invoices", params={"status": "draft", "search": "INV"}))
    c(sandbox, "invoices.list", await api.get("/books/invoices", params={"limit": "0"}))
    c(sandbox, "invoices.get", await api.get(f"/books/invoices/{inv_id}"))
    c(sandbox, "invoices.get", await api.get("/books/invoices/" + "0" * 24))
    c(sandbox, "invoices.update", await api.patch(f"/books/invoices/{inv_id}", {"status": "paid"}))
    c(sandbox, "invoices.send", await api.post(f"/books/invoices/{inv_id}/send"))
    c(
        sandbox,
        "invoices.record_payment",
        await api.post(f"/books/invoices/{inv_id}/payments", {"amount": 5, "payment_method": "card"}),
    )
    c(
        sandbox,
        "invoices.bulk_action",
        await api.post("/books/invoices/bulk-action", {"action": "delete", "ids": [inv_id, "1" * 24]}),
    )
    quote = await api.post(
        "/books/quotes",
        {"customer_id": seed.customer_b2c, "quote_date": "2099-01-01", "line_items": [line_dict()]},
    )
    c(sandbox, "quotes.create", quote)
    c(sandbox, "quotes.list", await api.get("/books/quotes"))
    c(sandbox, "quotes.convert", await api.post(f"/books/quotes/{quote.json['_id']}/convert"))
    c(sandbox, "quotes.convert", await api.post(f"/books/quotes/{quote.json['_id']}/convert"))
    c(sandbox, "customers.list", await api.get("/books/customers"))
    c(sandbox, "customers.get", await api.get(f"/books/customers/{seed.customer_b2c}"))
    c(sandbox, "products.list", await api.get("/books/products"))
    c(sandbox, "products.get", await api.get(f"/books/products/{seed.product_tracked}"))
    c(sandbox, "services.list", await api.get("/books/services"))
    c(sandbox, "orgs.list", await api.get("/orgs"))
    c(sandbox, "orgs.get", await api.get(f"/orgs/{sandbox.org_id}"))
    c(
        sandbox,
        "orgs.update",
        await api.patch(f"/orgs/{sandbox.org_id}", {"name": "x"}, key=sandbox.member_key),
    )
    c(sandbox, "validate.context", await api.get("/books/validate"))
    c(sandbox, "validate.check", await api.post("/books/validate", {"kind": "product", "payload": {}}))
    c(sandbox, "mobile.dashboard", await api.get("/books/mobile/dashboard"))
    c(sandbox, "invoices.list", await api.get("/books/invoices", key="nope"))

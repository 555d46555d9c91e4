"""Allow headers that list only a route's own methods, and rules the schema now states, over raw HTTP."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from tests.factories import invoice_dict, line_dict

from .conftest import Api


@pytest.mark.parametrize("method", ["OPTIONS", "GET", "PUT", "PATCH", "DELETE"])
async def test_bulk_action_allow_lists_only_post(api: Api, method: str) -> None:
    """bulk-action has POST only, though it looks like /books/invoices/{id}: 405 with Allow POST."""
    reply = await api.call(method, "/books/invoices/bulk-action")
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"


async def test_an_id_route_allows_its_own_methods(api: Api) -> None:
    """An invoice id route still lists GET, PATCH and DELETE."""
    reply = await api.call("PUT", f"/books/invoices/{'a' * 24}")
    assert reply.status == 405
    assert set(reply.headers["Allow"].split(",")) == {"DELETE", "GET", "PATCH"}


async def test_update_status_without_status_is_a_400_on_status(api: Api) -> None:
    """The schema's if/then: update_status requires status."""
    reply = await api.post("/books/invoices/bulk-action", {"action": "update_status", "ids": ["a" * 24]})
    assert reply.status == 400
    assert ["status"] in reply.paths()


async def test_delete_with_a_status_is_a_400_on_status(api: Api) -> None:
    """The schema's else: delete refuses status."""
    body = {"action": "delete", "ids": ["a" * 24], "status": "void"}
    reply = await api.post("/books/invoices/bulk-action", body)
    assert reply.status == 400
    assert ["status"] in reply.paths()


async def test_delete_without_status_and_update_with_it_are_accepted(api: Api) -> None:
    """Both sides of the rule: per-id outcomes (not found), status 200."""
    for body in (
        {"action": "delete", "ids": ["a" * 24]},
        {"action": "update_status", "ids": ["a" * 24], "status": "void"},
    ):
        reply = await api.post("/books/invoices/bulk-action", body)
        assert reply.status == 200, reply.body
        assert reply.json["failed"] == 1


@pytest.mark.parametrize(("amount", "status"), [(10**15, 400), (100, 201)])
async def test_payment_amount_has_a_schema_maximum(api: Api, amount: int, status: int) -> None:
    """10^15 is over the schema's bound (a 400 before the balance is looked at); 100 is recorded."""
    doc = (await api.post("/books/invoices", invoice_dict(api.sb.seed.customer_b2b_intra))).json
    await api.post(f"/books/invoices/{doc['_id']}/send", {"to": ["a@example.com"]})
    reply = await api.post(
        f"/books/invoices/{doc['_id']}/payments", {"amount": amount, "payment_method": "upi"}
    )
    assert reply.status == status
    if status == 400:
        assert reply.json["details"][0]["code"] == "too_big"  # type: ignore[index]


async def test_invoices_with_cess_reverse_charge_and_export_match_the_invoice_schema(api: Api) -> None:
    """The new optional fields come back in the shapes the spec's Invoice schema declares."""
    document = api.sb.state.spec.document
    schema = {**document["components"]["schemas"]["Invoice"], "components": document["components"]}  # type: ignore[index]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    body = invoice_dict(
        api.sb.seed.customer_b2b_intra,
        line_dict(gst_rate=28, cess_rate=12),
        reverse_charge=True,
        place_of_supply="96",
        export_type="lut",
    )
    reply = await api.post("/books/invoices", body)
    assert reply.status == 201, reply.body
    errors = [f"{e.message} at {list(e.path)}" for e in validator.iter_errors(reply.json)]
    assert errors == []
    assert {"reverse_charge", "export_type", "cess_total"} <= set(reply.json)

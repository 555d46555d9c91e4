"""Validation: every failing field with its path and Zod code; unknown keys; domain rules; query params."""

from __future__ import annotations

from books_async.sandbox import Sandbox
from tests.factories import invoice_dict, line_dict

from .conftest import Api


def _by_path(reply_details: object) -> dict[tuple[object, ...], str]:
    assert isinstance(reply_details, list)
    return {tuple(d["path"]): d["code"] for d in reply_details}


async def test_every_failing_field_is_listed_with_its_path(api: Api) -> None:
    """A body with many mistakes gets one 400 naming each, with Zod codes."""
    body = {
        "customer_id": "nope",
        "invoice_date": "2025-13-45",
        "line_items": [
            {"item_type": "gadget", "description": "", "quantity": 0, "rate": "12", "gst_rate": 50},
            {
                "item_type": "service",
                "description": "ok",
                "quantity": 1,
                "rate": 1,
                "gst_rate": 18,
                "colour": "red",
            },
        ],
        "surprise": True,
    }
    reply = await api.post("/books/invoices", body)
    assert reply.status == 400
    assert reply.json["error"] == "validation_error"
    codes = _by_path(reply.json["details"])
    assert codes == {
        (): "unrecognized_keys",
        ("customer_id",): "invalid_string",
        ("invoice_date",): "invalid_string",
        ("line_items", 0, "item_type"): "invalid_enum_value",
        ("line_items", 0, "description"): "too_small",
        ("line_items", 0, "quantity"): "too_small",
        ("line_items", 0, "rate"): "invalid_type",
        ("line_items", 0, "gst_rate"): "too_big",
        ("line_items", 1): "unrecognized_keys",
    }
    assert reply.json["message"] == f"{len(codes)} problems with the request"
    unknown = next(d for d in reply.json["details"] if d["path"] == [])  # type: ignore[union-attr]
    assert unknown["keys"] == ["surprise"]


async def test_missing_required_fields_are_zod_required_issues(api: Api) -> None:
    """Each missing key is an invalid_type "Required" issue at the key's own path."""
    reply = await api.post("/books/customers", {"type": "B2C"})
    assert reply.status == 400
    required = [d for d in reply.json["details"] if d["message"] == "Required"]  # type: ignore[union-attr]
    assert sorted(tuple(d["path"]) for d in required) == [("billing_address",), ("name",)]
    assert {d["code"] for d in required} == {"invalid_type"}


async def test_b2b_customer_needs_a_valid_gstin(api: Api) -> None:
    """B2B without GSTIN, or with a wrong check character, is a custom issue at ["gstin"]."""
    address = {"line1": "1 Road", "city": "Pune", "state_code": "27", "pincode": "411001"}
    missing = await api.post("/books/customers", {"type": "B2B", "name": "A", "billing_address": address})
    assert missing.status == 400
    assert missing.paths() == [["gstin"]]
    bad = await api.post(
        "/books/customers",
        {"type": "B2B", "name": "A", "gstin": "22AAAAA0000A1Z5", "billing_address": address},
    )
    assert bad.status == 400
    assert bad.paths() == [["gstin"]]
    assert "check character" in bad.json["details"][0]["message"]  # type: ignore[index]
    good = await api.post(
        "/books/customers",
        {"type": "B2B", "name": "A", "gstin": "27AAPFU0939F1ZV", "billing_address": address},
    )
    assert good.status == 201
    assert good.json["place_of_supply"] == "27"


async def test_b2c_customer_refuses_a_gstin(api: Api) -> None:
    """A B2C customer with a GSTIN is refused."""
    address = {"line1": "1 Road", "city": "Pune", "state_code": "27", "pincode": "411001"}
    reply = await api.post(
        "/books/customers",
        {"type": "B2C", "name": "A", "gstin": "27AAPFU0939F1ZV", "billing_address": address},
    )
    assert reply.status == 400
    assert reply.paths() == [["gstin"]]


async def test_domain_rules_on_invoices_list_every_problem(api: Api, sandbox: Sandbox) -> None:
    """Dates out of order, a GST rate off the slabs, a discount above the amount, 3-decimal money and
    unknown catalogue ids are all reported together."""
    seed = sandbox.seed
    assert seed is not None
    body = invoice_dict(
        seed.customer_b2c,
        line_dict(gst_rate=7),
        line_dict(discount=5000),
        line_dict(rate=10.005),
        line_dict(item_type="product", product_id="0" * 24),
        due_date="2025-03-01",
    )
    reply = await api.post("/books/invoices", body)
    assert reply.status == 400
    assert sorted(map(tuple, reply.paths())) == sorted(
        [
            ("due_date",),
            ("line_items", 0, "gst_rate"),
            ("line_items", 1, "discount"),
            ("line_items", 2, "rate"),
            ("line_items", 3, "product_id"),
        ]
    )
    assert sandbox.store.documents("invoices", sandbox.org_id) == []


async def test_unknown_customer_is_a_400_at_customer_id(api: Api) -> None:
    """A customer id that is not in the organisation is a 400 detail at ["customer_id"] (not a 404)."""
    reply = await api.post("/books/invoices", invoice_dict("a" * 24))
    assert reply.status == 400
    assert reply.paths() == [["customer_id"]]


async def test_quote_expiry_before_date_is_refused(api: Api, sandbox: Sandbox) -> None:
    """A quote whose expiry_date is before its quote_date is a 400 at ["expiry_date"]."""
    seed = sandbox.seed
    assert seed is not None
    body = {
        "customer_id": seed.customer_b2c,
        "quote_date": "2025-04-10",
        "expiry_date": "2025-04-01",
        "line_items": [line_dict()],
    }
    reply = await api.post("/books/quotes", body)
    assert reply.status == 400
    assert reply.paths() == [["expiry_date"]]


async def test_patch_rejects_unknown_keys_and_empty_bodies(api: Api, sandbox: Sandbox) -> None:
    """PATCH bodies are strict too; an empty one is too_small."""
    seed = sandbox.seed
    assert seed is not None
    unknown = await api.patch(f"/books/products/{seed.product_tracked}", {"colour": "blue"})
    assert unknown.status == 400
    assert unknown.json["details"][0]["code"] == "unrecognized_keys"  # type: ignore[index]
    empty = await api.patch(f"/books/products/{seed.product_tracked}", {})
    assert empty.status == 400
    assert empty.json["details"][0]["code"] == "too_small"  # type: ignore[index]


async def test_query_parameters_are_validated(api: Api) -> None:
    """page < 1, limit > 100, a non-number and an unknown status are all 400 with the parameter's name."""
    reply = await api.get("/books/invoices", params={"page": "0", "limit": "101", "status": "lost"})
    assert reply.status == 400
    assert sorted(map(tuple, reply.paths())) == [("limit",), ("page",), ("status",)]
    assert (await api.get("/books/invoices", params={"limit": "ten"})).json["details"][0]["code"] == (  # type: ignore[index]
        "invalid_type"
    )


async def test_malformed_id_is_400_and_unknown_id_404(api: Api) -> None:
    """A path id that is not an ObjectId is a 400; a well-formed unknown one a 404."""
    assert (await api.get("/books/invoices/not-an-id")).status == 400
    missing = await api.get("/books/invoices/" + "f" * 24)
    assert missing.status == 404
    assert missing.json["error"] == "not_found"


async def test_malformed_json_is_400(api: Api) -> None:
    """A body that is not JSON is a 400 with the error body."""
    reply = await api.call(
        "POST", "/books/customers", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400
    assert reply.json["details"]


async def test_validate_post_reports_without_writing(api: Api, sandbox: Sandbox) -> None:
    """POST /books/validate answers 200 valid:false with the create endpoint's details, and writes nothing."""
    seed = sandbox.seed
    assert seed is not None
    before = len(sandbox.store.documents("invoices", sandbox.org_id))
    bad = await api.post(
        "/books/validate",
        {"kind": "invoice", "payload": invoice_dict(seed.customer_b2c, line_dict(gst_rate=7))},
    )
    assert bad.status == 200
    assert bad.json["valid"] is False
    assert bad.json["details"] == [
        {
            "path": ["line_items", 0, "gst_rate"],
            "message": bad.json["details"][0]["message"],  # type: ignore[index]
            "code": "invalid_value",
        }
    ]
    good = await api.post("/books/validate", {"kind": "invoice", "payload": invoice_dict(seed.customer_b2c)})
    assert good.json == {"valid": True, "kind": "invoice", "details": []}
    customer = await api.post(
        "/books/validate", {"kind": "customer", "payload": {"type": "B2B", "name": "x"}}
    )
    assert customer.json["valid"] is False
    assert len(sandbox.store.documents("invoices", sandbox.org_id)) == before


async def test_validate_post_with_a_bad_envelope_is_400(api: Api) -> None:
    """An unknown kind or a missing payload is a 400, not a valid:false answer."""
    assert (await api.post("/books/validate", {"kind": "spaceship", "payload": {}})).status == 400
    assert (await api.post("/books/validate", {"kind": "invoice"})).status == 400


async def test_duplicate_invoice_number_is_409(api: Api, sandbox: Sandbox) -> None:
    """Invoice numbers are unique per organisation; another organisation may reuse one."""
    seed = sandbox.seed
    assert seed is not None
    first = await api.post("/books/invoices", invoice_dict(seed.customer_b2c, invoice_number="A-1"))
    assert first.status == 201
    again = await api.post("/books/invoices", invoice_dict(seed.customer_b2c, invoice_number="A-1"))
    assert again.status == 409
    assert again.json["error"] == "conflict"

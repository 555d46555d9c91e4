"""Auth: keys by header or bearer, app scoping, owner-only routes, organisation visibility."""

from __future__ import annotations

from tests.factories import invoice_dict

from .conftest import Api


async def test_missing_key_is_401(api: Api) -> None:
    """No key at all gets 401 with the error body."""
    reply = await api.get("/books/invoices", key="")
    assert reply.status == 401
    assert reply.json["error"] == "unauthorized"
    assert isinstance(reply.json["message"], str)


async def test_unknown_key_is_401(api: Api) -> None:
    """A key the sandbox never issued gets 401."""
    reply = await api.get("/books/invoices", key="bsk_not_a_real_key")
    assert reply.status == 401


async def test_bearer_header_is_accepted(api: Api) -> None:
    """`Authorization: Bearer <key>` works like x-api-key."""
    reply = await api.get("/books/validate", key="", headers={"Authorization": f"Bearer {api.sb.api_key}"})
    assert reply.status == 200
    assert reply.json["org_id"] == api.sb.org_id


async def test_other_app_key_is_403_on_books_routes(api: Api) -> None:
    """A key scoped to the whatsapp application may not call books routes."""
    reply = await api.get("/books/invoices", key=api.sb.other_app_key)
    assert reply.status == 403
    assert reply.json["error"] == "forbidden"


async def test_books_key_is_403_on_another_module(api: Api) -> None:
    """A books key calling /api/v1/whatsapp/... gets 403."""
    reply = await api.get("/whatsapp/messages")
    assert reply.status == 403


async def test_member_may_not_patch_org(api: Api) -> None:
    """PATCH /orgs/{id} is for owners: a member key gets 403 and nothing changes."""
    reply = await api.patch(f"/orgs/{api.sb.org_id}", {"name": "Renamed"}, key=api.sb.member_key)
    assert reply.status == 403
    assert (await api.get(f"/orgs/{api.sb.org_id}")).json["name"] != "Renamed"


async def test_owner_may_patch_org(api: Api) -> None:
    """An owner key changes the organisation."""
    reply = await api.patch(f"/orgs/{api.sb.org_id}", {"name": "Renamed", "invoice_prefix": "B-"})
    assert reply.status == 200
    assert reply.json["name"] == "Renamed"
    assert reply.json["invoice_prefix"] == "B-"


async def test_member_may_read_and_write_books(api: Api) -> None:
    """A member key reads and creates books documents like an owner."""
    seed = api.sb.seed
    assert seed is not None
    reply = await api.post("/books/invoices", invoice_dict(seed.customer_b2c), key=api.sb.member_key)
    assert reply.status == 201


async def test_orgs_list_shows_only_the_accounts_orgs(api: Api) -> None:
    """GET /orgs lists the key's account's organisations, never another account's."""
    mine = {o["_id"] for o in (await api.get("/orgs")).items}
    theirs = {o["_id"] for o in (await api.get("/orgs", key=api.sb.other_org_key)).items}
    assert mine == {api.sb.org_id}
    assert theirs == {api.sb.other_org_id}


async def test_ids_of_another_org_are_404(api: Api) -> None:
    """An organisation, invoice or customer of another organisation is not found."""
    seed = api.sb.seed
    assert seed is not None
    created = await api.post("/books/invoices", invoice_dict(seed.customer_b2c))
    other = api.sb.other_org_key
    assert (await api.get(f"/orgs/{api.sb.org_id}", key=other)).status == 404
    assert (await api.get(f"/books/invoices/{created.json['_id']}", key=other)).status == 404
    assert (await api.get(f"/books/customers/{seed.customer_b2c}", key=other)).status == 404
    assert (await api.patch(f"/orgs/{api.sb.org_id}", {"name": "x"}, key=other)).status == 404


async def test_validate_context_names_org_and_role(api: Api) -> None:
    """GET /books/validate returns the key's organisation, name and role."""
    reply = await api.get("/books/validate", key=api.sb.member_key)
    assert reply.json["org_id"] == api.sb.org_id
    assert reply.json["org_name"] == "Sandbox Traders Pvt Ltd"
    assert reply.json["role"] == "member"


async def test_keys_are_not_in_reprs(api: Api) -> None:
    """No key appears in the repr of the sandbox or of a stored key."""
    text = repr(api.sb) + "".join(repr(k) for k in api.sb.store.keys.values())
    assert api.sb.api_key not in text
    assert api.sb.member_key not in text

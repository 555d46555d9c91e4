"""The sandbox's extra organisations (``organisations=N``): one owner key each, kept apart."""

from __future__ import annotations

import pytest

from books_async import BooksClient, NotFoundError
from books_async.sandbox import SandboxConfig, serve

ADDRESS = {"line1": "1 MG Road", "city": "Pune", "state_code": "27", "pincode": "411001", "country": "IN"}


async def test_each_extra_org_key_acts_as_its_own_org_when_seeded() -> None:
    """organisations=3 adds three organisations whose owner keys each see only their own organisation."""
    async with serve(organisations=3) as sb:
        orgs = sb.organisations
        assert len(orgs) == 3
        assert len(set(orgs.values())) == 3
        assert sb.org_id not in orgs
        assert sb.other_org_id not in orgs
        for org_id, key in orgs.items():
            async with BooksClient(key, base_url=sb.base_url) as books:
                context = await books.validate.context()
            assert context.org_id == org_id
            assert context.role == "owner"


async def test_extra_orgs_cannot_read_each_other_when_one_has_a_customer() -> None:
    """A customer made in one extra organisation is a 404 for another's key."""
    async with serve(organisations=2) as sb:
        key_a, key_b = sb.organisations.values()
        async with (
            BooksClient(key_a, base_url=sb.base_url) as a,
            BooksClient(key_b, base_url=sb.base_url) as b,
        ):
            made = await a.request(
                "POST", "/books/customers", json={"type": "B2C", "name": "Asha", "billing_address": ADDRESS}
            )
            assert isinstance(made, dict)
            with pytest.raises(NotFoundError):
                await b.request("GET", f"/books/customers/{made['_id']}")


async def test_no_extra_orgs_are_seeded_when_not_asked() -> None:
    """By default the sandbox has only its two organisations."""
    async with serve() as sb:
        assert sb.organisations == {}


def test_bad_organisation_count_is_refused_when_configured() -> None:
    """A negative or non-integer organisations= is a ValueError naming the field."""
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="organisations"):
            SandboxConfig(organisations=bad)  # type: ignore[arg-type]

"""books.orgs against the sandbox: a key sees only its own account's organisations; members only read."""

from __future__ import annotations

import pytest

from books_async import (
    BooksClient,
    NotFoundError,
    PermissionDeniedError,
)
from books_async.models import (
    OrganizationUpdate,
)
from books_async.sandbox import Sandbox
from tests.factories import client


async def test_auth_member_key_cannot_update_org(sandbox: Sandbox, books: BooksClient) -> None:
    """``orgs.update`` is for owners: a member gets PermissionDeniedError and nothing changes."""
    async with client(sandbox, sandbox.member_key) as member:
        with pytest.raises(PermissionDeniedError):
            await member.orgs.update(sandbox.org_id, OrganizationUpdate(name="Renamed by member"))
        # A member still reads the organisation.
        assert (await member.orgs.get(sandbox.org_id)).name == "Sandbox Traders Pvt Ltd"
    renamed = await books.orgs.update(sandbox.org_id, OrganizationUpdate(name="Renamed by owner"))
    assert renamed.name == "Renamed by owner"


async def test_auth_orgs_list_shows_only_the_keys_orgs(sandbox: Sandbox, books: BooksClient) -> None:
    """``orgs.list`` lists the key's account's organisations, never another account's."""
    mine = await books.orgs.list()
    assert [o.id for o in mine.data] == [sandbox.org_id]
    assert mine.pagination.total == 1
    async with client(sandbox, sandbox.other_org_key) as other:
        assert [o.id async for o in other.orgs.iter()] == [sandbox.other_org_id]
        with pytest.raises(NotFoundError):
            await other.orgs.get(sandbox.org_id)

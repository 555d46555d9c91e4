"""Authentication through the SDK against the sandbox: both auth schemes, and the typed errors for a key
the API does not know or that belongs to another application."""

from __future__ import annotations

import pytest

from books_async import (
    AuthenticationError,
    PermissionDeniedError,
)
from books_async.models import (
    KeyRole,
)
from books_async.sandbox import Sandbox
from tests.factories import client


async def test_auth_accepts_x_api_key_and_bearer(sandbox: Sandbox) -> None:
    """The same key works sent as ``x-api-key`` (default) and as ``Authorization: Bearer``."""
    for scheme in ("x-api-key", "bearer"):
        async with client(sandbox, sandbox.api_key, auth_scheme=scheme) as books:
            context = await books.validate.context()
            assert (context.org_id, context.role) == (sandbox.org_id, KeyRole.owner)
    assert [entry[4] for entry in sandbox.request_log] == [200, 200]


async def test_auth_unknown_key_raises_authentication_error(sandbox: Sandbox) -> None:
    """A key the sandbox never issued gets a 401, raised as AuthenticationError."""
    async with client(sandbox, "bsk_not_a_real_key") as books:
        with pytest.raises(AuthenticationError) as err:
            await books.invoices.list()
    assert err.value.status == 401
    assert "bsk_not_a_real_key" not in str(err.value)


async def test_auth_other_app_key_raises_permission_denied(sandbox: Sandbox) -> None:
    """A key scoped to the whatsapp application may not call books routes: 403 PermissionDeniedError."""
    async with client(sandbox, sandbox.other_app_key) as books:
        with pytest.raises(PermissionDeniedError) as err:
            await books.invoices.list()
    assert err.value.status == 403

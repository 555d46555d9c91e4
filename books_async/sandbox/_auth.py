"""API keys: who is calling, for which organisation, in which role and for which application."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["BOOKS_APP", "ApiKey", "Role", "extract_key", "new_key"]

Role = Literal["owner", "member"]

BOOKS_APP: Final = "books"
"""Keys made in the Books UI are scoped to this application."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """One API key: the organisation and account it belongs to, its role and its application.

    The key itself never appears in ``repr`` (or in any log), as for every secret in books-async.
    """

    key: str = field(repr=False)
    org_id: str
    account_id: str
    role: Role
    app: str = BOOKS_APP
    name: str = "sandbox key"

    def to_stored(self) -> dict[str, str]:
        """Return the key as the sandbox's SQLite file keeps it."""
        return {
            "key": self.key,
            "org_id": self.org_id,
            "account_id": self.account_id,
            "role": self.role,
            "app": self.app,
            "name": self.name,
        }

    @classmethod
    def from_stored(cls, raw: Mapping[str, object]) -> ApiKey:
        """Rebuild a key saved by :meth:`to_stored`."""
        role = raw["role"]
        if role not in ("owner", "member"):
            raise ValueError("stored key has an unknown role")
        return cls(
            key=str(raw["key"]),
            org_id=str(raw["org_id"]),
            account_id=str(raw["account_id"]),
            role="owner" if role == "owner" else "member",
            app=str(raw["app"]),
            name=str(raw["name"]),
        )


def new_key() -> str:
    """Return a fresh random API key."""
    return "bsk_" + secrets.token_hex(16)


def extract_key(headers: Mapping[str, str]) -> str | None:
    """Return the key sent as ``x-api-key`` or ``Authorization: Bearer``, or None if there is none."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("Authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None

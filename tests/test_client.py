"""BooksClient (books_async._client): construction, configuration and lifecycle, against the sandbox."""

from __future__ import annotations

import pytest

from books_async import BooksClient, ConfigurationError
from books_async.sandbox import Sandbox


async def test_client_reads_session_context(books: BooksClient, sandbox: Sandbox) -> None:
    """validate.context() through the SDK names the sandbox's default organisation."""
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert context.org_name == "Sandbox Traders Pvt Ltd"


async def test_auth_missing_key_is_refused_before_sending(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a key the SDK cannot send at all: ConfigurationError, and the server sees nothing.

    (The server's own 401 for a request without a key is pinned by the raw test in test_auth.py.)
    """
    monkeypatch.delenv("BOOKS_API_KEY", raising=False)
    for missing in (None, "", "   "):
        with pytest.raises(ConfigurationError, match="No API key"):
            BooksClient(missing, base_url=sandbox.base_url)
    assert list(sandbox.request_log) == []

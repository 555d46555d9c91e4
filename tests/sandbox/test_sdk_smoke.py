"""The SDK client talks to the sandbox (the ``books`` fixture of ``books_async.testing``)."""

from __future__ import annotations

from books_async import BooksClient
from books_async.sandbox import Sandbox


async def test_client_reads_session_context(books: BooksClient, sandbox: Sandbox) -> None:
    """validate.context() through the SDK names the sandbox's default organisation."""
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert context.org_name == "Sandbox Traders Pvt Ltd"

"""The session's lifecycle (books_async._session): one session per client, however its first calls arrive."""

from __future__ import annotations

import asyncio
import gc
import warnings

from books_async import BooksClient
from books_async.sandbox import Sandbox


async def test_one_session_is_made_when_first_calls_are_concurrent(sandbox: Sandbox) -> None:
    """Twenty first calls at once share one session: none is made twice and dropped unclosed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        books = BooksClient(sandbox.api_key, base_url=sandbox.base_url, trust_env=True)
        await asyncio.gather(*(books.validate.context() for _ in range(20)))
        session = books._transport._sessions._session
        await books.aclose()
        del books
        gc.collect()
    assert session is not None
    assert session.closed
    unclosed = [w for w in caught if "Unclosed client session" in str(w.message)]
    assert unclosed == []

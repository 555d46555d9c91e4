"""Type-checked, never run: with_options(), per-call max_retries, limiter=AsyncLimiter, ssl=, trust_env=."""

from __future__ import annotations

import ssl
from typing import assert_type

from aiolimiter import AsyncLimiter

from books_async import BooksClient, Timeout
from books_async.models import Invoice


async def options() -> None:
    company = ssl.create_default_context(cafile="company-ca.pem")
    async with BooksClient("key", limiter=AsyncLimiter(50, 60), ssl=company, trust_env=False) as books:
        quick = books.with_options(timeout=5, max_retries=0, extra_headers={"X-Trace-Id": "job-42"})
        assert_type(quick, BooksClient)
        assert_type(await quick.invoices.get("0" * 24, max_retries=1), Invoice)
        assert_type(await books.request("GET", "/books/invoices", max_retries=2, timeout=Timeout()), object)
        books.with_options(max_retries="3")  # type: ignore[arg-type]

"""The bulk worker pool (books_async._bulk.pool): bounded concurrency over many items."""

from __future__ import annotations

import asyncio

from books_async._bulk.pool import run_pool
from books_async.bulk import BulkResult


async def test_pool_runs_10000_items_with_bounded_concurrency() -> None:
    """10,000 items never run more than `concurrency` at once nor create a task each."""
    running = peak = 0
    peak_tasks = 0

    async def work(item: int) -> int:
        nonlocal running, peak, peak_tasks
        running += 1
        peak = max(peak, running)
        peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        await asyncio.sleep(0)
        running -= 1
        return item * 2

    result: BulkResult[int] = await run_pool(
        list(range(10_000)), work, concurrency=8, progress=None, stop=None
    )
    assert result.values == [i * 2 for i in range(10_000)]
    assert peak == 8
    assert peak_tasks <= 8 + 1  # the workers and the test itself

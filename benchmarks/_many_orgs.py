"""B10's measurements: many organisations' clients in one process, over one shared connection pool.

``run.py`` starts the sandbox (``--organisations N``) and turns these numbers into figures. Memory is
``tracemalloc``'s count of live Python allocations, started after the shared pool is warm (its connections
open), so what it sees is the clients' own cost: per client when idle (made, no call yet), and per client
with its session made and its limiter's window full (one real call, then the rest of the window's slots
taken and released on the limiter itself: the same entries a full minute of calls would leave). CPU is
``time.process_time()`` per ``validate.context()`` call at concurrency 64, all calls through one client
against the same number of calls spread round-robin over every client (each already has its session).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence

from books_async import BooksClient, BooksClients, RateLimit, SlidingWindowLimiter

__all__ = ["cpu_samples", "memory_per_client"]

Drive = Callable[[Callable[[], Awaitable[object]], int, int], Awaitable[None]]


async def _each(clients: Sequence[BooksClient], concurrency: int) -> None:
    """One call per client, ``concurrency`` at a time."""
    todo = iter(clients)

    async def worker() -> None:
        for client in todo:
            await client.validate.context()

    async with asyncio.TaskGroup() as tg:
        for _ in range(concurrency):
            tg.create_task(worker())


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def memory_per_client(
    base: str, warm_key: str, keys: Sequence[str], rate: RateLimit
) -> dict[str, float]:
    """Bytes per client beyond the shared pool: idle, and with its session made and its window full."""
    async with BooksClients(base_url=base, rate_limit=rate) as clients:
        warm = clients.get(warm_key)
        await _each([warm] * 64, 16)  # the pool's connections open, imports and caches warm
        tracemalloc.start()
        try:
            before = _traced()
            made = [clients.get(key) for key in keys]
            idle = _traced()
            await _each(made, 16)
            for client in made:
                limiter = client.limiter
                if not isinstance(limiter, SlidingWindowLimiter):
                    raise TypeError(f"expected each key's own sliding window, got {limiter!r}")
                while limiter.occupied < rate.max_requests:
                    await limiter.acquire()
                    limiter.release()
            full = _traced()
            windows = [c.limiter for c in made]
            full_windows = sum(
                isinstance(w, SlidingWindowLimiter) and w.occupied == rate.max_requests for w in windows
            )
        finally:
            tracemalloc.stop()
        connections = len(getattr(clients.connector, "_conns", {}))
    n = len(keys)
    return {
        "clients": n,
        "idle_bytes_per_client": (idle - before) / n,
        "full_bytes_per_client": (full - before) / n,
        "full_windows": full_windows,
        "pooled_hosts": connections,
    }


async def cpu_samples(
    base: str, keys: Sequence[str], requests: int, repeats: int, drive: Drive
) -> dict[str, list[float]]:
    """CPU seconds per call, one client vs every client in turn, interleaved ``repeats`` times."""
    # Both sides wait on a limiter, with a quota no run comes near: the comparison is of clients, not quotas.
    async with BooksClients(base_url=base, rate_limit=RateLimit(10_000_000, 60.0)) as clients:
        made = [clients.get(key) for key in keys]
        await _each(made, 64)  # every client has its session before anything is measured
        one = made[0]
        turn = itertools.cycle(made)
        variants: dict[str, Callable[[], Awaitable[object]]] = {
            "one client": lambda: one.validate.context(),
            f"{len(made):,} clients": lambda: next(turn).validate.context(),
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for call in variants.values():
            await drive(call, 200, 64)
        for _ in range(repeats):
            for name, call in variants.items():
                gc.collect()
                start = time.process_time()
                await drive(call, requests, 64)
                samples[name].append((time.process_time() - start) / requests)
    return samples

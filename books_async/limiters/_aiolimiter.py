"""An ``aiolimiter.AsyncLimiter`` as a books-async :class:`~books_async.Limiter`, with a pause for 429s.

``BooksClient(limiter=AsyncLimiter(...))`` wraps the bucket in :class:`AiolimiterAdapter`: admission is the
bucket's, and a 429 pauses every client sharing the same bucket for the ``retryAfter`` the API asked,
which a leaky bucket cannot do by itself. What that does and does not guarantee next to the default
sliding log: ``docs/design/sliding-log.md``. aiolimiter itself is never imported here (an instance is
recognised by its class), so the extra is only needed by code that builds one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from typing import Protocol, cast

__all__ = ["AiolimiterAdapter", "AsyncLimiterLike", "adapt_aiolimiter"]

log = logging.getLogger("books_async.limiter")


class AsyncLimiterLike(Protocol):
    """What ``BooksClient(limiter=...)`` takes besides a :class:`~books_async.Limiter`: an aiolimiter."""

    max_rate: float
    time_period: float

    async def acquire(self, amount: float = 1) -> None: ...


class AiolimiterAdapter:
    """An aiolimiter bucket that also pauses for 429s: what ``BooksClient(limiter=AsyncLimiter(...))`` uses.

    Clients given the same ``AsyncLimiter`` share one adapter, so a 429 met by one pauses them all.
    """

    def __init__(self, bucket: AsyncLimiterLike) -> None:
        self.bucket = bucket
        """The ``aiolimiter.AsyncLimiter`` that admits requests."""
        self._paused_until = -math.inf
        self.admitted = 0
        """Admissions so far (for tests and benchmarks)."""
        self.pauses = 0
        """429 pauses started, not counting those that only lengthened one already running."""

    @property
    def paused_for(self) -> float:
        """Seconds until the current 429 pause ends (0 when none)."""
        return max(0.0, self._paused_until - time.monotonic())

    async def _sit_out_pause(self) -> None:
        # A loop, not an Event: a 429 during the sleep moves the end of the pause, and nothing ends it early.
        while (delay := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def acquire(self) -> None:
        """Return when the pause (if any) is over and the bucket has room for one request."""
        await self._sit_out_pause()
        await self.bucket.acquire()
        # A 429 met while this task waited in the bucket must hold it too: the API asked everyone to wait.
        # The bucket's drop is spent either way; aiolimiter has no way to give it back.
        await self._sit_out_pause()
        self.admitted += 1

    def penalise(self, retry_after: float) -> None:
        """Admit nobody for ``retry_after`` seconds from now (or longer, if already paused for longer)."""
        if not math.isfinite(retry_after) or retry_after <= 0:
            return
        now = time.monotonic()
        until = now + retry_after
        if until <= self._paused_until:
            return
        if self._paused_until <= now:
            self.pauses += 1
            log.warning("rate limited by the API; pausing the aiolimiter bucket's callers %.1fs", retry_after)
        self._paused_until = until

    def __repr__(self) -> str:
        bucket = self.bucket
        return (
            f"<AiolimiterAdapter max_rate={bucket.max_rate} time_period={bucket.time_period} "
            f"admitted={self.admitted} pauses={self.pauses} paused_for={self.paused_for:.1f}>"
        )


# By id, holding the bucket: an AsyncLimiter has __slots__ and no __weakref__. One entry per bucket ever
# passed to a client, like the per-key registry of the default limiter (see _limiter.limiter_for_key).
_ADAPTERS: dict[int, AiolimiterAdapter] = {}


def adapt_aiolimiter(candidate: object) -> AiolimiterAdapter | None:
    """Return the shared adapter of ``candidate`` if it is an ``aiolimiter.AsyncLimiter``, else None."""
    module = sys.modules.get("aiolimiter")
    bucket_type = getattr(module, "AsyncLimiter", None)
    if not isinstance(bucket_type, type) or not isinstance(candidate, bucket_type):
        return None
    found = _ADAPTERS.get(id(candidate))
    if found is None or found.bucket is not candidate:
        found = _ADAPTERS[id(candidate)] = AiolimiterAdapter(cast("AsyncLimiterLike", candidate))
    return found

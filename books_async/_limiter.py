"""Client-side rate limiting: the :class:`Limiter` protocol and an in-process sliding window.

The API allows 100 requests a minute per organisation, and the client must never exceed it while still
sending a burst at once (10 calls on an idle client go out immediately, not 0.6 s apart).

Why a sliding log, and not aiolimiter
-------------------------------------
A token (leaky) bucket such as ``aiolimiter.AsyncLimiter(100, 60)`` bounds the *average* rate only: a full
bucket admits 100 at once and keeps refilling while they go out, so about 200 pass in the first minute.
``AsyncLimiter(1, 0.6)`` keeps every window under 100 but paces even ten calls 0.6 s apart. No bucket size
and rate give both properties, because a bucket forgets *when* each slot was spent, and "at most N in any
window of P seconds" is a statement about exactly that. Composing aiolimiter with a log of admission times
would leave the log doing all the limiting and the bucket only adding delay, so aiolimiter is not used.

:class:`SlidingWindowLimiter` keeps the admission times of the last ``max_requests`` admissions in a
``deque(maxlen=max_requests)``. A new admission waits until the oldest of them is at least one window old;
appending then drops that oldest. This is exact (any window holds at most ``max_requests``), O(1) per
admission, ``max_requests`` floats of memory, and lets a burst of up to ``max_requests`` through at once.

The window is ``period + margin``. Requests admitted at the edges of a window can reach the server out of
order: the oldest may have waited for a fresh TLS connection while the newest went out on a warm one, so the
server sees them closer together than we admitted them. ``margin`` absorbs that difference in one-way
latency. The default is 2 % of the period, at least 0.1 s and at most 1 s: at 100/60 s that is 1 s (more
than a cold TLS handshake across continents) and costs 1.6 % of the quota (98.4 % is sustained under a
backlog). The 0.1 s floor is measured, not guessed: on loopback a first burst that opens fresh connections
reaches the server 37–46 ms after admission while the next burst, on warm connections, arrives within 1 ms,
so a 20 ms margin (2 % of a 1 s period) let the server count 21 in one window.

Fairness and cancellation: waiters queue FIFO. Only the head of the queue sleeps (through the injected
``sleep``); it re-checks after every sleep, so a :meth:`~SlidingWindowLimiter.penalise` during the sleep
extends it. The slot is taken in the same step as the final check, with no ``await`` in between, so a
cancelled waiter never takes one; a cancelled head hands the head position to the next waiter.

Loops: nothing is created at construction. Futures are made in the running loop on demand, so one limiter
serves sequential ``asyncio.run()`` calls; waiters left behind by a loop that died without cancelling its
tasks are discarded. A limiter serves one running loop at a time and is not thread-safe: threads that each
run a loop should pass their own ``limiter=``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Protocol, runtime_checkable

from books_async._config import RateLimit
from books_async._exceptions import ConfigurationError

__all__ = ["Limiter", "NoLimiter", "SlidingWindowLimiter", "default_margin", "limiter_for_key"]

log = logging.getLogger("books_async.limiter")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

_MARGIN_FRACTION = 0.02
_MARGIN_FLOOR = 0.1
_MARGIN_CAP = 1.0
# A sleep may end a hair before its deadline (float rounding, loop clock resolution). Waiting again for
# less than this would only spin; 1 µs is far inside the margin, so admitting now keeps the guarantee.
_EARLY_OK = 1e-6


@runtime_checkable
class Limiter(Protocol):
    """Decides when a request may be sent; shared by every client that spends the same quota.

    Implement it to share a quota across processes (e.g. in Redis); no base class is needed.
    """

    async def acquire(self) -> None:
        """Return when one request may be sent. FIFO; a cancelled waiter takes no slot."""

    def penalise(self, retry_after: float) -> None:
        """Admit nobody for ``retry_after`` seconds: a 429 pauses every caller sharing this limiter."""


def default_margin(period: float) -> float:
    """Return the transit-jitter margin added to ``period``: 2 % of it, at least 0.1 s and at most 1 s."""
    return min(_MARGIN_CAP, max(_MARGIN_FLOOR, _MARGIN_FRACTION * period))


class SlidingWindowLimiter:
    """An exact in-process limiter: at most ``rate.max_requests`` admissions in any ``rate.period`` seconds.

    Bursts up to ``max_requests`` go through at once; beyond that, waiters are admitted FIFO as the oldest
    admission leaves the window (``period + margin``). See the module docstring for the design.

    Args:
        rate: the quota to keep under.
        margin: seconds added to the window for transit jitter; default :func:`default_margin`.
        clock: monotonic seconds; injectable for tests.
        sleep: awaited to wait; injectable for tests. Must be cancellable.

    Raises:
        ConfigurationError: ``margin`` is negative or not finite.
    """

    def __init__(
        self,
        rate: RateLimit,
        *,
        margin: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if margin is None:
            margin = default_margin(rate.period)
        elif not math.isfinite(margin) or margin < 0:
            raise ConfigurationError(f"margin must be a non-negative number of seconds; got {margin!r}.")
        self.rate = rate
        self.margin = margin
        self._window = rate.period + margin
        self._clock = clock
        self._sleep = sleep
        self._log: deque[float] = deque(maxlen=rate.max_requests)
        # The head's future is resolved when it becomes head; the rest wait on theirs until then.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._paused_until = -math.inf
        self.admitted = 0
        """Admissions so far (for tests and benchmarks)."""

    @property
    def window(self) -> float:
        """Seconds an admission stays counted: ``period + margin``."""
        return self._window

    @property
    def waiting(self) -> int:
        """Callers queued in :meth:`acquire` right now."""
        return len(self._waiters)

    @property
    def paused_for(self) -> float:
        """Seconds left of the pause set by :meth:`penalise`; 0.0 when not paused."""
        return max(0.0, self._paused_until - self._clock())

    def _delay(self, now: float) -> float:
        ready_at = self._paused_until
        if len(self._log) == self._log.maxlen:
            ready_at = max(ready_at, self._log[0] + self._window)
        return ready_at - now

    def _admit(self, now: float) -> None:
        self._log.append(now)  # maxlen drops the oldest, which is now outside the window
        self.admitted += 1

    def _wake_head(self) -> None:
        if self._waiters and not self._waiters[0].done():
            self._waiters[0].set_result(None)

    def _drop_stale(self, loop: asyncio.AbstractEventLoop) -> None:
        # All waiters share one loop; a head from another loop means that loop ended without cancelling
        # its tasks (they would have left the queue in their `finally`). Nobody will ever wake them.
        if self._waiters and self._waiters[0].get_loop() is not loop:
            self._waiters = deque(f for f in self._waiters if f.get_loop() is loop)

    async def acquire(self) -> None:
        """Return when a request may be sent, at once if the window has room and nobody is queued."""
        loop = asyncio.get_running_loop()
        self._drop_stale(loop)
        now = self._clock()
        if not self._waiters and self._delay(now) <= _EARLY_OK:
            self._admit(now)
            return

        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        if len(self._waiters) == 1:
            fut.set_result(None)
        try:
            await fut
            while (delay := self._delay(self._clock())) > _EARLY_OK:
                await self._sleep(delay)
            # No await between the check above and this: a cancelled waiter cannot hold a slot.
            self._admit(self._clock())
        finally:
            # Runs on admission and on cancellation alike. If we were head (woken, or sleeping), the
            # next waiter must become head or it would wait forever.
            if self._waiters and self._waiters[0] is fut:
                self._waiters.popleft()
                self._wake_head()
            else:
                with suppress(ValueError):  # already dropped as stale
                    self._waiters.remove(fut)

    def penalise(self, retry_after: float) -> None:
        """Admit nobody for ``retry_after`` seconds from now (or longer, if already paused for longer).

        Called on a 429: every task sharing the limiter waits, not just the one that was refused. Logs one
        WARNING per pause, not one per refused request.
        """
        if not math.isfinite(retry_after) or retry_after <= 0:
            return
        now = self._clock()
        until = now + retry_after
        if until <= self._paused_until:
            return
        if self._paused_until <= now:
            log.warning("rate limited by the API; pausing %.1fs", retry_after)
        self._paused_until = until
        # A sleeping head re-checks when it wakes, and a pause only ever grows, so nobody needs waking.

    def __repr__(self) -> str:
        return (
            f"<SlidingWindowLimiter max_requests={self.rate.max_requests} period={self.rate.period} "
            f"margin={self.margin} admitted={self.admitted} waiting={self.waiting} "
            f"paused_for={self.paused_for:.1f}>"
        )


class NoLimiter:
    """A limiter that admits everything at once: what ``rate_limit=None`` uses.

    ``penalise`` is a no-op too. Turning client-side limiting off means no shared pause either; the retry
    loop still waits out each 429's ``retryAfter`` for the request that got it.
    """

    def __init__(self) -> None:
        self.admitted = 0
        """Admissions so far (for tests and benchmarks)."""

    async def acquire(self) -> None:
        """Return at once."""
        self.admitted += 1

    def penalise(self, retry_after: float) -> None:
        """Do nothing (see the class docstring)."""

    def __repr__(self) -> str:
        return f"<NoLimiter admitted={self.admitted}>"


# Keyed by a salted digest of the key, never the key itself: a heap dump or a debugger listing the
# registry shows no credential, and the per-process salt makes the digest useless outside this process.
_SALT = os.urandom(16)
# A plain dict, not a WeakValueDictionary: a limiter's value is its admission log, and a weak registry
# would forget it as soon as the last client died, so code that makes a short-lived client per request
# would burst past the quota. An entry is at most max_requests floats and there is one per key in use.
_REGISTRY: dict[tuple[bytes, RateLimit], SlidingWindowLimiter] = {}


def _key_digest(api_key: str) -> bytes:
    return hashlib.blake2b(api_key.encode(), key=_SALT, digest_size=16).digest()


def limiter_for_key(api_key: str, rate: RateLimit) -> SlidingWindowLimiter:
    """Return this process's limiter for ``api_key`` and ``rate``: the same object on every call.

    Every ``BooksClient`` built with the same key (and the same ``rate_limit``) shares it, because the API's
    quota is per organisation, not per client. A different ``rate`` gets its own limiter: the caller asked
    for a different budget. To share one quota across several keys of an organisation, build one limiter and
    pass it as ``BooksClient(limiter=...)``.
    """
    slot = (_key_digest(api_key), rate)
    found = _REGISTRY.get(slot)
    if found is None:
        # setdefault is atomic under the GIL, so two threads racing here still end up sharing one.
        found = _REGISTRY.setdefault(slot, SlidingWindowLimiter(rate))
    return found

"""Client-side rate limiting: the :class:`Limiter` protocols and an in-process sliding window.

The API allows 100 requests a minute per organisation; the client must never exceed it while still sending a
burst at once (10 calls on an idle client go out immediately, not 0.6 s apart).

Invariants of :class:`SlidingWindowLimiter`:

- At most ``max_requests`` admissions in any window of ``period`` as the server counts them: an admitted
  request is *in flight* (counted from admission) until the transport calls
  :meth:`~SlidingWindowLimiter.release` when its answer arrives, then *settled* (counted ``period`` from the
  release). No transit margin is needed (``docs/design/answer-stamped-slots.md``).
- An in-flight entry stops counting ``period + margin`` after admission even if never released (the leak
  cap), so acquiring without releasing falls back to admission-stamped counting instead of leaking a slot.
- Waiters queue FIFO (:class:`WaiterQueue`, shared with the Redis limiter); only the head waits, re-checking
  after every wake, so a :meth:`~SlidingWindowLimiter.penalise` during the wait extends it. The slot is taken
  in the same step as the final check, so a cancelled waiter never takes one.
- Nothing is created at construction; futures are made in the running loop, so one limiter serves sequential
  ``asyncio.run()`` calls. One running loop at a time; not thread-safe.

Why a sliding log and not a token bucket (aiolimiter): ``docs/design/sliding-log.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from heapq import merge
from itertools import islice
from typing import Protocol, runtime_checkable

from books_async._config import RateLimit
from books_async._exceptions import ConfigurationError

__all__ = [
    "Limiter",
    "NoLimiter",
    "ReleasingLimiter",
    "SlidingWindowLimiter",
    "WaiterQueue",
    "default_margin",
    "limiter_for_key",
]

log = logging.getLogger("books_async.limiter")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

_MARGIN_FRACTION = 0.02
_MARGIN_FLOOR = 0.1
_MARGIN_CAP = 1.0
# A sleep may end a hair before its deadline (float rounding, loop clock resolution). Waiting again for
# less than this would only spin; 1 µs is far inside any real uplink delay, so admitting now keeps the
# guarantee.
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


@runtime_checkable
class ReleasingLimiter(Limiter, Protocol):
    """A :class:`Limiter` that is told when each admitted request's answer arrived.

    Counting a slot from the answer rather than from admission needs no margin for transit jitter (see the
    module docstring). The transport calls :meth:`release` once per answered attempt, if the limiter has it.
    """

    def release(self) -> None:
        """Record that the answer to one admitted request has just arrived."""


def default_margin(period: float) -> float:
    """Return the leak-cap margin added to ``period``: 2 % of it, at least 0.1 s and at most 1 s."""
    return min(_MARGIN_CAP, max(_MARGIN_FLOOR, _MARGIN_FRACTION * period))


class WaiterQueue:
    """The FIFO queue of a limiter's callers: one at a time is the *head* and waits for a slot.

    Both limiters queue through this (the in-process one and the Redis one), so FIFO order, the hand-over
    on cancellation and the wake-up on release behave the same in both. Usage::

        async with queue.turn():          # wait to be head
            while not room():
                await queue.nap(delay)    # the injected sleep, or until wake()
            take_the_slot()               # no await since the last check

    Leaving the block in any way (admission, error, cancellation) makes the next waiter head.
    """

    def __init__(self, sleep: Sleep) -> None:
        self._sleep = sleep
        # The head's future is resolved when it becomes head; the rest wait on theirs until then.
        self._waiters: deque[asyncio.Future[None]] = deque()
        # Set while the head naps: wake() resolves it so the head re-checks at once.
        self._wake: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._waiters)

    def _drop_stale(self, loop: asyncio.AbstractEventLoop) -> None:
        # All waiters share one loop; a head from another loop means that loop ended without cancelling
        # its tasks (they would have left the queue in their `finally`). Nobody will ever wake them.
        if self._waiters and self._waiters[0].get_loop() is not loop:
            self._waiters = deque(f for f in self._waiters if f.get_loop() is loop)
        if self._wake is not None and self._wake.get_loop() is not loop:
            self._wake = None

    def _wake_head(self) -> None:
        if self._waiters and not self._waiters[0].done():
            self._waiters[0].set_result(None)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait until every earlier caller has left, then run the block as head."""
        loop = asyncio.get_running_loop()
        self._drop_stale(loop)
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        if len(self._waiters) == 1:
            fut.set_result(None)
        try:
            await fut
            yield
        finally:
            # Runs on admission, error and cancellation alike. If we were head (woken, or waiting), the
            # next waiter must become head or it would wait forever.
            if self._waiters and self._waiters[0] is fut:
                self._waiters.popleft()
                self._wake_head()
            else:
                with suppress(ValueError):  # already dropped as stale, or failed by fail_waiting()
                    self._waiters.remove(fut)
            if fut.done() and not fut.cancelled():
                fut.exception()  # retrieved, even if we were cancelled before we could raise it

    async def nap(self, delay: float) -> None:
        """As head, wait ``delay`` seconds through the injected sleep, or until :meth:`wake`."""
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        self._wake = wake
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait((sleeper, wake), return_when=asyncio.FIRST_COMPLETED)
            if sleeper.done():
                sleeper.result()  # a custom sleep that failed must not turn into a busy loop
        finally:
            if self._wake is wake:
                self._wake = None
            wake.cancel()
            if not loop.is_closed():  # else we are being garbage-collected after our loop died
                sleeper.cancel()

    def wake(self) -> None:
        """End the head's :meth:`nap` now, so that it re-checks (a slot may have been freed)."""
        wake, self._wake = self._wake, None
        if wake is None or wake.done() or wake.get_loop().is_closed():
            return  # nobody naps, or a waiter of a loop that died: the next turn() discards it
        wake.set_result(None)

    def fail_waiting(self, make_error: Callable[[], BaseException]) -> int:
        """Fail every caller queued behind the head with an error of its own; return how many.

        For a failure that would meet each of them in turn (a Redis that does not answer): they learn it
        now instead of each paying for it again. Callers arriving later queue afresh.
        """
        behind = list(islice(self._waiters, 1, None))
        for _ in behind:
            self._waiters.pop()
        failed = 0
        for fut in behind:
            if not fut.done():
                fut.set_exception(make_error())
                failed += 1
        return failed


class SlidingWindowLimiter:
    """An exact in-process limiter: at most ``rate.max_requests`` requests in any ``rate.period`` seconds.

    Bursts up to ``max_requests`` go through at once; beyond that, waiters are admitted FIFO as slots free
    up. A slot is counted from admission until :meth:`release` (at most ``period + margin``), then for
    ``period`` after the release. See the module docstring for the design and why it is exact.

    Args:
        rate: the quota to keep under.
        margin: seconds added to ``period`` for admissions never released (the leak cap); default
            :func:`default_margin`.
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
        # Both logs are in time order, so expiry only ever removes from the left.
        self._in_flight: deque[float] = deque()  # admission times, not yet released
        self._settled: deque[float] = deque()  # release times
        self._queue = WaiterQueue(sleep)
        self._paused_until = -math.inf
        self.admitted = 0
        """Admissions so far (for tests and benchmarks)."""
        self.released = 0
        """Calls to :meth:`release` so far (for tests and benchmarks)."""

    @property
    def window(self) -> float:
        """Seconds an admission that is never released stays counted: ``period + margin``."""
        return self._window

    @property
    def waiting(self) -> int:
        """Callers queued in :meth:`acquire` right now."""
        return len(self._queue)

    @property
    def occupied(self) -> int:
        """Slots counted right now: in-flight admissions plus releases within the last ``period``."""
        self._expire(self._clock())
        return len(self._in_flight) + len(self._settled)

    @property
    def paused_for(self) -> float:
        """Seconds left of the pause set by :meth:`penalise`; 0.0 when not paused."""
        return max(0.0, self._paused_until - self._clock())

    def _expire(self, now: float) -> None:
        in_flight, settled = self._in_flight, self._settled
        while in_flight and in_flight[0] + self._window <= now:
            in_flight.popleft()  # the leak cap: assumed to have reached the server within the margin
        while settled and settled[0] + self.rate.period <= now:
            settled.popleft()

    def _expiries(self) -> Iterator[float]:
        window, period = self._window, self.rate.period
        return merge((a + window for a in self._in_flight), (r + period for r in self._settled))

    def _delay(self, now: float) -> float:
        self._expire(now)
        ready_at = self._paused_until
        # Occupancy can exceed max_requests (a release whose admission already hit the leak cap is
        # counted again), so wait for enough expiries to bring it below, not just the first.
        excess = len(self._in_flight) + len(self._settled) - self.rate.max_requests
        if excess >= 0:
            ready_at = max(ready_at, next(islice(self._expiries(), excess, None)))
        return ready_at - now

    def _admit(self, now: float) -> None:
        self._in_flight.append(now)
        self.admitted += 1

    def _time_to_room(self) -> float:
        """Seconds until a slot is free (<= 0: now), whoever is queued (for limiters built on this one)."""
        return self._delay(self._clock())

    def _record(self) -> None:
        """Count an admission granted elsewhere (by a shared log) at once (for limiters built on this one)."""
        self._admit(self._clock())

    async def acquire(self) -> None:
        """Return when a request may be sent, at once if a slot is free and nobody is queued."""
        now = self._clock()
        if not self._queue and self._delay(now) <= _EARLY_OK:
            self._admit(now)
            return
        async with self._queue.turn():
            while (delay := self._delay(self._clock())) > _EARLY_OK:
                await self._queue.nap(delay)
            # No await between the check above and this: a cancelled waiter cannot hold a slot.
            self._admit(self._clock())

    def release(self) -> None:
        """Record that the answer to one admitted request has just arrived.

        From now on that request is counted for ``period`` from now instead of from its admission. Call it
        once per :meth:`acquire` whose request got an answer (even an error status), as soon as the answer
        arrives; without it the slot is held for ``period + margin`` from admission. Do not call it for an
        attempt that ended without an answer: its request may still be on the way to the server.
        """
        now = self._clock()
        self._expire(now)
        # Requests are not told apart: moving the earliest admission keeps the later (longer-counted) ones.
        # If the leak cap already dropped it, the request is still counted from its answer.
        if self._in_flight:
            self._in_flight.popleft()
        self._settled.append(now)
        self.released += 1
        # A release usually frees a slot before the head's planned wake (a settled slot expires sooner than
        # an in-flight one). When it does not (its admission already hit the leak cap), the head re-checks
        # and waits again.
        self._queue.wake()

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
        # A waiting head re-checks when it wakes, and a pause only ever grows, so nobody needs waking.

    def __repr__(self) -> str:
        return (
            f"<SlidingWindowLimiter max_requests={self.rate.max_requests} period={self.rate.period} "
            f"margin={self.margin} admitted={self.admitted} released={self.released} "
            f"waiting={self.waiting} paused_for={self.paused_for:.1f}>"
        )


class NoLimiter:
    """A limiter that admits everything at once: what ``rate_limit=None`` uses.

    ``penalise`` and ``release`` are no-ops too. Turning client-side limiting off means no shared pause
    either; the retry loop still waits out each 429's ``retryAfter`` for the request that got it.
    """

    def __init__(self) -> None:
        self.admitted = 0
        """Admissions so far (for tests and benchmarks)."""

    async def acquire(self) -> None:
        """Return at once."""
        self.admitted += 1

    def penalise(self, retry_after: float) -> None:
        """Do nothing (see the class docstring)."""

    def release(self) -> None:
        """Do nothing: nothing is counted."""

    def __repr__(self) -> str:
        return f"<NoLimiter admitted={self.admitted}>"


# Keyed by a salted digest of the key, never the key itself: a heap dump or a debugger listing the
# registry shows no credential, and the per-process salt makes the digest useless outside this process.
_SALT = os.urandom(16)
# A plain dict, not a WeakValueDictionary: a limiter's value is its log of spent slots, and a weak registry
# would forget it as soon as the last client died, so code that makes a short-lived client per request
# would burst past the quota. An entry is about max_requests floats and there is one per key in use.
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

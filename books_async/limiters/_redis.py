"""A rate limiter shared through Redis by every process and host that spends one organisation's quota.

The API allows 100 requests a minute per *organisation*: several workers or hosts with their own in-process
limiters would together send several times that. A :class:`RedisRateLimiter` keeps the slots of every process
that points at the same Redis and ``key`` in one sliding log, decided by one atomic Lua script on the Redis
server's clock.

Invariants:

- No window of ``period`` holds more than ``max_requests`` admissions across all processes, and a burst on an
  idle organisation goes out at once (the rule of the in-process :class:`~books_async.SlidingWindowLimiter`).
- A slot is reserved at admission (``period + margin``) and re-stamped by :meth:`RedisRateLimiter.release`
  to count ``period`` from the Redis time after its answer arrived: exact without a transit margin. A slot
  whose answer never came ends ``period + margin`` after admission.
- :meth:`~RedisRateLimiter.penalise` (a 429) pauses every process sharing the key.
- Within a process, callers queue FIFO (``WaiterQueue``) and only the head talks to Redis; across processes,
  no contender holds more than ``ceil(max_requests / contenders)`` slots while others wait.
- Every Redis call is bounded by ``redis_timeout``; when the head's call fails, every caller queued behind it
  gets the same failure at once. ``on_redis_error="fail"`` raises :class:`SharedLimiterError`;
  ``"local"`` keeps this process alone within the quota from its own log (not the shared quota).
- Keys are ``{namespace}:rl:{sha256(key)}:*`` with expiries; the key is never stored as given.

Why a sliding log and not GCRA, how re-stamps are batched, the clock, fairness, failure modes and the key
layout in full: ``docs/design/redis-limiter.md``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import os
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Literal, TypedDict, TypeVar, Unpack

from books_async._config import RateLimit
from books_async._exceptions import ConfigurationError
from books_async._limiter import _EARLY_OK, SlidingWindowLimiter, WaiterQueue, default_margin
from books_async.limiters._shared_log import (
    Redis,
    RedisError,
    SharedLimiterError,
    SharedLog,
    key_digest,
    unreachable,
)

__all__ = ["RedisRateLimiter", "SharedLimiterError"]

log = logging.getLogger("books_async.limiter")

Sleep = Callable[[float], Awaitable[object]]
T = TypeVar("T")

# How long a fallen-back limiter serves from its in-process log before asking Redis again.
_FALLBACK_RECHECK = 5.0
# A refused head sleeps the wait it was told plus up to this much, so that processes refused together do not
# ask again in lockstep and the same one does not always win. Small against any window worth limiting.
_MAX_JITTER = 0.010
# A healthy Redis runs the script in well under a millisecond; 2 s is a failure, not a slow answer.
_REDIS_TIMEOUT = 2.0


class _Options(TypedDict, total=False):
    """The constructor's keyword arguments after ``key``, for :meth:`RedisRateLimiter.for_api_key`."""

    namespace: str
    margin: float | None
    on_redis_error: Literal["fail", "local"]
    redis_timeout: float
    sleep: Sleep


class RedisRateLimiter:
    """A limiter shared through Redis: at most ``rate.max_requests`` requests in any ``rate.period`` seconds
    across every process and host using the same Redis and ``key``.

    It satisfies the :class:`~books_async.Limiter` protocol, with ``release()``; pass it as
    ``BooksClient(limiter=...)``. Bursts up to ``max_requests`` go through at once. See the module docstring
    for the design and guarantees.

    Args:
        redis: a ``redis.asyncio.Redis`` client, which stays yours (not closed by :meth:`aclose`), or a URL
            such as ``"redis://cache:6379/0"``, from which the limiter builds and owns a client whose socket
            timeouts are ``redis_timeout``.
        rate: the quota to share.
        key: names the shared quota, normally the organisation id; hashed, never stored as given. To key by
            an API key, use :meth:`for_api_key`, which never lets the key reach Redis.
        namespace: prefix of every Redis key.
        margin: seconds an admission whose answer never arrives counts beyond ``period`` (the leak cap);
            default :func:`books_async._limiter.default_margin`.
        on_redis_error: ``"fail"`` raises :class:`SharedLimiterError` when Redis fails; ``"local"`` logs a
            WARNING and falls back to an in-process limit of the same rate.
        redis_timeout: seconds any one Redis call may take before it counts as a failure, whatever the
            client's own timeouts.
        sleep: awaited to wait; injectable for tests. Must be cancellable.

    Raises:
        ConfigurationError: a bad ``key``, ``namespace``, ``margin``, ``on_redis_error``, ``redis_timeout``
            or Redis URL.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        rate: RateLimit,
        key: str,
        namespace: str = "books_async",
        margin: float | None = None,
        on_redis_error: Literal["fail", "local"] = "fail",
        redis_timeout: float = _REDIS_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not key:
            raise ConfigurationError(
                "key must be a non-empty string naming the shared quota, e.g. the org id."
            )
        if not namespace or "{" in namespace or "}" in namespace:
            raise ConfigurationError(f"namespace must be non-empty and contain no braces; got {namespace!r}.")
        if on_redis_error not in ("fail", "local"):
            raise ConfigurationError(f'on_redis_error must be "fail" or "local"; got {on_redis_error!r}.')
        if margin is None:
            margin = default_margin(rate.period)
        elif not math.isfinite(margin) or margin < 0:
            raise ConfigurationError(f"margin must be a non-negative number of seconds; got {margin!r}.")
        if not math.isfinite(redis_timeout) or redis_timeout <= 0:
            raise ConfigurationError(
                f"redis_timeout must be a positive number of seconds; got {redis_timeout!r}."
            )
        self.rate = rate
        self.margin = margin
        self.on_redis_error = on_redis_error
        self.redis_timeout = redis_timeout
        self._window = rate.period + margin
        self._sleep = sleep
        self.key_hash = key_digest(key)
        """The SHA-256 prefix of ``key`` that names the Redis keys."""
        self._log = SharedLog(
            redis,
            namespace=namespace,
            key_hash=self.key_hash,
            max_requests=rate.max_requests,
            window=self._window,
            period=rate.period,
            timeout=redis_timeout,
        )
        self.log_key = self._log.log_key
        """The Redis sorted set of slots, each scored with the Redis time (µs) until which it counts."""
        self.pause_key = self._log.pause_key
        """The Redis key holding the shared "not before" time set by a 429."""
        self.contenders_key = self._log.contenders_key
        """The Redis sorted set of processes waiting for a slot, for the fair share."""
        self._pid = -1  # the process the id below belongs to; see _process_id
        self._member_prefix = ""
        self._seq = 0
        self._queue = WaiterQueue(sleep)
        # This process's own admissions, whichever log granted them: what keeps it under the quota on its
        # own when Redis fails, and right after (see "When Redis fails").
        self._local = SlidingWindowLimiter(rate, margin=margin)
        # Admissions not yet released, oldest first: (monotonic time the leak cap ends them, Redis member, or
        # None if the fallback granted it).
        self._unreleased: deque[tuple[float, str | None]] = deque()
        self._to_restamp: list[str] = []
        self._restamper: asyncio.Future[object] | None = None
        self._paused_until = -math.inf  # monotonic; this process's copy of the pause
        self._shared_until = -math.inf  # monotonic; the longest pause already sent (or being sent) to Redis
        self._unsent_pause = False  # penalise() ran outside a loop; send the pause on the next acquire
        self._tasks: set[Awaitable[object]] = set()
        self._refused_at = -math.inf  # monotonic; when the shared window last turned this process away
        self._fallback_until = -math.inf  # monotonic; until then, admit from the local log
        self._closed = False
        self.admitted = 0
        """Admissions by this instance so far (for tests and benchmarks)."""
        self.released = 0
        """Calls to :meth:`release` so far (for tests and benchmarks)."""
        self.redis_calls = 0
        """Admission scripts run by this instance so far, admitted or not (for tests and benchmarks)."""
        self.last_admitted_at: float | None = None
        """Redis server time (seconds since the epoch) of this instance's latest shared admission."""

    @classmethod
    def for_api_key(
        cls,
        redis: Redis | str,
        api_key: str,
        rate: RateLimit,
        **options: Unpack[_Options],
    ) -> RedisRateLimiter:
        """Return a limiter whose shared quota is named by ``api_key``, which never reaches Redis.

        The key is hashed (SHA-256, domain-separated) before it names anything, and the limiter keeps only
        that hash. Prefer ``key=<org id>`` when several keys of one organisation must share the quota.
        The keyword arguments are those of the constructor.
        """
        if not api_key or not api_key.strip():
            raise ConfigurationError("api_key must be a non-empty string.")
        hashed = "api-key-sha256:" + hashlib.sha256(b"books_async.api_key\0" + api_key.encode()).hexdigest()
        return cls(redis, rate=rate, key=hashed, **options)

    @property
    def window(self) -> float:
        """Seconds an admission counts until its answer re-stamps it: ``period + margin``."""
        return self._window

    @property
    def waiting(self) -> int:
        """Callers of this process queued in :meth:`acquire` right now."""
        return len(self._queue)

    @property
    def paused_for(self) -> float:
        """Seconds left of the pause this process knows of; 0.0 when not paused."""
        return max(0.0, self._paused_until - time.monotonic())

    @property
    def falling_back(self) -> bool:
        """Whether admissions currently come from the in-process fallback (``on_redis_error="local"``)."""
        return self._fallback_until > time.monotonic()

    async def acquire(self) -> None:
        """Return when a request may be sent: at once if the shared window has room and nobody here is queued.

        Raises:
            SharedLimiterError: Redis failed or did not answer within ``redis_timeout`` (with
                ``on_redis_error="fail"``; callers queued behind the one that asked get the same error), or
                the limiter was closed.
        """
        if self._closed:
            raise SharedLimiterError("This RedisRateLimiter was closed (aclose()); make a new one.")
        async with self._queue.turn():
            await self._acquire_as_head()

    def _jitter(self) -> float:
        return random.uniform(0.0, min(_MAX_JITTER, 0.005 * self._window))  # noqa: S311  # jitter, not a secret

    async def _acquire_as_head(self) -> None:
        if time.monotonic() - self._refused_at < self._window:
            # Contended: other processes want the slots too. Without this pause the process that woke first
            # would take every slot freed at once, one round trip each, before the others woke.
            await self._sleep(self._jitter())
        while True:
            if self._closed:
                raise SharedLimiterError("This RedisRateLimiter was closed (aclose()); make a new one.")
            now = time.monotonic()
            if self._unsent_pause:
                # Before sleeping the pause out here: the other processes must pause now, not after it.
                self._unsent_pause = False
                if self._shared_until > now:
                    self._track(asyncio.ensure_future(self._share_pause(self._shared_until - now)))
            if self._paused_until > now:
                await self._queue.nap(self._paused_until - now)
                continue
            local_wait = self._local._time_to_room()
            if local_wait > _EARLY_OK:
                # This process alone has used the quota (typically: what it sent while Redis failed, which
                # the shared log never saw).
                await self._queue.nap(local_wait)
                continue
            if self._fallback_until > now:
                # No await since the checks above: a cancelled waiter cannot hold a slot.
                self._count_admission(None)
                return
            try:
                wait = await self._ask_redis()
            except RedisError as exc:
                if self.on_redis_error == "fail":
                    # The callers behind us would each meet the same Redis, one timeout after another.
                    self._queue.fail_waiting(functools.partial(unreachable, exc))
                    raise unreachable(exc) from exc
                self._fall_back(exc)
                continue
            if wait is None:
                if self._fallback_until > -math.inf:
                    self._fallback_until = -math.inf
                    log.warning("Redis answers again; the rate limit is shared across processes again")
                return
            await self._queue.nap(wait + self._jitter())

    def _process_id(self) -> str:
        # Made per OS process, not at construction: a limiter built at import time in a gunicorn master and
        # inherited by forked workers must not give them one id, or their admissions would overwrite each
        # other in the log (same member names) and the fair share would see one process.
        pid = os.getpid()
        if pid != self._pid:
            self._pid = pid
            self._member_prefix = uuid.uuid4().hex[:16]
        return self._member_prefix

    def _next_member(self) -> str:
        self._seq += 1
        return f"{self._process_id()}:{self._seq}"

    async def _ask_redis(self) -> float | None:
        """Run the admission script once: None when admitted, else the seconds to wait."""
        member = self._next_member()
        process, seq = member.split(":")
        call = asyncio.ensure_future(self._log.admit(process, seq, more_waiting=len(self._queue) > 1))
        self._track(call)
        self.redis_calls += 1
        try:
            # Shielded so that a cancelled caller still learns whether the script admitted it, and gives the
            # slot back if so: a cancelled waiter must not spend the quota of a request it never sends.
            admitted, value = await asyncio.shield(call)
        except asyncio.CancelledError:
            call.add_done_callback(lambda done: self._refund(done, member))
            raise
        if admitted:
            self.last_admitted_at = value
            self._count_admission(member)
            return None
        self._refused_at = time.monotonic()
        return max(0.0, value)

    def _count_admission(self, member: str | None) -> None:
        now = time.monotonic()
        self._expire_unreleased(now)
        self._unreleased.append((now + self._window, member))
        self._local._record()
        self.admitted += 1

    def _expire_unreleased(self, now: float) -> None:
        # Past the leak cap in our own clock means past it in Redis too: the script stamped the admission
        # before we heard of it. Dropping them keeps this bounded for callers that never release.
        unreleased = self._unreleased
        while unreleased and unreleased[0][0] <= now:
            unreleased.popleft()

    def release(self) -> None:
        """Record that the answer to one admitted request has just arrived.

        That request's slot is re-stamped in Redis to count for ``period`` from now (by a task :meth:`aclose`
        awaits) instead of ``period + margin`` from its admission. The transport calls this once per attempt
        that got an answer (even an error status), as soon as it arrives. Do not call it for an attempt
        that ended without an answer: its request may still be on the way to the API.
        """
        self._expire_unreleased(time.monotonic())
        self.released += 1
        self._local.release()
        member: str | None
        if self._unreleased:
            member = self._unreleased.popleft()[1]
        else:
            # Answered after the leak cap ended its slot: count it again from now, as the local log does.
            member = None if self.falling_back else self._next_member()
        if member is None or self._closed or self.falling_back:
            self._queue.wake()  # the local log has room sooner; Redis is not asked (or not answering)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside a loop (never so from the transport): the slot keeps its admission stamp
        self._to_restamp.append(member)
        if self._restamper is None or self._restamper.done():
            restamper: asyncio.Future[object] = loop.create_task(self._restamp())
            self._restamper = restamper
            self._track(restamper)

    async def _restamp(self) -> None:
        # One task sends every pending re-stamp, batched: a burst of answers costs one round trip, and
        # release() stays synchronous.
        while self._to_restamp:
            members, self._to_restamp = self._to_restamp, []
            try:
                await self._log.restamp(members)
            except RedisError as exc:
                # Those slots keep their admission stamps: the leak cap ends them, as if no answer had come.
                log.debug("could not re-stamp %d answered slot(s) (%s)", len(members), exc.__class__.__name__)
            # Our head may be waiting for one of these slots: let it ask again now that it ends sooner.
            self._queue.wake()

    def _refund(self, call: asyncio.Future[tuple[bool, float]], member: str) -> None:
        if call.cancelled() or call.exception() is not None:
            return
        admitted, _ = call.result()
        if admitted and not self._closed_loop():
            self._track(asyncio.ensure_future(self._remove_member(member)))

    def _closed_loop(self) -> bool:
        try:
            return asyncio.get_running_loop().is_closed()
        except RuntimeError:
            return True

    async def _remove_member(self, member: str) -> None:
        try:
            await self._log.remove(member)
        except RedisError as exc:
            # The slot then stays spent until it leaves the window: conservative, never over the quota.
            log.debug("could not give back a cancelled slot (%s)", exc.__class__.__name__)

    def _fall_back(self, exc: RedisError) -> None:
        if self._fallback_until == -math.inf:
            log.warning(
                "Redis failed (%s): the rate limit is no longer shared; this process alone keeps %d requests "
                "per %gs until Redis answers (retried every %gs)",
                exc.__class__.__name__,
                self.rate.max_requests,
                self.rate.period,
                _FALLBACK_RECHECK,
            )
        self._fallback_until = time.monotonic() + _FALLBACK_RECHECK

    def penalise(self, retry_after: float) -> None:
        """Admit nobody, in any process sharing this limiter, for ``retry_after`` seconds from now.

        Called on a 429. This process pauses at once; the shared pause is written to Redis by a task this
        limiter keeps and :meth:`aclose` awaits. A pause only ever grows. Logs one WARNING per pause.
        """
        if not math.isfinite(retry_after) or retry_after <= 0:
            return
        now = time.monotonic()
        until = now + retry_after
        if until > self._paused_until:
            if self._paused_until <= now:
                log.warning(
                    "rate limited by the API; every process sharing this limit pauses %.1fs", retry_after
                )
            self._paused_until = until
        if until <= self._shared_until or self._closed:
            return  # a pause at least this long is already on its way to Redis
        self._shared_until = until
        if self._fallback_until > now:
            return  # Redis is failing: the pause stays local, as the admissions do
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._unsent_pause = True  # called outside the loop: the next acquire() sends it
            return
        self._track(loop.create_task(self._share_pause(retry_after)))

    async def _share_pause(self, retry_after: float) -> None:
        try:
            await self._log.pause(retry_after)
        except RedisError as exc:
            log.warning(
                "could not share a %.1fs pause through Redis (%s); other processes may still send",
                retry_after,
                exc.__class__.__name__,
            )

    def _track(self, task: asyncio.Future[T]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Finish the pending re-stamps, pause writes and slot refunds, then close the Redis client if we
        built it.

        Each of those is bounded by ``redis_timeout``. A client passed in stays open. Idempotent. Later
        :meth:`acquire` calls raise :class:`SharedLimiterError`.
        """
        self._closed = True
        # A finishing task may start another (a refund after a cancelled admission): drain until none is left.
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._log.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # No URL (it may hold a password) and no key (only its hash).
        return (
            f"<RedisRateLimiter key_hash={self.key_hash} max_requests={self.rate.max_requests} "
            f"period={self.rate.period} margin={self.margin} admitted={self.admitted} "
            f"released={self.released} waiting={self.waiting} paused_for={self.paused_for:.1f} "
            f"falling_back={self.falling_back}>"
        )

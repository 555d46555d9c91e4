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
from typing import Literal, TypeVar

from books_async._config import RateLimit
from books_async._exceptions import BooksError, ConfigurationError
from books_async._limiter import _EARLY_OK, SlidingWindowLimiter, WaiterQueue, default_margin

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "books_async.limiters.RedisRateLimiter needs the redis package: pip install 'books-async[redis]'."
    ) from exc

__all__ = ["RedisRateLimiter", "SharedLimiterError"]

log = logging.getLogger("books_async.limiter")

Sleep = Callable[[float], Awaitable[object]]
T = TypeVar("T")

_ACQUIRE = """
-- KEYS[1]: slots (sorted set: member "<process>:<seq>", score = Redis time in us until which it counts).
-- KEYS[2]: pause deadline (Redis time in us). KEYS[3]: contenders (sorted set: process -> lease end).
-- ARGV[1]: max_requests; ARGV[2]: window = period + margin (us), how long an admission counts unless its
-- answer re-stamps it; ARGV[3]: process id; ARGV[4]: admission seq; ARGV[5]: "1" if the process has more
-- callers waiting after this one; ARGV[6]: lease grace (us).
-- Returns {1, now} when admitted, else {0, microseconds to wait}.
if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5: allow writes after TIME
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local maxn, window, me, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[6])

-- A process that must come back (refused, or more callers queued) holds a lease until then plus grace.
local function contend(wait)
  local ttl = math.ceil((wait + grace) / 1000)
  redis.call('ZADD', KEYS[3], now + wait + grace, me)
  if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
  return wait
end

redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)  -- contenders that never came back (crashed, cancelled)
local pause = tonumber(redis.call('GET', KEYS[2]))
if pause and pause > now then
  return {0, contend(pause - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local slots = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local held = #slots / 2
if held >= maxn then
  -- A slot re-stamped after the leak cap had ended it counts again, so more than maxn may be held: wait
  -- until enough of them end, not just the first.
  return {0, contend(tonumber(slots[2 * (held - maxn) + 2]) - now)}
end
-- Fair share: while other processes contend, none holds more than ceil(max / contenders) of the slots.
local others = redis.call('ZCARD', KEYS[3])
if redis.call('ZSCORE', KEYS[3], me) then others = others - 1 end
if others > 0 then
  local prefix = me .. ':'
  local mine, my_first_end = 0, nil
  for i = 1, #slots, 2 do
    if string.sub(slots[i], 1, #prefix) == prefix then
      mine = mine + 1
      my_first_end = my_first_end or tonumber(slots[i + 1])
    end
  end
  if mine >= math.ceil(maxn / (others + 1)) then
    -- Ask again when its own first slot ends, or after one average slot interval if sooner: the others may
    -- finish (and leave the contenders) long before that at the API's 60 s window.
    return {0, contend(math.min(my_first_end - now, math.ceil(window / maxn)))}
  end
end
redis.call('ZADD', KEYS[1], now + window, me .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))  -- every slot ends by now + window
if ARGV[5] == '1' then
  contend(0)
else
  redis.call('ZREM', KEYS[3], me)
end
return {1, now}
"""

_RELEASE = """
-- KEYS[1]: slots (as in the admission script). ARGV[1]: period (us); ARGV[2..]: members whose answers have
-- arrived. Each counts for one period from now, which is after its answer arrived, so after the API counted
-- it. A member the leak cap already removed is added back: its request is counted from its answer.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + period, ARGV[i])
end
local ttl = math.ceil(period / 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end  -- only ever extended
return #ARGV - 1
"""

_PAUSE = """
-- KEYS[1]: pause deadline (Redis time in microseconds). ARGV[1]: pause length in microseconds.
-- Only ever extends the pause: a short retryAfter must not cut a longer one short. Returns 1 if extended.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local length = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current >= now + length then
  return 0
end
redis.call('SET', KEYS[1], string.format('%.0f', now + length), 'PX', math.ceil(length / 1000))
return 1
"""

# How long a fallen-back limiter serves from its in-process log before asking Redis again.
_FALLBACK_RECHECK = 5.0
# A refused head sleeps the wait it was told plus up to this much, so that processes refused together do not
# ask again in lockstep and the same one does not always win. Small against any window worth limiting.
_MAX_JITTER = 0.010
_US = 1_000_000
# A process that has to come back for a slot counts as a contender until its wait ends plus this much.
# Longer only makes a crashed process count for longer (shrinking the others' fair share, never blocking).
_GRACE_US = 1_000_000
# A healthy Redis runs the script in well under a millisecond; 2 s is a failure, not a slow answer.
_REDIS_TIMEOUT = 2.0


class SharedLimiterError(BooksError):
    """The shared rate limit could not be consulted (Redis failed or the limiter was closed).

    No request was sent. Check Redis, or build the limiter with ``on_redis_error="local"`` to fall back to
    a per-process limit instead.
    """


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _unreachable(exc: RedisError) -> SharedLimiterError:
    error = SharedLimiterError(
        f"Could not reach Redis for the shared rate limit ({exc.__class__.__name__}: {exc}); no request was "
        "sent. Check Redis, or pass on_redis_error='local' to fall back to a per-process limit."
    )
    error.__cause__ = exc
    return error


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
        redis: aioredis.Redis | str,
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
        if isinstance(redis, str):
            try:
                # Our own client fails fast: a dead Redis is reported within about a second, not after the
                # library's default ten retries. The retries are for a dropped connection (Redis restarted).
                client = aioredis.Redis.from_url(
                    redis,
                    socket_timeout=redis_timeout,
                    socket_connect_timeout=redis_timeout,
                    retry=Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.02), 3),
                )
            except ValueError as exc:
                # The URL may hold a password: name the problem, not the URL.
                raise ConfigurationError(
                    f"Not a Redis URL ({exc.__class__.__name__}); use redis://host:port/db."
                ) from None
            self._owns_redis = True
        else:
            client = redis
            self._owns_redis = False
        self._redis = client
        self.rate = rate
        self.margin = margin
        self.on_redis_error = on_redis_error
        self.redis_timeout = redis_timeout
        self._window = rate.period + margin
        self._window_us = math.ceil(self._window * _US)
        self._period_us = math.ceil(rate.period * _US)
        self._sleep = sleep
        self.key_hash = _digest(key)
        """The SHA-256 prefix of ``key`` that names the Redis keys."""
        base = f"{namespace}:rl:{{{self.key_hash}}}"
        self.log_key = f"{base}:log"
        """The Redis sorted set of slots, each scored with the Redis time (µs) until which it counts."""
        self.pause_key = f"{base}:pause"
        """The Redis key holding the shared "not before" time set by a 429."""
        self.contenders_key = f"{base}:contenders"
        """The Redis sorted set of processes waiting for a slot, for the fair share."""
        self._acquire_script = client.register_script(_ACQUIRE)
        self._release_script = client.register_script(_RELEASE)
        self._pause_script = client.register_script(_PAUSE)
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
        self._tasks: set[asyncio.Future[object]] = set()
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
        redis: aioredis.Redis | str,
        api_key: str,
        rate: RateLimit,
        *,
        namespace: str = "books_async",
        margin: float | None = None,
        on_redis_error: Literal["fail", "local"] = "fail",
        redis_timeout: float = _REDIS_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> RedisRateLimiter:
        """Return a limiter whose shared quota is named by ``api_key``, which never reaches Redis.

        The key is hashed (SHA-256, domain-separated) before it names anything, and the limiter keeps only
        that hash. Prefer ``key=<org id>`` when several keys of one organisation must share the quota.
        The keyword arguments are those of the constructor.
        """
        if not api_key or not api_key.strip():
            raise ConfigurationError("api_key must be a non-empty string.")
        hashed = "api-key-sha256:" + hashlib.sha256(b"books_async.api_key\0" + api_key.encode()).hexdigest()
        return cls(
            redis,
            rate=rate,
            key=hashed,
            namespace=namespace,
            margin=margin,
            on_redis_error=on_redis_error,
            redis_timeout=redis_timeout,
            sleep=sleep,
        )

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
                    self._queue.fail_waiting(functools.partial(_unreachable, exc))
                    raise _unreachable(exc) from exc
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

    async def _bounded(self, call: Awaitable[T]) -> T:
        """Await one Redis call; a RedisError after ``redis_timeout``, whatever the client's own settings."""
        try:
            async with asyncio.timeout(self.redis_timeout):
                return await call
        except TimeoutError:
            # Cancelling the call closed its connection (redis-py does on cancellation), so no late reply
            # can be read as another command's.
            raise RedisTimeoutError(f"no answer within {self.redis_timeout:g}s") from None

    async def _ask_redis(self) -> float | None:
        """Run the admission script once: None when admitted, else the seconds to wait."""
        member = self._next_member()
        process, seq = member.split(":")
        more = "1" if len(self._queue) > 1 else "0"
        keys = [self.log_key, self.pause_key, self.contenders_key]
        args: list[str | int] = [self.rate.max_requests, self._window_us, process, seq, more, _GRACE_US]
        call = asyncio.ensure_future(self._bounded(self._acquire_script(keys=keys, args=args)))
        self._track(call)
        self.redis_calls += 1
        try:
            # Shielded so that a cancelled caller still learns whether the script admitted it, and gives the
            # slot back if so: a cancelled waiter must not spend the quota of a request it never sends.
            reply = await asyncio.shield(call)
        except asyncio.CancelledError:
            call.add_done_callback(lambda done: self._refund(done, member))
            raise
        admitted, value = _parse_reply(reply)
        if admitted:
            self.last_admitted_at = value / _US
            self._count_admission(member)
            return None
        self._refused_at = time.monotonic()
        return max(0.0, value / _US)

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
                await self._bounded(
                    self._release_script(keys=[self.log_key], args=[self._period_us, *members])
                )
            except RedisError as exc:
                # Those slots keep their admission stamps: the leak cap ends them, as if no answer had come.
                log.debug("could not re-stamp %d answered slot(s) (%s)", len(members), exc.__class__.__name__)
            # Our head may be waiting for one of these slots: let it ask again now that it ends sooner.
            self._queue.wake()

    def _refund(self, call: asyncio.Future[object], member: str) -> None:
        if call.cancelled() or call.exception() is not None:
            return
        try:
            admitted, _ = _parse_reply(call.result())
        except SharedLimiterError:
            return
        if admitted and not self._closed_loop():
            self._track(asyncio.ensure_future(self._remove_member(member)))

    def _closed_loop(self) -> bool:
        try:
            return asyncio.get_running_loop().is_closed()
        except RuntimeError:
            return True

    async def _remove_member(self, member: str) -> None:
        try:
            await self._bounded(self._redis.zrem(self.log_key, member))
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
            await self._bounded(
                self._pause_script(keys=[self.pause_key], args=[math.ceil(retry_after * _US)])
            )
        except RedisError as exc:
            log.warning(
                "could not share a %.1fs pause through Redis (%s); other processes may still send",
                retry_after,
                exc.__class__.__name__,
            )

    def _track(self, task: asyncio.Future[object]) -> None:
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
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

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


def _parse_reply(reply: object) -> tuple[bool, int]:
    if (
        isinstance(reply, list)
        and len(reply) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in reply)
    ):
        return reply[0] == 1, reply[1]
    raise SharedLimiterError(f"Unexpected reply from the rate-limit script: {reply!r}.")

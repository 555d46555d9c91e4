"""One shared quota's keys in Redis, and every call on them: the scripts of :mod:`._lua`, bounded in time.

:class:`SharedLog` names the keys (``{namespace}:rl:{sha256(key)}:*``, never the key as given), runs the
admission, re-stamp and pause scripts and gives back a cancelled slot. No call takes longer than
``timeout``, whatever the client's own settings: a slow or dead Redis surfaces as a ``RedisError``, which
the limiter turns into :class:`SharedLimiterError` (:func:`unreachable`) or a fallback. This is the only
module that imports ``redis``; queueing, fallback and bookkeeping are the limiter's.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable
from typing import TypeVar

from books_async._exceptions import BooksError, ConfigurationError
from books_async.limiters import _lua

try:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "books_async.limiters.RedisRateLimiter needs the redis package: pip install 'books-async[redis]'."
    ) from exc

__all__ = ["Redis", "RedisError", "SharedLimiterError", "SharedLog", "key_digest", "unreachable"]

T = TypeVar("T")

_US = 1_000_000
# A process that has to come back for a slot counts as a contender until its wait ends plus this much.
# Longer only makes a crashed process count for longer (shrinking the others' fair share, never blocking).
_GRACE_US = 1_000_000


class SharedLimiterError(BooksError):
    """The shared rate limit could not be consulted (Redis failed or the limiter was closed).

    No request was sent. Check Redis, or build the limiter with ``on_redis_error="local"`` to fall back to
    a per-process limit instead.
    """


def unreachable(exc: RedisError) -> SharedLimiterError:
    """The error a caller gets when Redis failed it, caused by (and naming the class of) ``exc``."""
    error = SharedLimiterError(
        f"Could not reach Redis for the shared rate limit ({exc.__class__.__name__}: {exc}); no request was "
        "sent. Check Redis, or pass on_redis_error='local' to fall back to a per-process limit."
    )
    error.__cause__ = exc
    return error


def key_digest(text: str) -> str:
    """The SHA-256 prefix that names a quota's Redis keys in place of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _connect(redis: Redis | str, timeout: float) -> tuple[Redis, bool]:
    if not isinstance(redis, str):
        return redis, False
    try:
        # Our own client fails fast: a dead Redis is reported within about a second, not after the
        # library's default ten retries. The retries are for a dropped connection (Redis restarted).
        client = Redis.from_url(
            redis,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.02), 3),
        )
    except ValueError as exc:
        # The URL may hold a password: name the problem, not the URL.
        raise ConfigurationError(
            f"Not a Redis URL ({exc.__class__.__name__}); use redis://host:port/db."
        ) from None
    return client, True


class SharedLog:
    """The sliding log of one quota in Redis, shared by every process that names it.

    ``redis`` is a client, which stays the caller's, or a URL, from which a client is built (socket
    timeouts ``timeout``) and closed by :meth:`aclose`. Raises ConfigurationError for a bad URL.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        namespace: str,
        key_hash: str,
        max_requests: int,
        window: float,
        period: float,
        timeout: float,
    ) -> None:
        self._redis, self._owns_redis = _connect(redis, timeout)
        self._timeout = timeout
        self._max_requests = max_requests
        self._window_us = math.ceil(window * _US)
        self._period_us = math.ceil(period * _US)
        base = f"{namespace}:rl:{{{key_hash}}}"
        self.log_key = f"{base}:log"
        self.pause_key = f"{base}:pause"
        self.contenders_key = f"{base}:contenders"
        self._acquire_script = self._redis.register_script(_lua.ACQUIRE)
        self._release_script = self._redis.register_script(_lua.RELEASE)
        self._pause_script = self._redis.register_script(_lua.PAUSE)

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError:
            # Cancelling the call closed its connection (redis-py does on cancellation), so no late reply
            # can be read as another command's.
            raise RedisTimeoutError(f"no answer within {self._timeout:g}s") from None

    async def admit(self, process: str, seq: str, *, more_waiting: bool) -> tuple[bool, float]:
        """Run the admission script once for member ``<process>:<seq>``.

        Returns ``(True, Redis time in seconds)`` when admitted, else ``(False, seconds to wait)``. Raises
        RedisError, or SharedLimiterError for a reply the script cannot have given.
        """
        keys = [self.log_key, self.pause_key, self.contenders_key]
        more = "1" if more_waiting else "0"
        args: list[str | int] = [self._max_requests, self._window_us, process, seq, more, _GRACE_US]
        admitted, value = _parse_reply(await self._bounded(self._acquire_script(keys=keys, args=args)))
        return admitted, value / _US

    async def restamp(self, members: list[str]) -> None:
        """Count each member's slot for one period from now (their answers have arrived)."""
        await self._bounded(self._release_script(keys=[self.log_key], args=[self._period_us, *members]))

    async def pause(self, seconds: float) -> None:
        """Admit nobody sharing the log for ``seconds`` from now; a pause only ever grows."""
        await self._bounded(self._pause_script(keys=[self.pause_key], args=[math.ceil(seconds * _US)]))

    async def remove(self, member: str) -> None:
        """Give back the slot of an admission whose request was never sent."""
        await self._bounded(self._redis.zrem(self.log_key, member))

    async def aclose(self) -> None:
        """Close the client if it was built here from a URL. Idempotent."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()


def _parse_reply(reply: object) -> tuple[bool, int]:
    if (
        isinstance(reply, list)
        and len(reply) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in reply)
    ):
        return reply[0] == 1, reply[1]
    raise SharedLimiterError(f"Unexpected reply from the rate-limit script: {reply!r}.")

"""Tests for books_async.limiters.RedisRateLimiter against a real redis-server (no fakeredis).

The window guarantee is asserted on the admission times the Lua script stamped with the Redis server's clock
and on the request times the sandbox recorded; the rest on counts (script calls, admissions, errors) and on
the waits the limiter asked for. Nothing asserts elapsed time: these must pass on a machine under full load.
Speed, throughput, fairness and how soon a frozen Redis fails are benchmark B9's (``nox -s bench``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypedDict, cast

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from books_async import BooksClient, BooksError, ConfigurationError, Limiter, RateLimit
from books_async._limiter import ReleasingLimiter
from books_async.limiters import RedisRateLimiter, SharedLimiterError
from books_async.limiters import _redis as redis_module
from books_async.sandbox import Sandbox, serve
from tests.redis_server import REDIS_SERVER, SKIP_REASON, RedisServer, redis_server
from tests.virtual_time import RecordingSleep, max_in_any_window

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=SKIP_REASON)

# Only ever a guard against a hang, never a measurement: the assertions are on what happened, not when.
HANG_GUARD = 120.0


@pytest.fixture
def redis_srv(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def r(redis_srv: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_srv.url)
    yield client
    await client.aclose()


def text(value: object) -> str:
    """A Redis reply (bytes, as our clients do not decode) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


async def admit(limiter: RedisRateLimiter, stamps: list[float]) -> None:
    """Acquire and record the Redis time the script stamped on this admission."""
    await limiter.acquire()
    # No await since acquire() returned: this is still our admission's stamp.
    assert limiter.last_admitted_at is not None
    stamps.append(limiter.last_admitted_at)


async def cancel(task: asyncio.Task[None]) -> None:
    """Cancel a task still waiting in acquire() and wait until it is gone."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def redis_now(r: aioredis.Redis) -> float:
    """The Redis server's clock, in seconds since the epoch."""
    seconds, micros = await r.time()
    return float(seconds) + micros / 1e6


async def slots(r: aioredis.Redis, limiter: RedisRateLimiter) -> list[tuple[str, float]]:
    """The shared log: (member, Redis time in seconds until which the slot counts), earliest end first."""
    return [(text(m), score / 1e6) for m, score in await r.zrange(limiter.log_key, 0, -1, withscores=True)]


async def requests_seen(sb: Sandbox, n: int) -> None:
    """Return once the sandbox has logged at least n requests."""
    while len(sb.request_log) < n:  # noqa: ASYNC110 - the sandbox offers no event to wait on
        await asyncio.sleep(0.005)


# ---- the guarantee within one process


async def test_burst_on_idle_is_admitted_without_waiting(r: aioredis.Redis) -> None:
    """Ten calls on an idle key pass with one script call each and no sleep; the eleventh is told to wait
    for the first slot to end."""
    sleep = RecordingSleep()
    stamps: list[float] = []
    async with RedisRateLimiter(r, rate=RateLimit(10, 30.0), key="org-burst", sleep=sleep) as limiter:
        await asyncio.gather(*(admit(limiter, stamps) for _ in range(10)))
        assert sleep.waits == []
        assert limiter.redis_calls == 10
        eleventh = asyncio.create_task(limiter.acquire())
        await sleep.called.wait()
        await cancel(eleventh)
    assert limiter.admitted == 10
    assert 0 < sleep.waits[0] <= limiter.window + redis_module._MAX_JITTER


async def test_any_window_holds_at_most_max_across_instances(
    redis_srv: RedisServer, r: aioredis.Redis
) -> None:
    """35 concurrent acquires through two instances of one key: never over 10 in any 1 s of Redis time."""
    rate = RateLimit(10, 1.0)
    stamps: list[float] = []
    async with (
        RedisRateLimiter(r, rate=rate, key="org-window") as a,
        RedisRateLimiter(redis_srv.url, rate=rate, key="org-window") as b,
        asyncio.TaskGroup() as tg,
    ):
        for i in range(35):
            tg.create_task(admit(a if i % 2 else b, stamps))
    assert a.admitted + b.admitted == 35
    assert max_in_any_window(stamps, rate.period) == 10
    # The window the script enforces includes the margin, so even a slightly wider one holds at most 10.
    assert max_in_any_window(stamps, a.window - 1e-6) == 10


async def test_cancelled_waiter_takes_no_slot(r: aioredis.Redis) -> None:
    """A waiter cancelled while it sleeps for a slot leaves the shared log as it was."""
    sleep = RecordingSleep()
    async with RedisRateLimiter(r, rate=RateLimit(2, 1.0), key="org-cancel", sleep=sleep) as limiter:
        await limiter.acquire()
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await sleep.called.wait()  # refused, and sleeping until the window has room
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert limiter.waiting == 0
    assert await r.zcard(limiter.log_key) == 2


async def test_cancel_during_the_script_gives_the_slot_back(r: aioredis.Redis) -> None:
    """A caller cancelled while the script admits it returns the slot: its request is never sent."""
    limiter = RedisRateLimiter(r, rate=RateLimit(2, 1.0), key="org-refund")
    caller = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)  # the caller is now awaiting the (shielded) script call
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await limiter.aclose()  # waits for the script and the refund it triggers
    assert limiter.redis_calls == 1
    assert limiter.admitted == 0
    assert await r.zcard(limiter.log_key) == 0


async def test_contending_instances_each_get_at_most_a_fair_share(r: aioredis.Redis) -> None:
    """Two busy instances of one key: once both contend, neither holds more than 5 of any 1 s window of 10."""
    rate = RateLimit(10, 1.0)
    stamps: dict[str, list[float]] = {"a": [], "b": []}
    async with (
        RedisRateLimiter(r, rate=rate, key="org-fair") as a,
        RedisRateLimiter(r, rate=rate, key="org-fair") as b,
        asyncio.TaskGroup() as tg,
    ):
        for _ in range(20):
            tg.create_task(admit(a, stamps["a"]))
            tg.create_task(admit(b, stamps["b"]))
    start = min(stamps["a"] + stamps["b"])
    both_busy_until = min(max(stamps["a"]), max(stamps["b"]))
    for mine in stamps.values():
        # The first window may go to whoever asked first, before the other registered as a contender.
        for t in (t for t in mine if start + a.window <= t <= both_busy_until):
            assert sum(1 for u in mine if t - rate.period <= u <= t) <= 5


async def test_contender_that_never_returns_stops_counting(r: aioredis.Redis) -> None:
    """A crashed process's lease ends: it shrinks the others' share for a while, and never blocks them."""
    limiter = RedisRateLimiter(r, rate=RateLimit(4, 1.0), key="org-ghost")
    seconds, micros = await r.time()
    await r.zadd(limiter.contenders_key, {"ghost": seconds * 1_000_000 + micros + 300_000})
    stamps: list[float] = []
    async with limiter:
        await asyncio.gather(*(admit(limiter, stamps) for _ in range(4)))
    assert len(stamps) == 4
    assert await r.zscore(limiter.contenders_key, "ghost") is None


async def test_forked_worker_gets_its_own_process_id(
    r: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A limiter inherited through fork (gunicorn --preload) names its admissions apart from the parent's."""
    limiter = RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-fork")
    await limiter.acquire()
    monkeypatch.setattr(os, "getpid", lambda: -2)  # what a forked child sees: another pid
    await limiter.acquire()
    await limiter.aclose()
    members = {text(m).split(":")[0] for m in await r.zrange(limiter.log_key, 0, -1)}
    assert len(members) == 2


async def test_uncontended_acquire_is_one_script_call(r: aioredis.Redis) -> None:
    """With room in the window every acquire is one script call (B9 measures how long one takes)."""
    async with RedisRateLimiter(r, rate=RateLimit(100_000, 60.0), key="org-one-call") as limiter:
        for _ in range(500):
            await limiter.acquire()
    assert limiter.redis_calls == limiter.admitted == 500


# ---- slots count from the answer


async def test_release_restamps_the_slot_from_the_answer(r: aioredis.Redis) -> None:
    """An admission reserves its slot for period + margin; release() re-stamps the same slot to count for
    period from the Redis time of the re-stamp (which aclose() waits for)."""
    rate = RateLimit(5, 10.0)
    async with RedisRateLimiter(r, rate=rate, key="org-restamp", margin=2.0) as limiter:
        await limiter.acquire()
        admitted_at = limiter.last_admitted_at
        assert admitted_at is not None
        [(member, reserved_until)] = await slots(r, limiter)
        assert reserved_until == pytest.approx(admitted_at + limiter.window, abs=1e-6)
        limiter.release()
    [(restamped, counted_until)] = await slots(r, limiter)
    assert restamped == member
    assert admitted_at + rate.period <= counted_until <= await redis_now(r) + rate.period
    assert limiter.released == 1


async def test_released_slot_frees_the_window_one_period_after_the_answer(r: aioredis.Redis) -> None:
    """Another instance (another process, in production) that finds the window full is told to wait for
    period after the re-stamp, not for period + margin after the admission."""
    rate = RateLimit(1, 10.0)
    sleep = RecordingSleep()
    async with RedisRateLimiter(r, rate=rate, key="org-freed", margin=5.0) as first:
        await first.acquire()
        first.release()
    async with RedisRateLimiter(r, rate=rate, key="org-freed", margin=5.0, sleep=sleep) as second:
        waiter = asyncio.create_task(second.acquire())
        await sleep.called.wait()
        await cancel(waiter)
    assert 0 < sleep.waits[0] <= rate.period + redis_module._MAX_JITTER


async def test_release_wakes_this_process_head_to_ask_again(r: aioredis.Redis) -> None:
    """A head refused because this process's own slot, still in flight, ends first (period + margin after
    admission) asks again as soon as its re-stamp lands, and is then told the new, earlier end."""
    rate = RateLimit(2, 10.0)
    sleep = RecordingSleep()
    async with (
        RedisRateLimiter(r, rate=rate, key="org-wake", margin=5.0, sleep=sleep) as limiter,
        RedisRateLimiter(r, rate=rate, key="org-wake", margin=5.0) as other,
    ):
        await limiter.acquire()
        await other.acquire()  # in flight too, and ends after ours: the window is full until ours ends
        waiter = asyncio.create_task(limiter.acquire())
        await sleep.called.wait()
        sleep.called.clear()
        limiter.release()
        await sleep.called.wait()  # asked again after the re-stamp, refused again, for less
        await cancel(waiter)
    assert limiter.redis_calls == 3
    assert len(sleep.waits) == 2
    assert sleep.waits[1] <= rate.period + redis_module._MAX_JITTER < limiter.window


async def test_release_after_the_leak_cap_counts_the_request_again(r: aioredis.Redis) -> None:
    """A request answered after its slot's leak cap ended it is counted again, from its answer."""
    rate = RateLimit(3, 2.0)
    async with RedisRateLimiter(r, rate=rate, key="org-late", margin=0.0) as limiter:
        await limiter.acquire()
        await asyncio.sleep(rate.period + 0.1)  # the slot has ended, as an unanswered request's does
        assert await slots(r, limiter) == []  # and the key with it: every slot had ended
        answered_at = await redis_now(r)
        limiter.release()
    [(_, counted_until)] = await slots(r, limiter)
    assert counted_until >= answered_at + rate.period


# ---- a 429 pauses every process


async def test_penalise_pauses_this_process_at_once(r: aioredis.Redis) -> None:
    """penalise() is synchronous and the local pause applies before any Redis write lands."""
    async with RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-local-pause") as limiter:
        limiter.penalise(60.0)
        assert limiter.paused_for > 0
        assert await r.exists(limiter.pause_key) == 0


async def test_penalise_pauses_another_instance_on_the_same_key(
    redis_srv: RedisServer, r: aioredis.Redis
) -> None:
    """A 429 seen by one instance stops another (another process, in production) until the pause ends."""
    rate = RateLimit(10, 1.0)
    sleep = RecordingSleep()
    other = RedisRateLimiter(redis_srv.url, rate=rate, key="org-pause")
    async with RedisRateLimiter(r, rate=rate, key="org-pause", sleep=sleep) as limiter:
        await limiter.acquire()
        other.penalise(0.5)
        await other.aclose()  # the shared pause is written by a task that aclose() awaits
        raw = await r.get(limiter.pause_key)
        assert raw is not None
        pause_until = int(raw) / 1e6
        await limiter.acquire()
    assert limiter.last_admitted_at is not None
    assert limiter.last_admitted_at >= pause_until
    # It waited at most what was left of the pause (nothing, if the machine was slow enough to outlast it).
    assert all(0 < w <= 0.5 + redis_module._MAX_JITTER for w in sleep.waits)


async def test_shared_pause_is_only_ever_extended(r: aioredis.Redis) -> None:
    """A short retryAfter after a long one leaves the long pause in place."""
    rate = RateLimit(10, 1.0)
    long_ = RedisRateLimiter(r, rate=rate, key="org-extend")
    long_.penalise(60.0)
    await long_.aclose()
    short = RedisRateLimiter(r, rate=rate, key="org-extend")
    short.penalise(0.2)
    await short.aclose()
    assert await r.pttl(short.pause_key) > 30_000


async def test_penalise_outside_a_loop_is_shared_on_next_acquire(r: aioredis.Redis) -> None:
    """Called from sync code (no running loop), penalise() pauses locally; the next acquire shares the pause
    before it waits it out, so the other processes pause now, not after it."""
    sleep = RecordingSleep()
    limiter = RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-sync-pause", sleep=sleep)
    await asyncio.to_thread(limiter.penalise, 60.0)
    assert await r.exists(limiter.pause_key) == 0
    waiter = asyncio.create_task(limiter.acquire())
    await sleep.called.wait()  # waiting out the pause
    await cancel(waiter)
    await limiter.aclose()  # awaits the write
    assert await r.pttl(limiter.pause_key) > 30_000
    assert limiter.redis_calls == 0


# ---- Redis failures


async def test_redis_stopped_fails_closed_and_sends_nothing(redis_srv: RedisServer) -> None:
    """on_redis_error="fail": a dead Redis raises SharedLimiterError (a BooksError) and nothing is sent."""
    async with (
        serve(rate_limit=None) as sb,
        RedisRateLimiter(redis_srv.url, rate=RateLimit(10, 1.0), key="org-fail") as limiter,
        BooksClient(sb.api_key, base_url=sb.base_url, limiter=limiter) as books,
    ):
        await books.validate.context()
        await asyncio.to_thread(redis_srv.stop)
        with pytest.raises(SharedLimiterError, match="Could not reach Redis") as err:
            await books.validate.context()
        assert isinstance(err.value, BooksError)
        assert isinstance(err.value.__cause__, RedisError)
        assert books.requests_sent == 1
        assert len(sb.request_log) == 1


async def test_frozen_redis_fails_every_waiter_and_sends_nothing(redis_srv: RedisServer) -> None:
    """A Redis that is alive but answers nothing: the head's script call fails (after redis_timeout) and every
    call queued behind it raises SharedLimiterError from that one failure; nothing reaches the API, and once
    Redis answers again so does the limiter."""
    async with (
        serve(rate_limit=None) as sb,
        RedisRateLimiter(redis_srv.url, rate=RateLimit(100, 60.0), key="org-frozen") as limiter,
        BooksClient(sb.api_key, base_url=sb.base_url, limiter=limiter) as books,
    ):
        await books.validate.context()
        calls = limiter.redis_calls
        with redis_srv.frozen():
            async with asyncio.timeout(HANG_GUARD):
                results = await asyncio.gather(
                    *(books.validate.context() for _ in range(30)), return_exceptions=True
                )
        assert all(isinstance(res, SharedLimiterError) for res in results), results
        errors = [res for res in results if isinstance(res, SharedLimiterError)]
        assert all(isinstance(err.__cause__, RedisError) for err in errors)
        assert all("Could not reach Redis" in str(err) for err in errors)
        assert len({id(err) for err in errors}) == 30
        assert limiter.redis_calls == calls + 1  # one call met the frozen Redis; the others were told
        assert books.requests_sent == 1
        assert len(sb.request_log) == 1
        await books.validate.context()
        assert len(sb.request_log) == 2


async def test_frozen_redis_is_bounded_by_redis_timeout_whatever_the_client(
    redis_srv: RedisServer, r: aioredis.Redis
) -> None:
    """A client passed in with redis-py's defaults (no socket timeout: it would wait forever) still fails
    every waiter, because the limiter bounds each call itself."""
    rate = RateLimit(100, 60.0)
    async with RedisRateLimiter(r, rate=rate, key="org-frozen-borrowed", redis_timeout=0.5) as limiter:
        await limiter.acquire()
        with redis_srv.frozen():
            async with asyncio.timeout(HANG_GUARD):
                results = await asyncio.gather(
                    *(limiter.acquire() for _ in range(10)), return_exceptions=True
                )
            assert all(isinstance(res, SharedLimiterError) for res in results), results
            assert limiter.redis_calls == 2
            assert limiter.waiting == 0
        await limiter.acquire()
    assert limiter.admitted == 2


async def test_frozen_redis_with_local_fallback_admits_everyone_behind_one_failed_call(
    redis_srv: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """on_redis_error="local": one call meets the frozen Redis and falls back; the callers behind it are
    admitted from the local log without asking Redis, which counts what this process sent through Redis
    before, so the window stays within the quota for this process."""
    rate = RateLimit(5, 60.0)
    sleep = RecordingSleep()
    caplog.set_level(logging.INFO, logger="books_async.limiter")
    async with RedisRateLimiter(
        redis_srv.url,
        rate=rate,
        key="org-frozen-local",
        on_redis_error="local",
        redis_timeout=0.5,
        sleep=sleep,
    ) as limiter:
        await limiter.acquire()
        await limiter.acquire()
        with redis_srv.frozen():
            async with asyncio.timeout(HANG_GUARD):
                await asyncio.gather(*(limiter.acquire() for _ in range(3)))
                assert limiter.falling_back
                assert limiter.redis_calls == 3
                assert sleep.waits == []
                # Five admitted in this window, two of them through Redis: the sixth waits for the window.
                sixth = asyncio.create_task(limiter.acquire())
                await sleep.called.wait()
                await cancel(sixth)
    assert limiter.admitted == 5
    assert 0 < sleep.waits[0] <= limiter.window
    lost = [rec for rec in caplog.records if "no longer shared" in rec.getMessage()]
    assert len(lost) == 1
    assert lost[0].levelno == logging.WARNING
    assert "TimeoutError" in lost[0].getMessage()


async def test_local_fallback_returns_to_redis_when_it_answers_again(
    redis_srv: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_redis_error="local": a dead Redis (connections refused) logs one WARNING and admits locally; once
    Redis answers and the recheck interval has passed, admissions are shared again, with a WARNING."""
    recheck = 0.5
    monkeypatch.setattr(redis_module, "_FALLBACK_RECHECK", recheck)
    caplog.set_level(logging.INFO, logger="books_async.limiter")
    async with RedisRateLimiter(
        redis_srv.url, rate=RateLimit(10, 60.0), key="org-local", on_redis_error="local"
    ) as limiter:
        await limiter.acquire()
        shared_at = limiter.last_admitted_at
        await asyncio.to_thread(redis_srv.stop)
        await limiter.acquire()
        await limiter.acquire()
        assert limiter.falling_back
        assert limiter.last_admitted_at == shared_at  # both admitted locally
        lost = [rec for rec in caplog.records if "no longer shared" in rec.getMessage()]
        assert len(lost) == 1
        assert "ConnectionError" in lost[0].getMessage()

        await asyncio.to_thread(redis_srv.start)
        await asyncio.sleep(recheck)  # at least the recheck interval, however long it takes
        await limiter.acquire()
        assert not limiter.falling_back
        assert limiter.last_admitted_at != shared_at
    assert any("answers again" in rec.getMessage() for rec in caplog.records)
    assert limiter.admitted == 4


async def test_local_fallback_keeps_one_process_within_the_quota_through_freeze_and_thaw(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process through BooksClient, Redis frozen mid-run and thawed later, on_redis_error="local": the
    sandbox never sees more than the quota in any window and answers no 429, because the process's own log
    counts what it sent through Redis, through the fallback and through Redis again alike."""
    monkeypatch.setattr(redis_module, "_FALLBACK_RECHECK", 0.5)
    rate = RateLimit(5, 1.0)
    async with (
        serve(rate_limit=(rate.max_requests, rate.period)) as sb,
        RedisRateLimiter(
            redis_srv.url, rate=rate, key="org-thaw", on_redis_error="local", redis_timeout=0.3
        ) as limiter,
        BooksClient(sb.api_key, base_url=sb.base_url, limiter=limiter) as books,
    ):

        async def freeze_then_thaw() -> None:
            await requests_seen(sb, 7)
            with redis_srv.frozen():
                await requests_seen(sb, 16)

        async with asyncio.timeout(HANG_GUARD), asyncio.TaskGroup() as tg:
            tg.create_task(freeze_then_thaw())
            for _ in range(25):
                tg.create_task(books.validate.context())
        log = list(sb.request_log)
    assert [entry[4] for entry in log] == [200] * 25
    assert max_in_any_window([entry[0] for entry in log], rate.period) <= rate.max_requests
    assert books.rate_limited == 0
    assert limiter.admitted == limiter.released == 25


# ---- keys


async def test_api_key_never_reaches_redis(r: aioredis.Redis) -> None:
    """for_api_key(): no Redis key or value holds the API key; every key is namespaced and expires."""
    secret = "bk_live_" + "S3cr3tK3y" * 4
    # Long enough that no key can expire before it is looked at, however slow the machine.
    limiter = RedisRateLimiter.for_api_key(r, secret, RateLimit(5, 60.0))
    await limiter.acquire()
    limiter.release()
    limiter.penalise(60.0)
    await limiter.aclose()
    keys = [text(k) async for k in r.scan_iter()]
    assert {limiter.log_key, limiter.pause_key} <= set(keys)
    assert set(keys) <= {limiter.log_key, limiter.pause_key, limiter.contenders_key}
    for key in keys:
        assert secret not in key
        assert key.startswith("books_async:rl:{")
        assert await r.pttl(key) > 0
    values = [text(m) for m in await r.zrange(limiter.log_key, 0, -1)]
    values.append(text(await r.get(limiter.pause_key) or b""))
    assert all(secret not in v for v in values)
    assert secret not in repr(limiter)
    assert secret not in str(vars(limiter))


async def test_for_api_key_instances_of_one_key_share_a_quota(r: aioredis.Redis) -> None:
    """Two limiters built from the same API key use the same Redis keys; another key gets others."""
    rate = RateLimit(5, 1.0)
    a = RedisRateLimiter.for_api_key(r, "key-one", rate)
    b = RedisRateLimiter.for_api_key(r, "key-one", rate)
    c = RedisRateLimiter.for_api_key(r, "key-two", rate)
    assert a.log_key == b.log_key != c.log_key
    assert a.pause_key == b.pause_key != c.pause_key
    named = RedisRateLimiter(r, rate=rate, key="org-1", namespace="myapp")
    assert named.log_key.startswith("myapp:rl:{")


async def test_client_passed_in_stays_open_and_closed_limiter_refuses(
    redis_srv: RedisServer, r: aioredis.Redis
) -> None:
    """aclose() leaves the caller's client open; a closed limiter raises SharedLimiterError."""
    rate = RateLimit(5, 1.0)
    borrowed = RedisRateLimiter(r, rate=rate, key="org-close")
    await borrowed.acquire()
    await borrowed.aclose()
    assert await r.ping()
    owned = RedisRateLimiter(redis_srv.url, rate=rate, key="org-close")
    await owned.acquire()
    await owned.aclose()
    await owned.aclose()  # idempotent
    with pytest.raises(SharedLimiterError, match="closed"):
        await owned.acquire()


async def test_limiter_satisfies_the_protocol(r: aioredis.Redis) -> None:
    """RedisRateLimiter is a books_async.Limiter, with release(), without subclassing anything of ours."""
    limiter = RedisRateLimiter(r, rate=RateLimit(5, 1.0), key="org-proto")
    assert isinstance(limiter, Limiter)
    assert isinstance(limiter, ReleasingLimiter)  # so the transport tells it of every answer
    assert "key_hash=" in repr(limiter)


def test_bad_settings_raise_configuration_error() -> None:
    """Bad arguments fail at construction, before any I/O."""
    rate = RateLimit(5, 1.0)
    url = "redis://127.0.0.1:1/0"
    with pytest.raises(ConfigurationError, match="namespace"):
        RedisRateLimiter(url, rate=rate, key="k", namespace="a{b}")
    with pytest.raises(ConfigurationError, match="on_redis_error"):
        RedisRateLimiter(url, rate=rate, key="k", on_redis_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="margin"):
        RedisRateLimiter(url, rate=rate, key="k", margin=-1.0)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigurationError, match="redis_timeout"):
            RedisRateLimiter(url, rate=rate, key="k", redis_timeout=bad)
    with pytest.raises(ConfigurationError, match="key"):
        RedisRateLimiter(url, rate=rate, key="")
    with pytest.raises(ConfigurationError, match="Redis URL") as err:
        RedisRateLimiter("http://user:hunter2@cache/0", rate=rate, key="k")
    assert "hunter2" not in str(err.value)


def test_import_books_async_does_not_import_redis() -> None:
    """Only books_async.limiters needs the redis extra."""
    code = "import sys, books_async; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603


# ---- done when: 8 processes x 50 requests against the sandbox at RateLimit(20, 2.0)

SHARED_RATE = RateLimit(20, 2.0)
PROCESSES = 8
REQUESTS_EACH = 50


class WorkerStats(TypedDict):
    """What one worker process reports back (a plain dict, so it pickles without importing this module)."""

    rate_limited: int
    sent: int
    admitted: int
    released: int


async def _worker_main(
    redis_url: str, base_url: str, api_key: str, ready: Queue[int], go: Event
) -> WorkerStats:
    # The default margin: slots count from each answer, so the margin only caps unanswered requests.
    limiter = RedisRateLimiter(redis_url, rate=SHARED_RATE, key="org-done-when")
    async with limiter, BooksClient(api_key, base_url=base_url, limiter=limiter) as books:
        ready.put(0)
        await asyncio.to_thread(go.wait)
        # A bulk job's shape: every request queued at once, the limiter deciding when each goes.
        async with asyncio.TaskGroup() as tg:
            for _ in range(REQUESTS_EACH):
                tg.create_task(books.validate.context())
    return {
        "rate_limited": books.rate_limited,
        "sent": books.requests_sent,
        "admitted": limiter.admitted,
        "released": limiter.released,
    }


def _worker(
    redis_url: str,
    base_url: str,
    api_key: str,
    ready: Queue[int],
    go: Event,
    out: Queue[WorkerStats | dict[str, str]],
) -> None:
    try:
        out.put(asyncio.run(_worker_main(redis_url, base_url, api_key, ready, go)))
    except BaseException:  # the parent must hear of any failure, or it waits for a result forever
        out.put({"error": traceback.format_exc()})
        ready.put(1)
        raise


async def test_eight_processes_share_one_quota_against_the_sandbox(redis_srv: RedisServer) -> None:
    """8 processes x 50 requests at RateLimit(20, 2.0), default margin: no 429, never more than 20 in any
    2 s at the server, every answer released. Takes about 40 s (the quota's pace); B9 measures the rate."""
    ctx = multiprocessing.get_context("spawn")
    ready: Queue[int] = ctx.Queue()
    out: Queue[WorkerStats | dict[str, str]] = ctx.Queue()
    go = ctx.Event()
    async with serve(rate_limit=(SHARED_RATE.max_requests, SHARED_RATE.period)) as sb:
        procs = [
            ctx.Process(
                target=_worker, args=(redis_srv.url, sb.base_url, sb.api_key, ready, go, out), daemon=True
            )
            for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        try:
            for _ in procs:
                await asyncio.to_thread(ready.get, True, HANG_GUARD)
            go.set()
            results = [await asyncio.to_thread(out.get, True, 5 * HANG_GUARD) for _ in procs]
        finally:
            for p in procs:
                await asyncio.to_thread(p.join, 10)
                if p.is_alive():
                    p.kill()
        server_log = [entry for entry in sb.request_log if entry[3].endswith("/books/validate")]

    errors = [str(res.get("error")) for res in results if "error" in res]
    assert not errors, errors[0]
    stats = [cast("WorkerStats", res) for res in results]
    n = PROCESSES * REQUESTS_EACH
    statuses = [entry[4] for entry in server_log]
    # Zero 429s, seen from both ends, and every request answered once.
    assert sum(s["rate_limited"] for s in stats) == 0
    assert statuses.count(429) == 0
    assert statuses.count(200) == n == len(server_log)
    # The guarantee at the server: no 2 s window over 20.
    assert (
        max_in_any_window([entry[0] for entry in server_log], SHARED_RATE.period) <= SHARED_RATE.max_requests
    )
    # The transport released every answered attempt, so every slot was counted from its answer.
    assert all(s["admitted"] == s["released"] == s["sent"] == REQUESTS_EACH for s in stats)

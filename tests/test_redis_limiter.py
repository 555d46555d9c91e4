"""Tests for books_async.limiters.RedisRateLimiter against a real redis-server (no fakeredis).

The window guarantee is asserted on the admission times the Lua script stamped with the Redis server's clock
and on the request times the sandbox recorded, never on elapsed time. The multi-process test prints its
figures (run with ``pytest -s`` to see them).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypedDict, cast

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from books_async import BooksClient, BooksError, ConfigurationError, Limiter, RateLimit
from books_async.limiters import RedisRateLimiter, SharedLimiterError
from books_async.limiters import _redis as redis_module
from books_async.sandbox import serve
from tests.redis_server import REDIS_SERVER, SKIP_REASON, RedisServer, redis_server

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=SKIP_REASON)


@pytest.fixture
def redis_srv(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def r(redis_srv: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_srv.url)
    yield client
    await client.aclose()


class RecordingSleep:
    """asyncio.sleep that records what the limiter asked it to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.called = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.waits.append(delay)
        self.called.set()
        await asyncio.sleep(delay)


def text(value: object) -> str:
    """A Redis reply (bytes, as our clients do not decode) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def max_in_any_window(times: Sequence[float], width: float) -> int:
    """The most events in any closed window [t, t + width]."""
    ordered = sorted(times)
    return max((bisect.bisect_right(ordered, t + width) - i for i, t in enumerate(ordered)), default=0)


async def admit(limiter: RedisRateLimiter, stamps: list[float]) -> None:
    """Acquire and record the Redis time the script stamped on this admission."""
    await limiter.acquire()
    # No await since acquire() returned: this is still our admission's stamp.
    assert limiter.last_admitted_at is not None
    stamps.append(limiter.last_admitted_at)


# ---- the guarantee within one process


async def test_burst_on_idle_is_admitted_without_waiting(r: aioredis.Redis) -> None:
    """Ten calls on an idle key pass with one script call each and no sleep; the eleventh waits a window."""
    sleep = RecordingSleep()
    stamps: list[float] = []
    async with RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-burst", sleep=sleep) as limiter:
        await asyncio.gather(*(admit(limiter, stamps) for _ in range(10)))
        assert sleep.waits == []
        assert limiter.redis_calls == 10
        await admit(limiter, stamps)
    assert len(sleep.waits) >= 1
    assert 0 < sleep.waits[0] <= limiter.window + redis_module._MAX_JITTER
    assert stamps[10] - stamps[0] >= limiter.window


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
    """With room in the window every acquire is one round trip; prints its latency (median, p99)."""
    latencies: list[float] = []
    async with RedisRateLimiter(r, rate=RateLimit(100_000, 60.0), key="org-latency") as limiter:
        for _ in range(500):
            started = time.perf_counter()
            await limiter.acquire()
            latencies.append(time.perf_counter() - started)
    assert limiter.redis_calls == limiter.admitted == 500
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"\n[redis limiter] uncontended acquire: median {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")  # noqa: T201


# ---- a 429 pauses every process


async def test_penalise_pauses_this_process_at_once(r: aioredis.Redis) -> None:
    """penalise() is synchronous and the local pause applies before any Redis write lands."""
    async with RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-local-pause") as limiter:
        limiter.penalise(0.3)
        assert limiter.paused_for > 0.2


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
    assert sleep.waits
    assert 0 < sleep.waits[0] <= 0.5 + 0.01


async def test_shared_pause_is_only_ever_extended(r: aioredis.Redis) -> None:
    """A short retryAfter after a long one leaves the long pause in place."""
    rate = RateLimit(10, 1.0)
    long_ = RedisRateLimiter(r, rate=rate, key="org-extend")
    long_.penalise(5.0)
    await long_.aclose()
    short = RedisRateLimiter(r, rate=rate, key="org-extend")
    short.penalise(0.2)
    await short.aclose()
    assert await r.pttl(short.pause_key) > 4000


async def test_penalise_outside_a_loop_is_shared_on_next_acquire(r: aioredis.Redis) -> None:
    """Called from sync code (no running loop), penalise() pauses locally and the next acquire shares it."""
    limiter = RedisRateLimiter(r, rate=RateLimit(10, 1.0), key="org-sync-pause")
    await asyncio.to_thread(limiter.penalise, 0.2)
    assert await r.exists(limiter.pause_key) == 0
    await limiter.acquire()
    await limiter.aclose()
    assert limiter.paused_for == 0.0
    assert limiter.last_admitted_at is not None


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


async def test_redis_stopped_falls_back_locally_with_one_warning(
    redis_srv: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_redis_error="local": a dead Redis logs one WARNING, each process keeps the rate, and it recovers."""
    monkeypatch.setattr(redis_module, "_FALLBACK_RECHECK", 1.0)
    sleep = RecordingSleep()
    caplog.set_level(logging.INFO, logger="books_async.limiter")
    async with RedisRateLimiter(
        redis_srv.url, rate=RateLimit(3, 0.5), key="org-local", on_redis_error="local", sleep=sleep
    ) as limiter:
        await limiter.acquire()
        await asyncio.to_thread(redis_srv.stop)
        await limiter.acquire()
        fell_back = limiter.falling_back
        assert fell_back
        for _ in range(3):
            await limiter.acquire()
        assert sleep.waits  # the in-process fallback keeps 3 per 0.5 s: the fourth local admission waited
        lost = [rec for rec in caplog.records if "no longer shared" in rec.getMessage()]
        assert len(lost) == 1
        assert lost[0].levelno == logging.WARNING
        assert "ConnectionError" in lost[0].getMessage()

        await asyncio.to_thread(redis_srv.start)
        await asyncio.sleep(1.0)  # the fallback asks Redis again after _FALLBACK_RECHECK
        await limiter.acquire()
        recovered = not limiter.falling_back
        assert recovered
        assert any("answers again" in rec.getMessage() for rec in caplog.records)
        assert limiter.last_admitted_at is not None


# ---- keys


async def test_api_key_never_reaches_redis(r: aioredis.Redis) -> None:
    """for_api_key(): no Redis key or value holds the API key; every key is namespaced and expires."""
    secret = "bk_live_" + "S3cr3tK3y" * 4
    limiter = RedisRateLimiter.for_api_key(r, secret, RateLimit(5, 1.0))
    await limiter.acquire()
    limiter.penalise(0.5)
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
    """RedisRateLimiter is a books_async.Limiter without subclassing anything of ours."""
    limiter = RedisRateLimiter(r, rate=RateLimit(5, 1.0), key="org-proto")
    assert isinstance(limiter, Limiter)
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
# The default margin is 2 % of the period: 1 s at the API's 60 s, but only 40 ms at this test's 2 s, while the
# machine's delays do not shrink with the period. A sliding log admits in bursts, and the single-process
# sandbox works through a burst one request at a time, so a request may be checked tens of ms after its
# admission (cold connections at the start, CPU contention on a shared 2-core box at any time) while the one
# a window later arrives on time. Measured here: up to ~85 ms of such compression; with the default 40 ms
# this test met a 429 in 2 runs of 3. 0.15 s (7.5 %) covers it and still allows 93 % of the quota.
TEST_MARGIN = 0.15


class WorkerStats(TypedDict):
    """What one worker process reports back (a plain dict, so it pickles without importing this module)."""

    waits: list[float]
    stamps: list[float]
    done: list[float]
    rate_limited: int
    sent: int
    redis_calls: int


class TimedLimiter:
    """Wraps a limiter to record how long each acquire() took and the Redis stamp of each admission."""

    def __init__(self, inner: RedisRateLimiter) -> None:
        self.inner = inner
        self.waits: list[float] = []
        self.stamps: list[float] = []

    async def acquire(self) -> None:
        started = time.monotonic()
        await self.inner.acquire()
        self.waits.append(time.monotonic() - started)
        if self.inner.last_admitted_at is not None:
            self.stamps.append(self.inner.last_admitted_at)

    def penalise(self, retry_after: float) -> None:
        self.inner.penalise(retry_after)


async def _worker_main(
    redis_url: str, base_url: str, api_key: str, margin: float | None, ready: Queue[int], go: Event
) -> WorkerStats:
    limiter = RedisRateLimiter(redis_url, rate=SHARED_RATE, key="org-done-when", margin=margin)
    timed = TimedLimiter(limiter)
    done: list[float] = []
    async with limiter, BooksClient(api_key, base_url=base_url, limiter=timed) as books:
        ready.put(0)
        await asyncio.to_thread(go.wait)

        async def one() -> None:
            await books.validate.context()
            done.append(time.monotonic())

        # A bulk job's shape: every request queued at once, the limiter deciding when each goes.
        async with asyncio.TaskGroup() as tg:
            for _ in range(REQUESTS_EACH):
                tg.create_task(one())
        return {
            "waits": timed.waits,
            "stamps": timed.stamps,
            "done": done,
            "rate_limited": books.rate_limited,
            "sent": books.requests_sent,
            "redis_calls": limiter.redis_calls,
        }


def _worker(
    redis_url: str,
    base_url: str,
    api_key: str,
    margin: float | None,
    ready: Queue[int],
    go: Event,
    out: Queue[WorkerStats | dict[str, str]],
) -> None:
    try:
        out.put(asyncio.run(_worker_main(redis_url, base_url, api_key, margin, ready, go)))
    except BaseException:  # the parent must hear of any failure, or it waits for a result forever
        out.put({"error": traceback.format_exc()})
        ready.put(1)
        raise


async def test_eight_processes_share_one_quota_against_the_sandbox(redis_srv: RedisServer) -> None:
    """8 processes x 50 requests at RateLimit(20, 2.0): no 429, <= 20 in any 2 s at the server, >= 90 % rate.

    Takes about 40 s (400 requests at 10 a second); prints the figures.
    """
    ctx = multiprocessing.get_context("spawn")
    ready: Queue[int] = ctx.Queue()
    out: Queue[WorkerStats | dict[str, str]] = ctx.Queue()
    go = ctx.Event()
    async with serve(rate_limit=(SHARED_RATE.max_requests, SHARED_RATE.period)) as sb:
        procs = [
            ctx.Process(
                target=_worker,
                args=(redis_srv.url, sb.base_url, sb.api_key, TEST_MARGIN, ready, go, out),
                daemon=True,
            )
            for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        try:
            for _ in procs:
                await asyncio.to_thread(ready.get, True, 120)
            started = time.monotonic()
            go.set()
            results = [await asyncio.to_thread(out.get, True, 300) for _ in procs]
        finally:
            for p in procs:
                await asyncio.to_thread(p.join, 10)
                if p.is_alive():
                    p.kill()
        server_log = [entry for entry in sb.request_log if entry[3].endswith("/books/validate")]

    errors = [str(res.get("error")) for res in results if "error" in res]
    assert not errors, errors[0]
    stats = [cast("WorkerStats", res) for res in results]
    times = sorted(entry[0] for entry in server_log)
    statuses = [entry[4] for entry in server_log]
    n = PROCESSES * REQUESTS_EACH
    quota_rate = SHARED_RATE.max_requests / SHARED_RATE.period

    # Zero 429s, seen from both ends, and every request answered once.
    assert sum(int(s["rate_limited"]) for s in stats) == 0
    assert statuses.count(429) == 0
    assert statuses.count(200) == n == len(server_log)
    # The guarantee at the server: no 2 s window over 20.
    busiest = max_in_any_window(times, SHARED_RATE.period)
    assert busiest <= SHARED_RATE.max_requests
    # Throughput after the first burst: any limiter that keeps the window can send the other n - 20 no faster
    # than 20 per 2 s, so this is the share of the quota used (the burst itself would flatter the figure).
    steady = (n - SHARED_RATE.max_requests) / (times[-1] - times[0])
    assert steady >= 0.9 * quota_rate

    tightest, tightest_at = min(
        (times[i + SHARED_RATE.max_requests] - times[i], times[i] - times[0])
        for i in range(n - SHARED_RATE.max_requests)
    )
    waits = sorted(w for s in stats for w in s["waits"])
    stamps = sorted(t for s in stats for t in s["stamps"])
    assert max_in_any_window(stamps, SHARED_RATE.period) <= SHARED_RATE.max_requests
    finish = sorted(max(s["done"]) - started for s in stats)
    per_process = [REQUESTS_EACH / f for f in finish]
    # Fairness while every process still had work: each one's share of what was done by the first finish.
    first_out = started + finish[0]
    shares = sorted(sum(1 for t in s["done"] if t <= first_out) for s in stats)
    fair = sum(shares) / PROCESSES
    calls = sum(int(s["redis_calls"]) for s in stats)
    print(  # noqa: T201
        f"\n[redis limiter] {PROCESSES} processes x {REQUESTS_EACH} requests, RateLimit(20, 2.0) shared, "
        f"margin {TEST_MARGIN} s:"
        f"\n  429s: 0; busiest 2 s window at the server: {busiest}; "
        f"tightest 21-request span: {tightest:.3f} s (at {tightest_at:.1f} s)"
        f"\n  steady throughput {steady:.2f}/s = {steady / quota_rate:.1%} of quota; "
        f"all {n} in {times[-1] - times[0]:.1f} s ({n / (times[-1] - times[0]):.2f}/s incl. the first burst)"
        f"\n  acquire wait (queueing included): median {statistics.median(waits):.2f} s, "
        f"p99 {statistics.quantiles(waits, n=100)[98]:.2f} s, max {waits[-1]:.2f} s"
        f"\n  per-process throughput: min {min(per_process):.2f}/s, "
        f"median {statistics.median(per_process):.2f}/s, max {max(per_process):.2f}/s; "
        f"finish times {finish[0]:.1f}-{finish[-1]:.1f} s"
        f"\n  done per process by the first finish ({finish[0]:.1f} s): {shares} "
        f"(fair share {fair:.1f}; min {shares[0] / fair:.0%}, max {shares[-1] / fair:.0%})"
        f"\n  Redis script calls per admission: {calls / n:.2f}"
    )

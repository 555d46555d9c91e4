"""Tests for books_async._limiter: the any-window guarantee, bursts, FIFO, cancellation, pauses, registry.

Nothing here asserts elapsed wall time. Most scenarios run on a virtual-time event loop: its clock only
moves when every task is blocked, and then jumps straight to the next timer, so `asyncio.sleep(60)` costs
nothing and admission times are exact. The limiter gets that loop's clock and the real `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import selectors
import time
import warnings
from collections.abc import Callable, Coroutine, Sequence
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from books_async._config import RateLimit
from books_async._exceptions import ConfigurationError
from books_async._limiter import (
    _REGISTRY,
    Limiter,
    NoLimiter,
    SlidingWindowLimiter,
    default_margin,
    limiter_for_key,
)

T = TypeVar("T")


class VirtualClock:
    """Seconds of virtual time, shared by a VirtualTimeLoop and the limiter under test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    # typeshed types SelectorKey.data as Any, so naming the inherited return type trips explicit-any.
    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:  # type: ignore[explicit-any]
        if timeout is None:
            # Nothing is ready and no timer is set: the real loop would block forever.
            raise RuntimeError("deadlock: every task is waiting and no timer is set")
        self._clock.now += max(timeout, 0.0)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever it would otherwise wait."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(clock))
        self._virtual = clock

    def time(self) -> float:
        return self._virtual.now


def run_virtual(clock: VirtualClock, main: Callable[[], Coroutine[object, object, T]]) -> T:
    """Run `main()` to completion on a fresh virtual-time loop driven by `clock`."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        return runner.run(main())


def max_in_any_window(times: Sequence[float], width: float) -> int:
    """The most admissions in any closed window [t, t + width]."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] > width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def admit_all(limiter: SlidingWindowLimiter, clock: Callable[[], float], n: int) -> list[float]:
    """Start n acquirers at once; return their admission times in admission order."""
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(clock())

    async with asyncio.TaskGroup() as tg:
        for _ in range(n):
            tg.create_task(one())
    return times


async def settle() -> None:
    """Let every runnable task run until it blocks (virtual time does not move)."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_window_holds_at_most_max_requests_under_200_concurrent_acquires() -> None:
    """200 concurrent acquires with RateLimit(20, 2.0): no 2 s window holds more than 20 admissions."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(20, 2.0), clock=clock)
    times = run_virtual(clock, lambda: admit_all(limiter, clock, 200))
    assert len(times) == 200
    assert max_in_any_window(times, 2.0) == 20
    # the margin really is kept: the 21st admission after any one is at least period + margin later
    ordered = sorted(times)
    assert all(b - a >= 2.0 + limiter.margin - 1e-6 for a, b in zip(ordered, ordered[20:], strict=False))


def test_burst_on_idle_limiter_is_admitted_at_once() -> None:
    """10 calls on an idle limiter are all admitted at t=0, not paced."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(100, 60.0), clock=clock)
    assert run_virtual(clock, lambda: admit_all(limiter, clock, 10)) == [0.0] * 10


def test_long_backlog_sustains_at_least_95_percent_of_the_quota() -> None:
    """A backlog of 2000 requests at the API's 100/60 s is served at >= 95 % of the allowed rate."""
    clock = VirtualClock()
    rate = RateLimit(100, 60.0)
    limiter = SlidingWindowLimiter(rate, clock=clock)
    times = run_virtual(clock, lambda: admit_all(limiter, clock, 2000))
    # After the first burst, admissions come at most max_requests per window: measure that steady state.
    sustained = (len(times) - rate.max_requests) / (times[-1] - times[0])
    assert sustained >= 0.95 * rate.max_requests / rate.period
    assert max_in_any_window(times, rate.period) == rate.max_requests


def test_waiters_are_admitted_in_arrival_order() -> None:
    """Waiters are served FIFO: 300 tasks started in order are admitted in that order."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(7, 1.0), clock=clock)
    order: list[int] = []

    async def main() -> None:
        async def one(i: int) -> None:
            await limiter.acquire()
            order.append(i)

        async with asyncio.TaskGroup() as tg:
            for i in range(300):
                tg.create_task(one(i))

    run_virtual(clock, main)
    assert order == list(range(300))


def test_cancelled_head_and_middle_waiters_take_no_slot() -> None:
    """Cancelling the sleeping head and a middle waiter frees their places; the others still get through."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(2, 10.0), margin=0.0, clock=clock)
    admitted: dict[str, float] = {}

    async def main() -> None:
        async def one(name: str) -> None:
            await limiter.acquire()
            admitted[name] = clock()

        await limiter.acquire()
        await limiter.acquire()  # window full until t=10
        tasks = {name: asyncio.create_task(one(name)) for name in "ABCDE"}
        await settle()
        assert limiter.waiting == 5
        tasks["A"].cancel()  # the head, asleep in the injected sleep
        tasks["C"].cancel()  # in the middle of the queue
        await settle()
        assert limiter.waiting == 3
        await asyncio.gather(tasks["B"], tasks["D"], tasks["E"])
        assert tasks["A"].cancelled()
        assert tasks["C"].cancelled()

    run_virtual(clock, main)
    # B and D take the two slots freed at t=10; E the one freed at t=20. A and C took nothing.
    assert admitted == {"B": 10.0, "D": 10.0, "E": 20.0}
    assert limiter.admitted == 5


def test_head_cancelled_after_being_woken_hands_over_to_the_next() -> None:
    """A waiter cancelled after it became head but before it ran passes the head on; no slot is taken."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=0.0, clock=clock)
    admitted: list[str] = []

    async def main() -> None:
        async def one(name: str) -> None:
            await limiter.acquire()
            admitted.append(name)

        await limiter.acquire()
        a, b, c = (asyncio.create_task(one(n)) for n in "ABC")
        await settle()
        await asyncio.sleep(10.0)  # A's sleep ends; A is scheduled to run after us
        await asyncio.sleep(0)  # A admits and resolves B's future; B is scheduled after us
        assert admitted == ["A"]
        b.cancel()  # B is head with a resolved future but has not run yet
        await asyncio.gather(a, c, return_exceptions=True)
        assert b.cancelled()

    run_virtual(clock, main)
    assert admitted == ["A", "C"]
    assert limiter.admitted == 3


def test_penalise_pauses_every_caller_sharing_the_limiter(caplog: pytest.LogCaptureFixture) -> None:
    """After penalise(30), nobody is admitted before t=30; one WARNING per pause, not per 429."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(100, 60.0), clock=clock)

    async def main() -> tuple[list[float], list[float]]:
        await limiter.acquire()
        limiter.penalise(30.0)
        limiter.penalise(10.0)  # a shorter pause inside the current one changes nothing
        limiter.penalise(30.0)  # concurrent 429s: same pause, no second warning
        assert limiter.paused_for == 30.0
        limiter.penalise(35.0)  # a later 429 may extend the pause, still without a second warning
        first = await admit_all(limiter, clock, 5)
        limiter.penalise(5.0)  # a new pause after the last one ended is warned about again
        return first, await admit_all(limiter, clock, 2)

    with caplog.at_level(logging.WARNING, logger="books_async.limiter"):
        first, second = run_virtual(clock, main)
    assert first == [35.0] * 5
    assert second == [40.0] * 2
    assert limiter.paused_for == 0.0
    assert [r.getMessage() for r in caplog.records] == [
        "rate limited by the API; pausing 30.0s",
        "rate limited by the API; pausing 5.0s",
    ]


def test_penalise_during_a_sleep_extends_the_wait() -> None:
    """A head already sleeping for the window re-checks on waking and honours a pause set meanwhile."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=0.0, clock=clock)

    async def main() -> float:
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await settle()  # the head sleeps until t=10
        await asyncio.sleep(5.0)
        limiter.penalise(45.0)  # until t=50
        await waiter
        return clock()

    assert run_virtual(clock, main) == 50.0


def test_penalise_ignores_non_positive_and_non_finite_waits(caplog: pytest.LogCaptureFixture) -> None:
    """A zero, negative, NaN or infinite retry_after never pauses (an infinite pause would hang forever)."""
    limiter = SlidingWindowLimiter(RateLimit(1, 1.0), clock=VirtualClock())
    with caplog.at_level(logging.WARNING, logger="books_async.limiter"):
        for bad in (0.0, -5.0, float("nan"), float("inf")):
            limiter.penalise(bad)
    assert limiter.paused_for == 0.0
    assert caplog.records == []


def test_default_margin_is_small_relative_to_the_period() -> None:
    """The margin is 2 % of the period within [0.1 s, 1 s], so throughput stays above 95 % at 100/60 s."""
    assert default_margin(60.0) == 1.0
    assert default_margin(10.0) == pytest.approx(0.2)
    assert default_margin(2.0) == pytest.approx(0.1)
    assert SlidingWindowLimiter(RateLimit(100, 60.0)).window == 61.0


@pytest.mark.parametrize(
    ("max_requests", "period"),
    [
        (0, 60.0),
        (-1, 60.0),
        (1.5, 60.0),
        (True, 60.0),
        (100, 0.0),
        (100, -1.0),
        (100, float("inf")),
        (100, "60"),
    ],
)
def test_rate_limit_rejects_non_positive_values(max_requests: object, period: object) -> None:
    """RateLimit with a non-positive or non-numeric field raises ConfigurationError naming the field."""
    with pytest.raises(ConfigurationError, match=r"RateLimit\.(max_requests|period)"):
        RateLimit(max_requests, period)  # type: ignore[arg-type]


@pytest.mark.parametrize("margin", [-0.1, float("nan"), float("inf")])
def test_limiter_rejects_a_bad_margin(margin: float) -> None:
    """A negative or non-finite margin is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="margin"):
        SlidingWindowLimiter(RateLimit(), margin=margin)


def test_registry_shares_one_limiter_per_key() -> None:
    """The same key gets the same limiter; another key (or another rate) gets a different one."""
    rate = RateLimit(100, 60.0)
    first = limiter_for_key("key-registry-a", rate)
    assert limiter_for_key("key-registry-a", RateLimit(100, 60.0)) is first
    assert limiter_for_key("key-registry-b", rate) is not first
    assert limiter_for_key("key-registry-a", RateLimit(50, 60.0)) is not first


def test_registry_never_stores_the_key() -> None:
    """Neither the registry's keys nor the limiter hold the API key in any form we can see."""
    api_key = "sk_live_registry_0123456789abcdef"
    limiter = limiter_for_key(api_key, RateLimit())
    for digest, _rate in _REGISTRY:
        assert api_key.encode() not in digest
        assert api_key not in repr(digest)
        assert api_key.encode().hex() not in digest.hex()
    assert api_key not in repr(limiter)
    assert api_key not in repr(vars(limiter))
    assert not any(obj is api_key for obj in gc.get_referents(_REGISTRY))


def test_registry_limiter_pauses_every_client_with_the_key() -> None:
    """A 429 seen through one client's handle pauses another client holding the same key."""
    clock = VirtualClock()
    shared = limiter_for_key("key-registry-pause", RateLimit(5, 1.0))
    other = limiter_for_key("key-registry-pause", RateLimit(5, 1.0))
    # The registry builds limiters on the real clock; swap in the virtual one for this test only.
    shared._clock = clock

    async def main() -> float:
        shared.penalise(12.0)
        await other.acquire()
        return clock()

    assert run_virtual(clock, main) == 12.0


def test_limiter_works_across_sequential_asyncio_run_calls() -> None:
    """One limiter serves two asyncio.run() calls in a row (real time), keeping the window across both."""
    rate = RateLimit(3, 0.1)
    limiter = SlidingWindowLimiter(rate)
    times: list[float] = []

    async def burst() -> None:
        times.extend(await admit_all(limiter, time.monotonic, 7))

    asyncio.run(burst())
    asyncio.run(burst())
    assert limiter.admitted == 14
    assert limiter.waiting == 0
    assert max_in_any_window(times, rate.period) <= rate.max_requests


def test_waiters_of_a_dead_loop_do_not_block_the_next_loop() -> None:
    """A loop closed without cancelling its waiters leaves nothing that blocks the next loop."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=0.0, clock=clock)
    dead = VirtualTimeLoop(clock)
    dead.run_until_complete(limiter.acquire())
    stranded = dead.create_task(limiter.acquire())
    dead.run_until_complete(asyncio.sleep(0))  # the stranded task is now the head, asleep
    assert limiter.waiting == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Task was destroyed but it is pending" is the point here
        dead.close()
        del stranded
    clock.now = 11.0

    async def main() -> None:
        await limiter.acquire()

    run_virtual(clock, main)
    assert limiter.admitted == 2


async def test_no_limiter_admits_everything_and_ignores_penalise() -> None:
    """NoLimiter admits at once and its penalise is a no-op (the retry loop waits out the 429 itself)."""
    limiter = NoLimiter()
    limiter.penalise(60.0)
    await asyncio.gather(*(limiter.acquire() for _ in range(500)))
    assert limiter.admitted == 500


def test_both_limiters_satisfy_the_protocol() -> None:
    """SlidingWindowLimiter and NoLimiter are Limiters without inheriting from anything of ours."""
    limiters: list[Limiter] = [SlidingWindowLimiter(RateLimit()), NoLimiter()]
    assert all(isinstance(lim, Limiter) for lim in limiters)


def _reference_admissions(arrivals: Sequence[float], rate: RateLimit, window: float) -> list[float]:
    """What an exact, greedy FIFO sliding window admits: a_k = max(arrival_k, a_(k-1), a_(k-N) + window)."""
    out: list[float] = []
    for k, arrival in enumerate(sorted(arrivals)):
        t = max(arrival, out[-1] if out else arrival)
        if k >= rate.max_requests:
            t = max(t, out[k - rate.max_requests] + window)
        out.append(t)
    return out


@settings(max_examples=150, deadline=None)
@given(
    max_requests=st.integers(1, 8),
    period=st.floats(0.1, 5.0),
    arrivals=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=60),
)
def test_window_invariant_holds_for_random_arrivals(
    max_requests: int, period: float, arrivals: list[float]
) -> None:
    """For any arrival pattern, no window holds too many admissions and nobody waits longer than needed."""
    clock = VirtualClock()
    rate = RateLimit(max_requests, period)
    limiter = SlidingWindowLimiter(rate, clock=clock)
    times: list[float] = []

    async def arrive(at: float) -> None:
        await asyncio.sleep(at)
        await limiter.acquire()
        times.append(clock())

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            for at in arrivals:
                tg.create_task(arrive(at))

    run_virtual(clock, main)
    assert max_in_any_window(times, period) <= max_requests
    expected = _reference_admissions(arrivals, rate, limiter.window)
    assert sorted(times) == pytest.approx(expected, abs=1e-6)

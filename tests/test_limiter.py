"""Tests for books_async._limiter: the any-window guarantee, bursts, FIFO, cancellation, pauses, registry.

Nothing here asserts elapsed wall time. Most scenarios run on a virtual-time event loop: its clock only
moves when every task is blocked, and then jumps straight to the next timer, so `asyncio.sleep(60)` costs
nothing and admission times are exact. The limiter gets that loop's clock and the real `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from books_async import BooksClient, RateLimitError
from books_async._config import RateLimit
from books_async._exceptions import ConfigurationError
from books_async._limiter import (
    _REGISTRY,
    Limiter,
    NoLimiter,
    ReleasingLimiter,
    SlidingWindowLimiter,
    WaiterQueue,
    default_margin,
    limiter_for_key,
)
from books_async.sandbox import Sandbox, SeedIds
from tests.factories import invoice
from tests.virtual_time import VirtualClock, VirtualTimeLoop, max_in_any_window, run_virtual


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


def test_long_backlog_is_admitted_as_soon_as_each_window_allows() -> None:
    """A backlog of 2000 at the API's 100/60 s: admission k+100 comes exactly one window (61 s) after
    admission k, never later; what that gives against a real server is benchmark B4's to measure."""
    clock = VirtualClock()
    rate = RateLimit(100, 60.0)
    limiter = SlidingWindowLimiter(rate, clock=clock)
    times = run_virtual(clock, lambda: admit_all(limiter, clock, 2000))
    assert times == pytest.approx(_reference_admissions([0.0] * 2000, rate, limiter.window), abs=1e-6)
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
        await asyncio.sleep(10.0)  # A's sleep ends too
        # Poll rather than wait on an Event: an Event would wake us only after B had run.
        while not admitted:  # noqa: ASYNC110 - A's wait path takes a few loop steps; count none
            await asyncio.sleep(0)
        # A admitted in a step that also resolved B's future; B's wake-up is scheduled behind this step.
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
        limiter.release()  # must not try to wake the dead loop's head
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
    """SlidingWindowLimiter and NoLimiter are ReleasingLimiters without inheriting from anything of ours."""
    limiters: list[Limiter] = [SlidingWindowLimiter(RateLimit()), NoLimiter()]
    assert all(isinstance(lim, Limiter) for lim in limiters)
    assert all(isinstance(lim, ReleasingLimiter) for lim in limiters)
    NoLimiter().release()  # a no-op

    class AcquireOnly:  # e.g. a cross-process limiter: the base protocol still has no release()
        async def acquire(self) -> None: ...

        def penalise(self, retry_after: float) -> None: ...

    assert isinstance(AcquireOnly(), Limiter)
    assert not isinstance(AcquireOnly(), ReleasingLimiter)


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


# ---- release(): slots counted from the answer ----------------------------------------------------------


async def send_all(
    limiter: SlidingWindowLimiter,
    clock: VirtualClock,
    n: int,
    uplink: Callable[[int], float],
    downlink: Callable[[int], float],
    arrivals: Sequence[float] = (),
) -> tuple[list[float], list[float]]:
    """Simulate n requests through the limiter: acquire, reach the server after uplink(k), answer back
    after downlink(k), release(). k is the admission index. Returns (admission times, server stamps)."""
    admitted: list[float] = []
    stamps: list[float] = []

    async def one(at: float) -> None:
        await asyncio.sleep(at)
        await limiter.acquire()
        k = len(admitted)
        admitted.append(clock())
        up, down = uplink(k), downlink(k)
        await asyncio.sleep(up)
        stamps.append(clock())  # the server counts it now
        await asyncio.sleep(down)
        limiter.release()

    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            tg.create_task(one(arrivals[i] if i < len(arrivals) else 0.0))
    return admitted, stamps


@settings(max_examples=120, deadline=None)
@given(
    max_requests=st.integers(1, 20),
    # from 0.1 s: every round trip here (<= 70 ms) ends within the period, so the leak cap never fires and
    # margin=0 shows the margin plays no part (the leak-cap test covers slower requests)
    period=st.floats(0.1, 3.0),
    # transit delays in admission order: the first burst over fresh connections is slow (up to 60 ms),
    # later ones are whatever hypothesis picks; all are > 1 µs, as any real network's are
    first_burst=st.lists(st.floats(0.03, 0.06), min_size=1, max_size=20),
    later=st.lists(st.floats(1e-4, 0.06), min_size=1, max_size=30),
    downlinks=st.lists(st.floats(1e-4, 0.01), min_size=1, max_size=10),
    arrivals=st.lists(st.floats(0.0, 5.0), max_size=80),
    n=st.integers(1, 120),
)
def test_released_slots_keep_every_server_window_within_the_quota(
    max_requests: int,
    period: float,
    first_burst: list[float],
    later: list[float],
    downlinks: list[float],
    arrivals: list[float],
    n: int,
) -> None:
    """With release() on each answer, no window of `period` at the SERVER holds more than max_requests,
    whatever the transit delays (a slow first burst, then fast or jittery), and no margin is needed."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(max_requests, period), margin=0.0, clock=clock)

    def uplink(k: int) -> float:
        return first_burst[k % len(first_burst)] if k < max_requests else later[k % len(later)]

    def downlink(k: int) -> float:
        return downlinks[k % len(downlinks)]

    _, stamps = run_virtual(clock, lambda: send_all(limiter, clock, n, uplink, downlink, arrivals))
    assert len(stamps) == n
    assert max_in_any_window(stamps, period) <= max_requests
    assert limiter.waiting == 0
    assert limiter.released == n


def test_slow_first_burst_that_broke_the_margin_is_now_safe() -> None:
    """The measured failure: 20 at once on fresh connections reach the server 37-46 ms late, the next 20 on
    warm ones within 1 ms. Counted from admission with a 20 ms margin the server saw over 20 in 1 s; counted
    from the answer it sees 20."""
    rate = RateLimit(20, 1.0)

    def uplink(k: int) -> float:
        return 0.037 + 0.009 * k / 19 if k < 20 else 0.0005

    def run(release: bool) -> list[float]:
        clock = VirtualClock()
        limiter = SlidingWindowLimiter(rate, margin=0.02, clock=clock)
        if not release:
            limiter.release = lambda: None  # type: ignore[method-assign]
        return run_virtual(clock, lambda: send_all(limiter, clock, 60, uplink, lambda k: 0.0005))[1]

    assert max_in_any_window(run(release=False), rate.period) > 20  # the bug, reproduced
    assert max_in_any_window(run(release=True), rate.period) == 20


def test_released_backlog_reuses_each_slot_one_period_after_its_answer() -> None:
    """RateLimit(50, 1.0), 2 ms round trip, a backlog of 1000: admission k+50 comes exactly one period after
    answer k (1.002 s after admission k), where the 0.1 s leak-cap margin alone would make it 1.1 s; B4
    measures the rate this gives against the sandbox."""
    rate = RateLimit(50, 1.0)

    def run(release: bool) -> tuple[list[float], list[float]]:
        clock = VirtualClock()
        limiter = SlidingWindowLimiter(rate, clock=clock)
        if not release:
            limiter.release = lambda: None  # type: ignore[method-assign]
        return run_virtual(clock, lambda: send_all(limiter, clock, 1000, lambda k: 0.001, lambda k: 0.001))

    def gaps(admitted: list[float]) -> list[float]:
        return [b - a for a, b in zip(admitted, admitted[rate.max_requests :], strict=False)]

    admitted, stamps = run(release=True)
    assert gaps(admitted) == pytest.approx([1.002] * (1000 - rate.max_requests), abs=1e-6)
    assert max_in_any_window(stamps, rate.period) == rate.max_requests
    without, _ = run(release=False)  # the leak cap alone: why release() exists
    assert gaps(without) == pytest.approx([1.1] * (1000 - rate.max_requests), abs=1e-6)


def test_release_wakes_a_waiting_head_to_replan() -> None:
    """A head waiting for an in-flight slot (admission + period + margin) is woken by release() and re-plans
    for the earlier release + period, instead of sleeping out its first plan."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=1.0, clock=clock)

    async def main() -> float:
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await settle()  # the head waits until t=11
        await asyncio.sleep(0.002)  # the answer arrives after a 2 ms round trip
        limiter.release()
        await waiter
        return clock()

    assert run_virtual(clock, main) == pytest.approx(10.002)


def test_release_wakes_the_head_through_the_injected_sleep_too() -> None:
    """With an injected sleep (here one that only ends when told), release() alone wakes the head; the
    losing sleep is cancelled, not left running."""
    clock = VirtualClock()
    sleeps: list[asyncio.Future[None]] = []

    async def forever(delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeps.append(fut)
        await fut

    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=0.0, clock=clock, sleep=forever)

    async def main() -> None:
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await settle()
        assert len(sleeps) == 1
        clock.now = 10.5  # time passes without the loop noticing; only a release can wake the head
        limiter.release()  # settled at 10.5: the head re-checks, sees it occupied until 20.5, waits again
        await settle()
        assert len(sleeps) == 2
        assert sleeps[0].cancelled()
        clock.now = 21.0
        limiter.release()  # one more release (nothing in flight): counted, and wakes the head again
        await settle()
        assert not waiter.done()  # the second settled slot holds until 31.0
        clock.now = 31.0
        sleeps[-1].set_result(None)  # this time the sleep ends first
        await waiter
        assert len(sleeps) == 3

    run_virtual(clock, main)
    assert limiter.admitted == 2


def test_head_cancelled_as_a_release_wakes_it_takes_no_slot_and_hands_over() -> None:
    """Cancel the head in the same step as the release that wakes it: it takes no slot, the next waiter
    becomes head and is admitted at release + period; no task or wake future is left behind."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(1, 10.0), margin=1.0, clock=clock)
    admitted: dict[str, float] = {}

    async def main() -> None:
        async def one(name: str) -> None:
            await limiter.acquire()
            admitted[name] = clock()

        await limiter.acquire()
        a, b = (asyncio.create_task(one(n)) for n in "AB")
        await settle()
        await asyncio.sleep(0.002)
        limiter.release()
        a.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        assert a.cancelled()
        # a head cancelled while waiting, then a release with nobody waiting: nothing breaks
        c = asyncio.create_task(one("C"))
        await settle()
        c.cancel()
        await asyncio.gather(c, return_exceptions=True)
        limiter.release()
        await settle()
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no orphaned sleeper
        assert limiter._queue._wake is None

    run_virtual(clock, main)
    assert admitted == {"B": pytest.approx(10.002)}
    assert limiter.admitted == 2
    assert limiter.waiting == 0


def test_acquire_without_release_falls_back_to_the_margin_and_leaks_nothing() -> None:
    """Admissions never released stop counting at admission + period + margin (the old behaviour), so a
    caller that never releases cannot leak slots; a slow request released after that is counted again."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(RateLimit(2, 1.0), margin=0.1, clock=clock)

    async def main() -> list[float]:
        times = await admit_all(limiter, clock, 6)  # never released
        assert limiter.occupied == 2
        await asyncio.sleep(1.1)
        assert limiter.occupied == 0
        assert len(limiter._in_flight) == 0  # expired entries are dropped, not kept forever
        # a request still in flight past the leak cap, answered at last: counted from its answer
        await limiter.acquire()
        await asyncio.sleep(1.5)
        assert limiter.occupied == 0
        limiter.release()
        assert limiter.occupied == 1
        t0 = clock()
        await admit_all(limiter, clock, 2)
        return [*times, clock() - t0]

    times = run_virtual(clock, main)
    assert times[:6] == pytest.approx([0.0, 0.0, 1.1, 1.1, 2.2, 2.2])
    assert times[6] == pytest.approx(1.0)  # the second of the two waited for the released slot


def test_mixing_released_and_unreleased_callers_keeps_the_server_window() -> None:
    """Callers that never release share the limiter with ones that do: releases move the earliest
    in-flight admission, which only over-counts, so the server's window still holds."""
    clock = VirtualClock()
    rate = RateLimit(10, 1.0)
    limiter = SlidingWindowLimiter(rate, clock=clock)
    stamps: list[float] = []

    async def releasing() -> None:
        await limiter.acquire()
        await asyncio.sleep(0.04)
        stamps.append(clock())
        await asyncio.sleep(0.001)
        limiter.release()

    async def leaking() -> None:
        await limiter.acquire()
        await asyncio.sleep(0.05)  # reaches the server within the margin, never releases
        stamps.append(clock())

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            for i in range(300):
                tg.create_task(leaking() if i % 3 == 0 else releasing())

    run_virtual(clock, main)
    assert len(stamps) == 300
    assert max_in_any_window(stamps, rate.period) <= rate.max_requests


# ---- the waiter queue both limiters share ---------------------------------------------------------------


def test_fail_waiting_fails_everyone_behind_the_head_and_the_queue_goes_on() -> None:
    """fail_waiting() raises a fresh error in each caller queued behind the head; the head keeps its turn,
    and the queue serves later callers as before."""
    clock = VirtualClock()
    queue = WaiterQueue(asyncio.sleep)
    outcomes: dict[str, BaseException | None] = {}

    async def main() -> None:
        head_in = asyncio.Event()
        head_may_leave = asyncio.Event()

        async def head() -> None:
            async with queue.turn():
                head_in.set()
                await head_may_leave.wait()
                assert queue.fail_waiting(lambda: RuntimeError("redis froze")) == 3

        async def waiter(name: str) -> None:
            try:
                async with queue.turn():
                    outcomes[name] = None
            except RuntimeError as exc:
                outcomes[name] = exc

        first = asyncio.create_task(head())
        await head_in.wait()
        behind = [asyncio.create_task(waiter(n)) for n in "ABC"]
        await settle()
        assert len(queue) == 4
        head_may_leave.set()
        await asyncio.gather(first, *behind)
        assert len(queue) == 0
        await waiter("late")

    run_virtual(clock, main)
    errors = [outcomes[n] for n in "ABC"]
    assert all(isinstance(e, RuntimeError) for e in errors)
    assert len({id(e) for e in errors}) == 3  # one instance each: tracebacks do not pile onto one object
    assert outcomes["late"] is None


# ---------------------------------------------------------------------------- through the SDK, at the sandbox
# Real time is inherent to a quota: short windows, and assertions on what the server saw (its request log).


def statuses(sandbox: Sandbox, org_id: str | None = None) -> list[int]:
    """The statuses the sandbox answered, oldest first (only ``org_id``'s when given)."""
    return [s for _, org, _, _, s in sandbox.request_log if org_id is None or org == org_id]


def test_max_in_window_counts_half_open_windows() -> None:
    """The sweep treats two requests exactly one period apart as in different windows, like the server."""
    assert max_in_any_window([], 1.0, closed=False) == 0
    assert max_in_any_window([0.0, 1.0, 2.0], 1.0, closed=False) == 1
    assert max_in_any_window([0.0, 0.5, 0.99, 1.0, 1.2], 1.0, closed=False) == 4
    assert max_in_any_window([3.0, 0.1, 0.2], 1.0, closed=False) == 2  # unsorted input


# ------------------------------------------------------------------------------------------ rate limit


@pytest.mark.sandbox(rate_limit=(5, 2.0))
async def test_rate_limit_is_shared_by_an_orgs_keys(sandbox: Sandbox) -> None:
    """Five calls over the owner and member keys spend the org's quota; the sixth is a RateLimitError."""
    options = {"base_url": sandbox.base_url, "rate_limit": None, "max_retries": 0}
    async with (
        BooksClient(sandbox.api_key, **options) as owner,  # type: ignore[arg-type]
        BooksClient(sandbox.member_key, **options) as member,  # type: ignore[arg-type]
        BooksClient(sandbox.other_org_key, **options) as other,  # type: ignore[arg-type]
    ):
        for books in (owner, member, owner, member, member):
            await books.invoices.list()
        with pytest.raises(RateLimitError) as err:
            await owner.validate.context()
        # Another organisation has a quota of its own.
        assert (await other.validate.context()).org_id == sandbox.other_org_id
    retry_after = err.value.retry_after
    assert retry_after is not None
    assert retry_after == int(retry_after)
    assert 1 <= retry_after <= 2
    assert err.value.status == 429
    assert owner.rate_limited == 1
    assert statuses(sandbox, sandbox.org_id) == [200] * 5 + [429]


@pytest.mark.sandbox(rate_limit=(5, 1.0))
@pytest.mark.books(rate_limit=None)
async def test_rate_limit_retry_waits_then_succeeds(sandbox: Sandbox, books: BooksClient) -> None:
    """With retries on (and no client-side limit) a 429 is waited out and the call then succeeds."""
    for _ in range(5):
        await books.invoices.list()
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert books.rate_limited >= 1
    log = statuses(sandbox, sandbox.org_id)
    assert log[:6] == [200] * 5 + [429]
    assert log[-1] == 200


@pytest.mark.sandbox(rate_limit=(20, 1.0))
async def test_client_limiter_keeps_every_server_window_under_the_quota(
    sandbox: Sandbox, seed: SeedIds
) -> None:
    """120 concurrent calls through ``RateLimit(20, 1.0)``: no 429, no 1 s window at the server over 20."""
    async with BooksClient(
        sandbox.api_key, base_url=sandbox.base_url, rate_limit=RateLimit(20, 1.0)
    ) as books:
        known = await books.invoices.create(invoice(seed.customer_b2c))
        calls = [books.invoices.list() if i % 2 else books.invoices.get(known.id) for i in range(120)]
        results = await asyncio.gather(*calls)
    assert len(results) == 120
    assert books.rate_limited == 0
    mine = [(t, s) for t, org, _, _, s in sandbox.request_log if org == sandbox.org_id]
    assert len(mine) == 121
    assert [s for _, s in mine].count(429) == 0
    assert max_in_any_window([t for t, _ in mine], 1.0, closed=False) <= 20

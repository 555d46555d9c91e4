"""Time without waiting: sleeps that are recorded instead of slept, a virtual-time event loop, and the
window count the limiter tests assert.

``RecordingClient`` is a ``BooksClient`` whose retry waits go to ``waits`` (through the client's private
``_sleep`` hook) and cost nothing, so a test asserts the waits it asked for instead of sitting through them.
``run_virtual`` runs a coroutine on a loop whose clock jumps straight to the next timer whenever every task
is blocked: ``asyncio.sleep(60)`` costs nothing and admission times are exact. ``RecordingSleep`` records
what a limiter asked to wait, then sleeps it for real (for limiters whose time comes from a real server).
"""

from __future__ import annotations

import asyncio
import bisect
import selectors
from collections.abc import Callable, Coroutine, Sequence
from typing import TypeVar

from books_async import BooksClient
from books_async._retry import RetryPolicy

__all__ = [
    "RecordingClient",
    "RecordingSleep",
    "VirtualClock",
    "VirtualTimeLoop",
    "assert_backed_off",
    "backoff_ceilings",
    "max_in_any_window",
    "run_virtual",
]

T = TypeVar("T")


class RecordingClient(BooksClient):
    """A client whose retry waits are recorded in ``waits`` instead of slept through."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.waits: list[float] = []
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    async def _sleep(self, seconds: float) -> None:  # type: ignore[override]
        self.waits.append(seconds)
        await asyncio.sleep(0)  # still a point where the task yields, as a real wait is


def backoff_ceilings(retries: int, policy: RetryPolicy | None = None) -> list[float]:
    """The most each of the first ``retries`` jittered backoff waits may be under ``policy`` (the default)."""
    policy = policy or RetryPolicy()
    return [min(policy.backoff_max, policy.backoff_base * 2.0**attempt) for attempt in range(retries)]


def assert_backed_off(waits: Sequence[float], retries: int) -> None:
    """One recorded wait per retry, each within the default policy's jittered backoff ceiling for it."""
    assert len(waits) == retries, waits
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(waits, backoff_ceilings(retries), strict=True))


class RecordingSleep:
    """asyncio.sleep that records what it was asked to wait (and sets ``called``) before sleeping it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.called = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.waits.append(delay)
        self.called.set()
        await asyncio.sleep(delay)


def max_in_any_window(times: Sequence[float], width: float, *, closed: bool = True) -> int:
    """The most events in any window ``[t, t + width]``, or ``[t, t + width)`` when not ``closed`` (as the
    sandbox counts its quota: two requests exactly one period apart are in different windows)."""
    ordered = sorted(times)
    edge = bisect.bisect_right if closed else bisect.bisect_left
    return max((edge(ordered, t + width) - i for i, t in enumerate(ordered)), default=0)


class VirtualClock:
    """Seconds of virtual time, shared by a VirtualTimeLoop and the code under test."""

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
    """Run ``main()`` to completion on a fresh virtual-time loop driven by ``clock``."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        return runner.run(main())

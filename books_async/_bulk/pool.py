"""The worker pool every fan-out job runs on: ``concurrency`` workers pulling from the input, in order.

10,000 items never mean 10,000 tasks. Every :class:`~books_async.BooksError` an item meets is that item's
outcome; a bug (anything else) stops the job gently, no new item starts, and propagates with the partial
result; the ``stop`` event ends the job the same way, leaving the untouched items cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from books_async._bulk.outcomes import FATAL, unknown
from books_async._bulk.results import BulkResult, Outcomes, Progress, check_concurrency, check_progress
from books_async._exceptions import BooksError

__all__ = ["fan_out_writes", "nothing_to_prepare", "run_pool"]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result


async def run_pool(
    items: Sequence[I],
    work: Callable[[I], Awaitable[T]],
    *,
    concurrency: int,
    progress: Progress[I, T] | None,
    stop: asyncio.Event | None,
    on_bug: Callable[[I, Exception], BooksError] | None = None,
) -> BulkResult[T]:
    """Run ``work`` on every item with at most ``concurrency`` at a time; item failures become outcomes.

    A bug (not a ``BooksError``) stops the job: no new item starts, those in flight finish, and the bug is
    raised with the partial result attached. ``on_bug`` gives the outcome of the item the bug hit (a write
    may have been sent); without it, that item stays unsettled.
    """
    check_concurrency(concurrency)
    outcomes: Outcomes[I, T] = Outcomes(items, progress)
    # One shared iterator: each worker's next() takes a distinct item, so the workers are the semaphore.
    queue = iter(enumerate(items))
    fatal: list[BooksError] = []
    bugs: list[Exception] = []

    async def worker() -> None:
        try:
            for index, item in queue:
                if bugs or (stop is not None and stop.is_set()):
                    return  # untouched items stay None: cancelled
                if fatal:
                    outcomes.settle(index, fatal[0])
                    continue
                try:
                    outcome: T | BooksError = await work(item)
                except BooksError as exc:  # item failure is data; bugs and cancellation propagate
                    if isinstance(exc, FATAL) and not fatal:
                        fatal.append(exc)
                    outcome = exc
                except Exception as exc:
                    if on_bug is not None:
                        outcomes.settle_quietly(index, on_bug(item, exc))
                    raise
                outcomes.settle(index, outcome)
        except Exception as exc:  # a bug, ours or the progress callback's: see the docstring
            bugs.append(exc)

    async with asyncio.TaskGroup() as tg:
        for _ in range(min(concurrency, len(items))):
            tg.create_task(worker())
    if bugs:
        raise outcomes.interrupted(bugs[0])
    return outcomes.result()


async def fan_out_writes(
    items: list[I],
    prepare: Callable[[], Awaitable[None]],
    work: Callable[[I], Awaitable[T]],
    path: Callable[[I], str],
    *,
    base_url: str,
    concurrency: int,
    progress: Progress[I, T] | None,
    stop: asyncio.Event | None,
) -> BulkResult[T]:
    """:func:`run_pool` for one POST per item: ``prepare`` first, and a bug leaves its item unknown.

    ``path`` names each item's request, for the :class:`~books_async.OutcomeUnknownError` of an item a bug
    interrupted while its write was under way.
    """
    check_concurrency(concurrency)
    check_progress(progress)
    if items and not (stop is not None and stop.is_set()):
        try:
            await prepare()
        except FATAL as exc:  # a bad key, say: no item can get past it
            failed: Outcomes[I, T] = Outcomes(items, progress)
            failed.settle_all((index, exc) for index in range(len(items)))
            return failed.result()
        except Exception as bug:  # nothing was sent yet: every item is untried
            untried: Outcomes[I, T] = Outcomes(items, None)
            raise untried.interrupted(bug)  # noqa: B904  # the bug itself, not a new error

    def on_bug(item: I, bug: Exception) -> BooksError:
        where = path(item)
        return unknown(
            f"POST {where}: the job stopped on an unexpected error ({type(bug).__name__}) while this "
            "request was under way, so the API may have carried it out. Look before sending it again.",
            method="POST",
            url=base_url + where,
            cause=bug,
        )

    return await run_pool(items, work, concurrency=concurrency, progress=progress, stop=stop, on_bug=on_bug)


async def nothing_to_prepare() -> None:
    """What a job needs before its first item when it needs nothing."""

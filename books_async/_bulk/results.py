"""What a bulk job reports: :class:`BulkResult` at the end, a :class:`Settled` per item as it goes.

Public through :mod:`books_async.bulk`; here so that the job modules (``bulk``, ``_bulk.create``) share them.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Generic, TypeVar

import attrs

from books_async._bulk.outcomes import attach_partial
from books_async._exceptions import BooksError, ConfigurationError, OutcomeUnknownError, WriteAcceptedError

__all__ = [
    "BulkResult",
    "Outcomes",
    "Progress",
    "Settled",
    "check_concurrency",
    "check_positive",
    "check_progress",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result
I_co = TypeVar("I_co", covariant=True)


@attrs.frozen(repr=False)
class BulkResult(Generic[T_co]):
    """What a bulk helper did: one outcome per input item, in input order.

    ``results[i]`` is the value for item ``i`` (e.g. the created :class:`~books_async.models.Invoice`), the
    :class:`~books_async.BooksError` it failed with, or ``None`` if it was never attempted because the job
    was stopped.
    """

    results: tuple[T_co | BooksError | None, ...]
    existing: frozenset[int] = attrs.field(default=frozenset(), kw_only=True)
    """The input indexes of items that were not created because their number was already stored, by a
    document matching the draft (a rerun of a job): their values are the stored documents."""

    @property
    def total(self) -> int:
        """How many items were given."""
        return len(self.results)

    @property
    def values(self) -> list[T_co]:
        """The successful values, in input order (failed and cancelled items left out)."""
        return [r for r in self.results if r is not None and not isinstance(r, BooksError)]

    @property
    def errors(self) -> dict[int, BooksError]:
        """Each failed item's input index and error."""
        return {i: r for i, r in enumerate(self.results) if isinstance(r, BooksError)}

    @property
    def unknown(self) -> dict[int, BooksError]:
        """The failed items whose request may have been carried out, or was: look before sending them again.

        :class:`~books_async.OutcomeUnknownError` (it may have happened, and no read-back proved it) and
        :class:`~books_async.WriteAcceptedError` (it happened; only its answer was unreadable). Every other
        failed item was refused or never sent, so nothing changed: send it again once its error is dealt
        with (``[items[i] for i in result.errors if i not in result.unknown]``).
        """
        return {
            i: r
            for i, r in enumerate(self.results)
            if isinstance(r, OutcomeUnknownError | WriteAcceptedError)
        }

    @property
    def succeeded(self) -> int:
        """How many items succeeded."""
        return sum(1 for r in self.results if r is not None and not isinstance(r, BooksError))

    @property
    def created(self) -> int:
        """How many items succeeded by being created now (``succeeded`` minus those already stored)."""
        return self.succeeded - len(self.existing)

    @property
    def failed(self) -> int:
        """How many items failed."""
        return sum(1 for r in self.results if isinstance(r, BooksError))

    @property
    def cancelled(self) -> int:
        """How many items were never attempted because the job was stopped."""
        return sum(1 for r in self.results if r is None)

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(r is not None and not isinstance(r, BooksError) for r in self.results)

    def __repr__(self) -> str:
        # Never the values: a result can hold 10,000 invoices.
        existed = f" existing={len(self.existing)}" if self.existing else ""
        return (
            f"<BulkResult total={self.total} succeeded={self.succeeded}{existed} failed={self.failed} "
            f"cancelled={self.cancelled}>"
        )


@attrs.frozen(kw_only=True)
class Settled(Generic[I_co, T_co]):
    """One item's outcome, handed to a bulk helper's ``progress`` callback the moment it is known.

    ``progress=records.append`` keeps a job's own record, item by item, even if the job is interrupted.
    """

    index: int
    """The item's position in the input."""
    item: I_co
    """The input item itself."""
    outcome: T_co | BooksError
    """Its value, or the error it met (what ``BulkResult.results[index]`` will hold)."""
    done: int
    """Items settled so far, this one included."""
    total: int
    """Items given."""
    existed: bool = False
    """The item was not created: its number was already stored, by a document matching it (a rerun); the
    outcome is the stored document."""


Progress = Callable[[Settled[I, T]], object]
"""``progress(settled)``: a plain function, called on the event loop once per item as each settles."""


def check_progress(progress: object) -> None:
    """Refuse, before any request, a ``progress`` that cannot be called as a plain function."""
    if progress is None:
        return
    if not callable(progress):
        raise ConfigurationError(f"progress must be a callable taking a Settled; got {progress!r}.")
    if inspect.iscoroutinefunction(progress) or inspect.iscoroutinefunction(
        getattr(progress, "__call__", None)  # noqa: B004  # an object whose __call__ is async
    ):
        raise ConfigurationError(
            "progress must be a plain function: it is called on the event loop as each item settles, and "
            "never awaited. To do async work per item, put the Settled on an asyncio.Queue and consume it "
            "in a task of your own."
        )


class Outcomes(Generic[I, T]):
    """Collects per-item outcomes while a job runs, and calls the progress callback."""

    def __init__(self, items: Sequence[I], progress: Progress[I, T] | None) -> None:
        check_progress(progress)
        self.items = items
        self.slots: list[T | BooksError | None] = [None] * len(items)
        self.existed: set[int] = set()
        self.done = 0
        self._progress = progress

    def settle(self, index: int, outcome: T | BooksError, *, existed: bool = False) -> None:
        self.slots[index] = outcome
        if existed:
            self.existed.add(index)
        self._report(index, outcome)

    def settle_all(
        self, outcomes: Iterable[tuple[int, T | BooksError]], *, existed: Collection[int] = ()
    ) -> None:
        """Settle several items at once: all are recorded before ``progress`` hears of the first."""
        settled = list(outcomes)
        for index, outcome in settled:
            self.slots[index] = outcome
        self.existed.update(i for i, _ in settled if i in existed)
        for index, outcome in settled:
            self._report(index, outcome)

    def _report(self, index: int, outcome: T | BooksError) -> None:
        self.done += 1
        if self._progress is not None:
            item = self.items[index]
            settled = Settled(
                index=index,
                item=item,
                outcome=outcome,
                done=self.done,
                total=len(self.items),
                existed=index in self.existed,
            )
            answer = self._progress(settled)
            if inspect.isawaitable(answer):
                if inspect.iscoroutine(answer):
                    answer.close()  # never awaited: closed here, not warned about at garbage collection
                raise TypeError(
                    "progress returned an awaitable: it is called as a plain function and never awaited. "
                    "Pass a plain function (put the Settled on an asyncio.Queue for async work)."
                )

    def settle_quietly(self, index: int, outcome: T | BooksError) -> None:
        """Settle an item while a bug is already on its way out: a second one from ``progress`` is dropped."""
        with contextlib.suppress(Exception):
            self.settle(index, outcome)

    def result(self) -> BulkResult[T]:
        return BulkResult(tuple(self.slots), existing=frozenset(self.existed))

    def interrupted(self, bug: Exception) -> Exception:
        """``bug``, carrying the partial result: what a job that met a bug raises."""
        result = self.result()
        return attach_partial(
            bug, result, succeeded=result.succeeded, failed=result.failed, cancelled=result.cancelled
        )


def check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer; got {value!r}.")


def check_concurrency(concurrency: object) -> None:
    check_positive("concurrency", concurrency)

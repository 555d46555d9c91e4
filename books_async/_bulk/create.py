"""One bulk create: local checks, packing under the body limits, a pool of senders, per-chunk failures.

A bulk create is atomic on the server, so a chunk's failure is narrowed down to the items that caused it,
and a chunk whose outcome is unknown is reconciled by number before anything is sent again (see
:meth:`books_async.bulk.Bulk.create_invoices` for the rules, :mod:`books_async._bulk.sizing` for the limits).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from books_async import _serde
from books_async._bulk.existing import Existing, Key
from books_async._bulk.results import BulkResult, Outcomes, Progress, check_concurrency
from books_async._bulk.sizing import BodyLimits
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    BooksError,
    ConfigurationError,
    ConflictError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
    WriteAcceptedError,
)
from books_async._request_checks import validate_request
from books_async._resource import MAX_BODY_BYTES, Resource, accepted_write_error

if TYPE_CHECKING:
    from books_async._client import BooksClient

__all__ = ["Creator"]

log = logging.getLogger("books_async.bulk")

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result

# Each item of a bulk create is sent at most this many times: the first send, plus resends after a 503 or
# 429 that exhausted the client's retries (nothing was processed), or after an unknown outcome whose
# look-up found nothing. Bounded so a persistently failing API ends the job instead of looping.
_MAX_SENDS = 3

# How many items are checked and measured between two yields to the event loop.
_YIELD_EVERY = 1000


class Creator(Generic[I, T]):
    """One bulk-create job: checks, packing, a pool of senders, and per-chunk failure handling."""

    def __init__(
        self,
        items: list[I],
        *,
        client: BooksClient,
        resource: Resource,
        kind: Literal["invoice", "quote"],
        model: type,
        response_type: type[list[T]],
        number: Callable[[I], str | None],
        key: Callable[[I], Key | None],
        find: Callable[[BooksClient, list[I]], Awaitable[dict[Key, T]]],
        lookup: Callable[[BooksClient, list[I]], Awaitable[dict[Key, T]]],
        get: Callable[[str], Awaitable[T]],
        rerun: bool | None,
        limits: BodyLimits,
        concurrency: int,
        max_items: int | None,
        max_bytes: int,
        max_answer_bytes: int | None,
        progress: Progress[I, T] | None,
        stop: asyncio.Event | None,
    ) -> None:
        check_concurrency(concurrency)
        if rerun not in (None, True, False):
            raise ConfigurationError(f"rerun must be None, True or False; got {rerun!r}.")
        if max_items is not None and (isinstance(max_items, bool) or max_items < 1):
            raise ConfigurationError(f"max_items_per_request must be a positive integer; got {max_items!r}.")
        if isinstance(max_bytes, bool) or not 2 < max_bytes <= MAX_BODY_BYTES:
            raise ConfigurationError(
                f"max_request_bytes must be from 3 to {MAX_BODY_BYTES:,} (the API limit); got {max_bytes!r}."
            )
        if max_answer_bytes is not None and (isinstance(max_answer_bytes, bool) or max_answer_bytes < 1):
            raise ConfigurationError(
                f"max_answer_bytes must be a positive integer or None; got {max_answer_bytes!r}."
            )
        self.max_bytes = max_bytes
        # An answer over the client's own read cap would fail after the batch was created: size under both.
        cap = resource._max_response_bytes
        self.max_answer_bytes = None if max_answer_bytes is None else min(max_answer_bytes, cap)
        self.limits = limits
        self.items = items
        self.kind = kind
        self.model = model
        """The request model each item is checked against (what lets a dict item be checked like one)."""
        self.path = resource._paths["create"]
        self.url = client.base_url + self.path
        self._client = client
        self._resource = resource
        self._response_type = response_type
        self._number = number
        self._key = key
        self._find = find
        self.concurrency = concurrency
        self.max_items = max_items
        self.stop = stop
        self.outcomes: Outcomes[I, T] = Outcomes(items, progress)
        self.rerun = rerun
        self.existing: Existing[I, T] = Existing(
            client=client,
            items=items,
            number=number,
            key=key,
            lookup=lookup,
            get=get,
            outcomes=self.outcomes,
            kind=kind,
            path=self.path,
            url=self.url,
        )
        self.sends = [0] * len(items)
        """Sends of each item that may have created it (an atomic refusal does not count)."""
        self.unknown = [False] * len(items)
        """Whether a send of the item had an unknown outcome, so a later 409 may be our own doing."""
        self.encoded = [b""] * len(items)
        """Each item's JSON, checked and encoded once: measured by its length, sent by joining."""
        self.pending: deque[deque[int]] = deque()
        """Runs of items to send, in order; each is cut into chunks under the size limit of the moment."""
        self.in_flight = 0
        self.changed = asyncio.Condition()
        """Notified when a chunk's handling ends: there may be more to send, or nothing left."""
        self.bugs: list[Exception] = []

    def number(self, index: int) -> str | None:
        return self._number(self.items[index])

    def key(self, index: int) -> Key | None:
        """What the item's number is unique with (an invoice's: the number and its financial year)."""
        return self._key(self.items[index])

    async def _create(self, indices: list[int]) -> list[T]:
        # Not books.invoices.create: the items were checked and encoded when measured; their bytes are sent.
        body = b"[" + b",".join([self.encoded[i] for i in indices]) + b"]"
        answer = await self._resource._post_encoded(self.path, body, self._response_type)
        self.limits.answered(self.kind, len(body), len(answer.content))
        created = answer.parse()
        if len(created) != len(indices):
            where = f"POST {self.path}"
            cause = ResponseDecodeError(f"{where}: {len(created)} objects came back for {len(indices)}")
            raise accepted_write_error(
                cause, "POST", self.path, answer.status, answer.content, self._client.base_url
            )
        return created

    # ---- checks and packing

    async def measure(self) -> list[int]:
        """Check and size each item once; return those fit to send, settling the others as failed."""
        first_use: dict[Key, int] = {}
        fit: list[int] = []
        for index, item in enumerate(self.items):
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # ~30 ms of CPU per 1,000 items: let the rest of the loop run
            try:
                # Checked one by one, so a bad item is reported as itself, not as a chunk's failure.
                validate_request(item, self.model)
                encoded = _serde.dumps(_serde.unstructure_request(item))
                if isinstance(item, Mapping):
                    # From here on a dict item is its model: numbers, look-ups and the rerun comparison read
                    # one shape. Read back from the bytes it will be sent as, so both say the same thing.
                    self.items[index] = _serde.decode(encoded, self.model, strict=True)
            except InvalidRequestError as exc:
                self.outcomes.settle(index, exc)
                continue
            if len(encoded) + 2 > self.max_bytes:
                self.outcomes.settle(index, self.too_large(len(encoded)))
                continue
            # Only a repeat the API would refuse counts: one invoice number in two financial years is two.
            key = self.key(index)
            earlier = first_use.setdefault(key, index) if key is not None else index
            if earlier != index and key is not None:
                number, year = key
                within = f" in financial year {year}" if year else ""
                self.outcomes.settle(
                    index,
                    InvalidRequestError(
                        f"Item {index} repeats the {self.kind} number {number} of item {earlier}{within}; "
                        "not sent.",
                        [
                            ErrorDetail(
                                path=(f"{self.kind}_number",),
                                message=f"Same as item {earlier}",
                                code="custom",
                            )
                        ],
                    ),
                )
                continue
            self.encoded[index] = encoded
            fit.append(index)
        return fit

    def too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"POST {self.path}: this {self.kind} alone is {size + 2:,} bytes as a bulk body, over the limit "
            f"of {self.max_bytes:,} bytes. It was not sent; shorten it (fewer lines, shorter notes).",
            status=413,
            body=None,
            method="POST",
            url=self.url,
            body_size=size + 2,
            limit=self.max_bytes,
            refused_locally=True,
        )

    def refused_before(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"POST {self.path}: this {self.kind} alone is {size + 2:,} bytes as a bulk body, and the API "
            f"refused a body of {self.limits.refused_at or 0:,} bytes as too large (413). It was not sent; "
            "shorten it (fewer lines, shorter notes).",
            status=413,
            body=None,
            method="POST",
            url=self.url,
            body_size=size + 2,
            limit=self.limits.refused_at,
            refused_locally=True,
        )

    # ---- running

    async def run(self) -> BulkResult[T]:
        bug: Exception | None = None
        try:
            fit = await self.measure()
            if fit and self.rerun:
                fit = await self.look_up_first(fit)
        except Exception as exc:  # the progress callback's, say: nothing was sent yet
            bug = exc
        else:
            if fit:
                self.pending.append(deque(fit))
                async with asyncio.TaskGroup() as tg:
                    for _ in range(self.concurrency):
                        tg.create_task(self.worker())
            if self.bugs:
                bug = self.bugs[0]
        if bug is not None:
            raise self.outcomes.interrupted(bug)
        return self.outcomes.result()

    async def look_up_first(self, fit: list[int]) -> list[int]:
        """``rerun=True``: settle the items whose number is stored, before any send; return the rest."""
        self.existing.swept = True
        try:
            return await self.existing.settle_stored(fit, self.unknown)
        except BooksError as exc:  # the sends will meet the same trouble, or 409s, and report it per item
            log.debug("looking up %s numbers failed (%s); sending all", self.kind, type(exc).__name__)
            return fit

    async def worker(self) -> None:
        try:
            while True:
                async with self.changed:
                    chunk = await self.next_chunk()
                    if chunk is None:
                        return
                    self.in_flight += 1
                try:
                    await self.send(chunk)
                except Exception as exc:
                    # The chunk was on its way: it may have been created. Then stop the job.
                    error = self.stopped_error(exc)
                    for index in chunk:
                        if self.outcomes.slots[index] is None:
                            self.outcomes.settle_quietly(index, error)
                    raise
                finally:
                    async with self.changed:
                        self.in_flight -= 1
                        self.changed.notify_all()
        except Exception as exc:  # a bug, ours or the progress callback's: the job stops, see run()
            self.bugs.append(exc)
            async with self.changed:
                self.changed.notify_all()

    async def next_chunk(self) -> list[int] | None:
        """Wait (holding ``changed``) for a chunk to send; None when nothing is left or the job stops."""
        while True:
            if self.bugs or (self.stop is not None and self.stop.is_set()):
                self.abandon()
                return None
            # Before any answer was measured, one small probe at a time: its answer sizes the rest.
            probing = self.max_answer_bytes is not None and self.limits.ratio(self.kind) is None
            if self.pending and not (probing and self.in_flight):
                chunk = self.take()
                if chunk:
                    return chunk
            elif not self.pending and not self.in_flight:
                self.changed.notify_all()
                return None
            else:
                await self.changed.wait()

    def take(self) -> list[int]:
        """Cut the next chunk from the head of ``pending``: greedily, in order, under the limit of the moment.

        An item over the limit alone still goes alone: only a 413 proves it too big.
        """
        limit = self.limits.limit(self.kind, self.max_bytes, self.max_answer_bytes)
        head = self.pending[0]
        chunk: list[int] = []
        body = 2  # the brackets
        while head:
            index = head[0]
            size = len(self.encoded[index])
            if self.limits.refuses(size + 2):
                head.popleft()
                self.outcomes.settle(index, self.refused_before(size))
                continue
            extra = size + 1 if chunk else size  # a comma before every item but the first
            if chunk and (body + extra > limit or len(chunk) == self.max_items):
                break
            head.popleft()
            chunk.append(index)
            body += extra
        if not head:
            self.pending.popleft()
        return chunk

    def abandon(self) -> None:
        """Drop what is left to send: items an earlier send may have created say so; the rest stay untried."""
        settle = self.outcomes.settle_quietly if self.bugs else self.outcomes.settle
        while self.pending:
            for index in self.pending.popleft():
                if self.unknown[index] and self.outcomes.slots[index] is None:
                    settle(index, self.stopped_error(None))

    def requeue(self, indices: list[int]) -> None:
        self.pending.append(deque(indices))

    def fail_all(self, indices: Iterable[int], error: BooksError) -> None:
        self.outcomes.settle_all((index, error) for index in indices)

    def resend(self, indices: list[int], error: BooksError) -> None:
        """Queue ``indices`` again, failing with ``error`` those already sent as often as allowed."""
        again = [i for i in indices if self.sends[i] < _MAX_SENDS]
        self.fail_all((i for i in indices if self.sends[i] >= _MAX_SENDS), error)
        if again:
            self.requeue(again)

    def refused(self, indices: Iterable[int]) -> None:
        # The API refused the chunk atomically: nothing was created, so these sends don't count. Progress
        # is still guaranteed, since every refusal removes an item or halves the chunk.
        for index in indices:
            self.sends[index] -= 1

    async def send(self, indices: list[int]) -> None:
        for index in indices:
            self.sends[index] += 1
        try:
            created = await self._create(indices)
        except WriteAcceptedError as exc:
            await self.settle_accepted(indices, exc)
        except ConflictError as exc:
            await self.conflict(indices, exc)
        except ValidationError as exc:
            await self.attribute(indices, exc)
        except PayloadTooLargeError as exc:
            self.too_big(indices, exc)
        except NotFoundError as exc:
            await self.narrow(indices, exc)
        except RateLimitError as exc:
            log.debug(
                "%s chunk of %d met 429 after the client's retries; sending again", self.kind, len(indices)
            )
            self.resend(indices, exc)
        except ServerError as exc:
            if exc.status == 503:
                # "Unavailable" means nothing was processed; any other 5xx may come after processing.
                self.resend(indices, exc)
            else:
                await self.reconcile(indices, exc)
        except APIConnectionError as exc:
            if exc.request_sent:
                await self.reconcile(indices, exc)
            else:
                self.resend(indices, exc)  # could not connect: nothing reached the API
        except OutcomeUnknownError as exc:
            await self.reconcile(indices, exc)
        except BooksError as exc:  # 401, 403, a closed client...: nothing to narrow down or retry
            self.fail_all(indices, exc)
        else:
            self.outcomes.settle_all(zip(indices, created, strict=True))

    async def conflict(self, indices: list[int], exc: ConflictError) -> None:
        """A 409: a number is taken. Look the chunk's numbers up, settle those stored and send the rest
        again; if half the chunk was stored, the job is a rerun: look up every item waiting as well. Numbers
        looked up already are narrowed down instead."""
        if self.rerun is False or not self.existing.unchecked(indices):
            await self.attribute(indices, exc)
            return
        waiting: list[int] = []
        while self.pending and not self.existing.swept:
            # Held back while the chunk is looked up: no worker sends a number that is about to be found.
            waiting.extend(self.pending.popleft())
        rest: list[int] = []
        try:
            try:
                rest = await self.existing.settle_stored(indices, self.unknown)
            except BooksError as error:
                log.debug("looking up %s numbers failed (%s)", self.kind, type(error).__name__)
                await self.attribute(indices, exc)
                return
            self.refused(indices)
            if waiting and 2 * len(rest) <= len(indices):
                self.existing.swept = True
                try:
                    waiting = await self.existing.settle_stored(waiting, self.unknown)
                except BooksError as error:
                    log.debug("looking up %s numbers failed (%s)", self.kind, type(error).__name__)
        finally:  # even on a bug: what was held back goes back, for abandon() to account for
            for run in (rest, waiting):
                if run:
                    self.requeue(run)

    async def attribute(self, indices: list[int], exc: ValidationError | ConflictError) -> None:
        """Fail the items a 400/409 names by index and resend the rest; narrow down if none is named."""
        named = _by_item(exc, len(indices))
        if not named:
            await self.narrow(indices, exc)
            return
        self.refused(indices)
        for position, details in named.items():
            self.outcomes.settle(indices[position], self.item_error(exc, indices[position], details))
        rest = [i for p, i in enumerate(indices) if p not in named]
        if rest:
            self.requeue(rest)

    def item_error(
        self, exc: ValidationError | ConflictError, index: int, details: list[ErrorDetail]
    ) -> BooksError:
        body = exc.body if isinstance(exc.body, Mapping) else {}
        wire = [{"path": list(d.path[1:]), "message": d.message, "code": d.code} for d in details]
        one = {"error": body.get("error", "error"), "message": f"item {index} was refused", "details": wire}
        text = f"POST {self.path} -> {exc.status}: item {index} was refused; fix the fields in .details."
        error = type(exc)(text, status=exc.status, body=one, method=exc.method, url=exc.url)
        error.__cause__ = exc
        return error

    def too_big(self, indices: list[int], exc: PayloadTooLargeError) -> None:
        """A 413: learn the limit it shows, and send the chunk again cut under it (an item alone fails)."""
        self.refused(indices)
        size = 2 + sum(len(self.encoded[i]) for i in indices) + len(indices) - 1
        self.limits.refused(self.path, size, len(indices))
        if len(indices) == 1:
            self.outcomes.settle(indices[0], exc)
        else:
            # At the front: the chunk's items keep their place in the sending order.
            self.pending.appendleft(deque(indices))

    async def narrow(self, indices: list[int], exc: APIStatusError) -> None:
        """Halve a chunk refused as a whole without naming items, until the culprits are alone."""
        self.refused(indices)
        if len(indices) > 1:
            middle = len(indices) // 2
            log.debug("%s chunk of %d refused (%d); halving it", self.kind, len(indices), exc.status)
            self.requeue(indices[:middle])
            self.requeue(indices[middle:])
            return
        index = indices[0]
        if isinstance(exc, ConflictError) and (self.unknown[index] or self.rerun is not False):
            # An earlier attempt of ours, whose answer was lost, may be what took the number; or, in a
            # rerun, an earlier job did, and the searches did not show it: looked up alone, as a last try.
            try:
                found = await self.find([index])
            except BooksError:
                found = {}
            if index in found:
                await self.existing.settle(found, self.unknown)
                return
        self.outcomes.settle(index, exc)

    async def settle_accepted(self, indices: list[int], cause: WriteAcceptedError) -> None:
        """The API created the chunk (2xx) but its answer was unreadable: read back what can be, resend none.

        A look-up by number that finds nothing proves nothing here (the chunk was created), so every item not
        found keeps ``cause``, which says the write happened.
        """
        numbered = [i for i in indices if self.number(i) is not None]
        found: dict[int, T] = {}
        if numbered:
            try:
                found = await self.find(numbered)
            except BooksError as exc:
                log.debug("reading back an accepted %s chunk failed (%s)", self.kind, type(exc).__name__)
        self.outcomes.settle_all((index, found.get(index, cause)) for index in indices)

    async def reconcile(self, indices: list[int], cause: BooksError) -> None:
        """After an unknown outcome: settle the items that exist, resend the missing numbered ones."""
        for index in indices:
            self.unknown[index] = True
        numbered = [i for i in indices if self.number(i) is not None]
        unnumbered = [i for i in indices if self.number(i) is None]
        if unnumbered:
            self.fail_all(unnumbered, self.unknown_error(cause, numbered=False))
        if not numbered:
            return
        try:
            # A bulk create is atomic: if one item is not there, none is, and one look-up tells.
            found = await self.find(numbered[:1])
            if found:
                found.update(await self.find(numbered[1:]))
        except BooksError as exc:
            log.debug(
                "reconciling a %s chunk failed (%s); reporting it unknown", self.kind, type(exc).__name__
            )
            self.fail_all(numbered, self.unknown_error(cause, numbered=True))
            return
        # Compared with the drafts: a lost answer may have been a refusal, and the number someone else's.
        await self.existing.settle(found, self.unknown)
        missing = [i for i in numbered if i not in found]
        log.debug(
            "%s chunk of %d with an unknown outcome: %d found, %d to resend, %d without a number",
            self.kind,
            len(indices),
            len(found),
            len(missing),
            len(unnumbered),
        )
        self.resend(missing, self.unknown_error(cause, numbered=True))

    def unknown_error(self, cause: BooksError, *, numbered: bool) -> OutcomeUnknownError:
        kind = self.kind
        if numbered:
            text = (
                f"POST {self.path}: creating this {kind} kept failing with an unknown outcome "
                f"({_MAX_SENDS} attempts). Look it up by its number before sending it again."
            )
        else:
            text = (
                f"POST {self.path}: the request may have created this {kind}, and without a {kind} number "
                f"it cannot be looked up, so it was not resent. Check the {kind}s before sending it again "
                "(give every item a number to make this automatic)."
            )
        error = OutcomeUnknownError(text, method="POST", url=self.url)
        error.__cause__ = cause
        return error

    def stopped_error(self, bug: Exception | None) -> OutcomeUnknownError:
        """For an item that may exist when the job ends: in flight when a bug hit, or waiting to be sent
        again after an unknown outcome."""
        kind = self.kind
        if bug is not None:
            happened = (
                f"the job stopped on an unexpected error ({type(bug).__name__}) while this {kind} was sent"
            )
        else:
            happened = (
                f"a send of this {kind} had an unknown outcome, and the job stopped before sending it again"
            )
        error = OutcomeUnknownError(
            f"POST {self.path}: {happened}, so it may have been created. Look it up by its number before "
            "sending it again.",
            method="POST",
            url=self.url,
        )
        error.__cause__ = bug
        return error

    async def find(self, indices: list[int]) -> dict[int, T]:
        """Look items up by key; return those that exist, by input index."""
        if not indices:
            return {}
        by_key = {key: i for i in indices if (key := self.key(i)) is not None}
        found = await self._find(self._client, [self.items[i] for i in indices])
        return {by_key[k]: value for k, value in found.items() if k in by_key}


def _by_item(exc: ValidationError | ConflictError, size: int) -> dict[int, list[ErrorDetail]]:
    """Group a bulk error's details by the item index their path starts with (empty if any does not)."""
    if isinstance(exc, ValidationError):
        details = exc.details
    else:
        raw = exc.body.get("details") if isinstance(exc.body, Mapping) else None
        details = tuple(ErrorDetail.from_wire(d) for d in raw) if isinstance(raw, list) else ()
    named: dict[int, list[ErrorDetail]] = {}
    for detail in details:
        head = detail.path[0] if detail.path else None
        if not isinstance(head, int) or isinstance(head, bool) or not 0 <= head < size:
            return {}  # a detail about the whole body: nothing can be pinned on one item
        named.setdefault(head, []).append(detail)
    return named

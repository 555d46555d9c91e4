"""Numbers already stored, met by a bulk create: found cheaply, compared with the drafts, settled.

Rerunning a create job is how an interrupted one is finished. A stored document whose number a draft claims
is that item's success when it matches the draft (flagged as already existing), and a
:class:`~books_async.NumberTakenError` naming the differences when it does not. Numbers are found by the
list endpoint's ``search`` (a substring match) on their common prefix, about one request per 100 numbers;
what a search does not show is sent, and the API's 409 then has the last word (see
``docs/design/bulk-reruns.md`` for the fields compared and the look-up's budget). The look-ups by number
that reconcile an unknown outcome (newest pages first, for a chunk just sent) live here too. Everything is
keyed by :data:`Key`: an invoice number means nothing without its financial year.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from books_async._bulk.outcomes import unknown
from books_async._bulk.results import Outcomes
from books_async._exceptions import BooksError, FieldDifference, NumberTakenError, OutcomeUnknownError
from books_async._fiscal import financial_year
from books_async._generated.models import Invoice, InvoiceCreate, Quote, QuoteCreate
from books_async._pagination import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from books_async._client import BooksClient

__all__ = [
    "Existing",
    "Key",
    "differences",
    "find_invoice_numbers",
    "find_invoices",
    "find_quotes",
    "invoice_key",
    "quote_key",
]

log = logging.getLogger("books_async.bulk")

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  # the input item type, beside T for the result

Key = tuple[str, str]
"""What a number must be unique with: ``(number, financial year of invoice_date)`` for an invoice (CGST
Rule 46(b): unique for a financial year), ``(number, "")`` for a quote (unique per organisation forever).
Two drafts, or a draft and a stored document, are the same document only if their keys are equal."""

# Not compared: the number itself, and the fields a PATCH may change after creation (an invoice's notes and
# terms can be edited without it becoming another invoice).
_NOT_COMPARED = frozenset({"invoice_number", "quote_number", "notes", "terms"})
# Below this many numbers a reconcile looks each one up; above it, it first scans the newest pages of the
# invoice list, where a just-created chunk sits, spending one request per 100 invoices instead of one each.
_SCAN_MIN = 4
# Extra pages scanned past the chunk's own size, for invoices other writers created after ours.
_SCAN_SLACK_PAGES = 2
# A prefix search may read this many pages beyond what its numbers fill before it counts as too broad and
# is split into narrower prefixes.
_SLACK_PAGES = 1


def differences(draft: object, stored: object) -> list[FieldDifference]:
    """The fields where ``stored`` differs from ``draft``.

    Compared: every field the draft gives (not ``None``) that the stored document has under the same name,
    lines by position, and the number of lines. A field the draft leaves out was the server's to choose (a
    default, the catalogue's) and is not compared, nor are the server's computations (totals, taxes, ids,
    status), nor notes and terms. Values compare by ``==``: Decimals by value (``1.5 == 1.50``), dates
    and strings exactly, enums by value.
    """
    found: list[FieldDifference] = []
    _compare(draft, stored, (), found)
    return found


def _compare(
    draft: object, stored: object, path: tuple[str | int, ...], found: list[FieldDifference]
) -> None:
    cls = type(draft)
    if not attrs.has(cls):  # a list of plain values: compared whole by the caller
        return
    for field in attrs.fields(cls):
        name = field.name
        want = getattr(draft, name)
        if want is None or name in _NOT_COMPARED or not hasattr(stored, name):
            continue
        got = getattr(stored, name)
        if isinstance(want, list):
            if not isinstance(got, list) or len(got) != len(want):
                shown = None if got is None else (f"{len(got)} lines" if isinstance(got, list) else got)
                found.append(FieldDifference((*path, name), shown, f"{len(want)} lines"))
                continue
            for position, (one_want, one_got) in enumerate(zip(want, got, strict=True)):
                if attrs.has(type(one_want)):
                    _compare(one_want, one_got, (*path, name, position), found)
                elif one_got != one_want:
                    found.append(FieldDifference((*path, name, position), one_got, one_want))
        elif attrs.has(type(want)) and got is not None:
            _compare(want, got, (*path, name), found)
        elif got != want:
            found.append(FieldDifference((*path, name), got, want))


def invoice_key(item: InvoiceCreate) -> Key | None:
    """A draft's key, or None without a number (the server numbers it: nothing to look up)."""
    if item.invoice_number is None:
        return None
    return (item.invoice_number, financial_year(item.invoice_date))


def quote_key(item: QuoteCreate) -> Key | None:
    """A draft's key, or None without a number."""
    return None if item.quote_number is None else (item.quote_number, "")


async def _keep(
    client: BooksClient, listed: Iterable[Invoice], wanted: set[Key], found: dict[Key, Invoice]
) -> None:
    """Put into ``found`` the listed invoices whose key is wanted."""
    numbers = {number for number, _ in wanted}
    for invoice in listed:
        if invoice.invoice_number not in numbers:
            continue
        stored = invoice
        if stored.invoice_date is None:
            # A list may leave fields out (read as None), which proves nothing: the document itself tells.
            stored = await client.invoices.get(invoice.id)
            if stored.invoice_date is None:
                continue  # no year, no match: if it holds the number, the API's 409 will say
        key = (stored.invoice_number, financial_year(stored.invoice_date))
        if key in wanted:
            found[key] = stored


async def _find_one(client: BooksClient, key: Key, found: dict[Key, Invoice]) -> None:
    number, year = key
    invoice = await client.invoices.find_by_number(number, financial_year=year)
    if invoice is not None:
        found[key] = invoice


async def find_invoices(client: BooksClient, items: list[InvoiceCreate]) -> dict[Key, Invoice]:
    wanted = {key for item in items if (key := invoice_key(item)) is not None}
    found: dict[Key, Invoice] = {}
    if len(wanted) >= _SCAN_MIN:
        # Newest first: a just-created chunk sits on the first pages, 100 invoices a request.
        pages = -(-len(wanted) // MAX_PAGE_SIZE) + _SCAN_SLACK_PAGES
        page = 1
        while page <= pages and len(found) < len(wanted):
            listing = await client.invoices.list(page=page, limit=MAX_PAGE_SIZE)
            await _keep(client, listing.data, wanted, found)
            where = listing.pagination
            last = where.page >= where.pages if where is not None else len(listing.data) < MAX_PAGE_SIZE
            if not listing.data or last:
                break
            page += 1
    for key in sorted(wanted - found.keys()):
        await _find_one(client, key, found)
    return found


async def find_quotes(client: BooksClient, items: list[QuoteCreate]) -> dict[Key, Quote]:
    # The API cannot search quotes by number: list each customer's quotes instead.
    by_customer: dict[str, set[str]] = {}
    for item in items:
        if item.quote_number is not None:
            by_customer.setdefault(item.customer_id, set()).add(item.quote_number)
    found: dict[Key, Quote] = {}
    for customer_id, wanted in by_customer.items():
        seen = 0
        async for quote in client.quotes.iter(customer_id=customer_id):
            if quote.quote_number in wanted:
                found[(quote.quote_number, "")] = quote
                seen += 1
                if seen == len(wanted):
                    break
    return found


async def find_invoice_numbers(client: BooksClient, items: list[InvoiceCreate]) -> dict[Key, Invoice]:
    """The stored invoices with the items' keys (number and financial year), found by searching prefixes.

    A prefix whose search would fill more pages than its numbers (plus slack) is split by the next character
    into narrower ones; a number alone is looked up as :meth:`~books_async.resources.invoices.Invoices.
    find_by_number` does, once per financial year wanted. Only exact numbers of the wanted financial years
    count (last year's ``FY/0001`` is neither a match nor a conflict for this year's), so a broad or odd
    search costs requests, never a wrong answer; a key the searches did not show may still exist (the API's
    409 will say).
    """
    found: dict[Key, Invoice] = {}
    groups = [sorted({key for item in items if (key := invoice_key(item)) is not None})]
    while groups:
        wanted = [key for key in groups.pop() if key not in found]
        numbers = sorted({number for number, _ in wanted})
        if len(numbers) == 1:
            for key in wanted:
                await _find_one(client, key, found)
            continue
        if not wanted:
            continue
        prefix = _common_prefix(numbers)
        if not prefix or not await _scan(client, prefix, set(wanted), found):
            groups.extend(_split([key for key in wanted if key not in found], len(prefix)))
    return found


async def _scan(client: BooksClient, prefix: str, wanted: set[Key], found: dict[Key, Invoice]) -> bool:
    """Read the search for ``prefix`` into ``found``; False if it is too broad to read to the end."""
    budget = -(-len(wanted) // MAX_PAGE_SIZE) + _SLACK_PAGES
    page = 1
    while True:
        listing = await client.invoices.list(search=prefix, page=page, limit=MAX_PAGE_SIZE)
        await _keep(client, listing.data, wanted, found)
        if wanted <= found.keys():
            return True
        where = listing.pagination
        if where is not None and where.pages > budget:
            return False
        if (where.page >= where.pages if where is not None else len(listing.data) < MAX_PAGE_SIZE) or (
            not listing.data
        ):
            return True
        if page >= budget:
            return False
        page += 1


def _common_prefix(numbers: Sequence[str]) -> str:
    first, last = min(numbers), max(numbers)  # the sorted extremes share what all of them share
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _split(keys: Iterable[Key], depth: int) -> list[list[Key]]:
    """Group keys by their number's first ``depth + 1`` characters: narrower prefixes, each searched apart."""
    groups: dict[str, list[Key]] = {}
    for key in keys:
        groups.setdefault(key[0][: depth + 1], []).append(key)
    return list(groups.values())


class Existing(Generic[I, T]):
    """What one create job knows of numbers already stored, and how it settles the items that claim them."""

    def __init__(
        self,
        *,
        client: BooksClient,
        items: Sequence[I],
        number: Callable[[I], str | None],
        key: Callable[[I], Key | None],
        lookup: Callable[[BooksClient, list[I]], Awaitable[dict[Key, T]]],
        get: Callable[[str], Awaitable[T]],
        outcomes: Outcomes[I, T],
        kind: str,
        path: str,
        url: str,
    ) -> None:
        self._client = client
        self._items = items
        self._number = number
        self._key = key
        self._lookup = lookup
        self._get = get
        self._outcomes = outcomes
        self._kind = kind
        self._path = path
        self._url = url
        self.looked_up = [False] * len(items)
        """Whether the item's number was looked up already: a later 409 is narrowed down instead."""
        self.swept = False
        """Whether the items waiting to be sent were looked up: ``rerun=True``, or a 409 on a chunk mostly
        stored already, makes them."""

    def unchecked(self, indices: Iterable[int]) -> list[int]:
        """Those of ``indices`` with a number not looked up yet."""
        return [i for i in indices if not self.looked_up[i] and self._key(self._items[i]) is not None]

    async def settle_stored(self, indices: list[int], created_here: Sequence[bool]) -> list[int]:
        """Look up the numbers of ``indices`` once; settle the items stored; return the others, in order.

        ``created_here[i]`` says an earlier send of item ``i`` in this job may have created it: found and
        matching, it is then a plain success, not one that already existed.

        Raises:
            BooksError: the look-up failed; nothing was settled.
        """
        numbered = self.unchecked(indices)
        for index in numbered:
            self.looked_up[index] = True
        found = await self._lookup(self._client, [self._items[i] for i in numbered]) if numbered else {}
        by_index = {i: found[k] for i in numbered if (k := self._key(self._items[i])) in found}
        log.debug("looked up %d %s numbers: %d stored", len(numbered), self._kind, len(by_index))
        await self.settle(by_index, created_here)
        return [i for i in indices if i not in by_index]

    async def settle(self, stored: dict[int, T], created_here: Sequence[bool]) -> None:
        """Settle each item with its stored document: a success if it matches the draft, else a conflict."""
        outcomes: list[tuple[int, T | BooksError]] = []
        existed: list[int] = []
        for index, found in stored.items():
            draft = self._items[index]
            document = found
            diffs = differences(draft, document)
            if any(d.stored is None for d in diffs) and isinstance(doc_id := getattr(found, "id", None), str):
                # A list may leave fields out (read as None), which proves nothing: the document itself tells.
                try:
                    document = await self._get(doc_id)
                except BooksError as exc:
                    log.debug("re-reading %s %s failed (%s)", self._kind, doc_id, type(exc).__name__)
                else:
                    diffs = differences(draft, document)
            if diffs and created_here[index]:
                # Unlike the draft, yet our own lost write may be what stored it (a server that normalises
                # a field): a write that may have happened is never reported as refused.
                outcomes.append((index, self.maybe_ours(self.taken(draft, document, diffs))))
            elif diffs:
                outcomes.append((index, self.taken(draft, document, diffs)))
            else:
                outcomes.append((index, document))
                if not created_here[index]:
                    existed.append(index)
        self._outcomes.settle_all(outcomes, existed=existed)

    def maybe_ours(self, taken: NumberTakenError) -> OutcomeUnknownError:
        kind = self._kind
        return unknown(
            f"POST {self._path}: a send of this {kind} had an unknown outcome, and {kind} number "
            f"{taken.number} is now stored by a {kind} that differs from the draft "
            f"({'; '.join(str(d) for d in taken.differences[:5])}). It may be another {kind}, or this one "
            "as the API stored it: look at it before sending the draft again (the cause has the details).",
            method="POST",
            url=self._url,
            cause=taken,
        )

    def taken(self, draft: I, stored: T, diffs: list[FieldDifference]) -> NumberTakenError:
        kind = self._kind
        number = self._number(draft) or ""
        key = self._key(draft)
        within = f" in financial year {key[1]}" if key is not None and key[1] else ""
        shown = "; ".join(str(d) for d in diffs[:5]) + (
            f"; and {len(diffs) - 5} more" if len(diffs) > 5 else ""
        )
        stored_id = getattr(stored, "id", "?")
        return NumberTakenError(
            f"POST {self._path}: {kind} number {number} is already used{within} by {kind} {stored_id}, "
            f"which differs from this draft: {shown}. It was not created: give the draft another number, or "
            f"drop it from the job if the stored {kind} is the one meant.",
            body=None,
            method="POST",
            url=self._url,
            number=number,
            existing=stored,
            differences=diffs,
        )

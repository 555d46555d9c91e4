"""``books-async doctor``: learn from a real account, safely, how the live API differs from the spec.

It reads the account with GET requests only (``--validate`` adds ``POST /books/validate``, which writes
nothing), through the SDK's own client so that the limiter, retries, auth and key redaction apply, and sends
at most :data:`MAX_REQUESTS`: the session context, organisations, every list with a small limit, one item of
each kind that has one, the dashboard, one PDF, and the few requests that test what the SDK's logic assumes
(pages advance, ``limit=100`` is accepted, invoices come newest first, ``search`` finds an invoice by its
number). Every JSON answer is checked against ``openapi/books.yaml`` (see ``_doctor_spec``) and, for the
verdict that matters most, decoded by the SDK's own models.

Exit status: 0 when everything matches, 1 when something drifted, 2 when it could not run (no key, no
network, a refused key, the quota spent), with one line saying what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Final, cast

from books_async import _serde, models
from books_async._client import BooksClient
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BooksError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
)
from books_async._pagination import MAX_PAGE_SIZE
from books_async._typeinfo import json_type
from books_async.cli._doctor_report import Check, Report
from books_async.cli._doctor_spec import (
    Difference,
    SpecDocument,
    enum_value,
    load_spec_document,
    safe_token,
)
from books_async.cli._output import Output

__all__ = ["LIST_LIMIT", "MAX_REQUESTS", "run_doctor"]

MAX_REQUESTS: Final = 25
"""The most requests one run sends (a quarter of the organisation's minute), retries included."""
LIST_LIMIT: Final = 5
"""Rows asked of each list: enough to see each document's shape, and to need a page 2 on a busy account."""

_PDF_HEAD: Final = 4096
_IST: Final = timezone(timedelta(hours=5, minutes=30))
_OBJECT_ID: Final = re.compile(r"[0-9a-f]{24}")
_MEDIA_TYPE: Final = re.compile(r"[A-Za-z0-9.+-]{1,40}/[A-Za-z0-9.+-]{1,40}")
# Each list, the route of one of its items, and the SDK's name for the kind.
_LISTS: Final = (
    ("/books/invoices", "/books/invoices/{id}"),
    ("/books/quotes", "/books/quotes/{id}"),
    ("/books/customers", "/books/customers/{id}"),
    ("/books/products", "/books/products/{id}"),
    ("/books/services", "/books/services/{id}"),
)
_SAMPLE_NAME: Final = "books-async doctor sample"


@dataclass(frozen=True, slots=True)
class _Answer:
    """One answer: its status and, when it was JSON, its parsed body."""

    status: int
    body: object = None


def _rows(answer: _Answer | None) -> list[Mapping[str, object]]:
    body = answer.body if answer is not None else None
    data = body.get("data") if isinstance(body, Mapping) else None
    return [row for row in data if isinstance(row, Mapping)] if isinstance(data, list) else []


def _pagination(answer: _Answer | None) -> Mapping[str, object] | None:
    body = answer.body if answer is not None else None
    found = body.get("pagination") if isinstance(body, Mapping) else None
    return found if isinstance(found, Mapping) else None


def _id(row: Mapping[str, object]) -> str | None:
    value = row.get("_id")
    return value if isinstance(value, str) and _OBJECT_ID.fullmatch(value) else None


def _ids(answer: _Answer | None) -> list[str]:
    return [found for row in _rows(answer) if (found := _id(row)) is not None]


def _first_id(answer: _Answer | None) -> str | None:
    return next(iter(_ids(answer)), None)


def _instant(value: object) -> datetime | None:
    """A date or date-time string as an aware datetime (dates at UTC midnight); None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _known(values: Sequence[datetime | None]) -> list[datetime] | None:
    known = [v for v in values if v is not None]
    return known if len(known) == len(values) else None


def _descending(keys: Iterable[tuple[datetime, ...]]) -> bool:
    return all(a >= b for a, b in pairwise(keys))


def _issue_path(path: object) -> str:
    if not isinstance(path, list):
        return "$"
    return "$" + "".join("[]" if isinstance(p, int) else f".{safe_token(p)}" for p in path)


def _has_more(answer: _Answer | None) -> bool:
    """Whether a first page says more pages follow; without `pagination`, whether it came back full."""
    pagination = _pagination(answer)
    if pagination is None:
        return len(_rows(answer)) >= LIST_LIMIT
    pages = pagination.get("pages")
    return isinstance(pages, int) and not isinstance(pages, bool) and pages > 1


def _number(value: object) -> str:
    """A page number or limit from the answer, or only its type when it is not a whole number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else json_type(value)


class _Doctor:
    """One run against one account: sends the requests, records what the answers hold."""

    def __init__(self, books: BooksClient, spec: SpecDocument, report: Report) -> None:
        self._books = books
        self._spec = spec
        self._report = report
        self._first = True

    # ---- sending

    def _spent(self) -> bool:
        return self._books.requests_sent >= MAX_REQUESTS

    async def _send(
        self,
        method: str,
        template: str,
        *,
        path: str | None = None,
        params: Mapping[str, object] | None = None,
        body: object = None,
    ) -> _Answer | None:
        """Send one request, check its answer against the spec; None when the request budget is spent."""
        if self._spent():
            return None
        result = self._report.operation(method, template, self._spec.operation_id(method, template))
        self._report.requests[method] += 1
        first, self._first = self._first, False
        try:
            # The raw answer: its bytes are checked against the spec before the SDK's models read them.
            answer = await self._books.with_raw_response.request(
                method, path or template, params=params, json=body
            )
        except (AuthenticationError, RateLimitError):
            raise  # the run cannot go on; run_doctor says so in one line (exit 2)
        except PermissionDeniedError:
            if first:
                raise  # the key cannot read the account at all: nothing else would answer either
            result.tally.add(Difference("answer", "$", "answered 403, the spec says 2xx", "breaks"))
            return _Answer(403)
        except APIStatusError as exc:
            result.tally.add(Difference("answer", "$", f"answered {exc.status}, the spec says 2xx", "breaks"))
            return _Answer(exc.status, exc.body)
        result.answers += 1
        raw = answer.content
        try:
            parsed = _serde.loads(raw)
        except (ValueError, RecursionError):
            result.tally.add(Difference("answer", "$", "not JSON", "breaks"))
            return _Answer(200)
        checker = self._spec.checker(method, template)
        if checker is not None:
            checker.check(parsed, result.tally)
        if result.decode_error is None:
            result.decode_error = self._decode_error(method, template, raw)
        return _Answer(200, parsed)

    def _decode_error(self, method: str, template: str, raw: bytes) -> str | None:
        """What the SDK's own model says of the answer: None when it reads it, else the failing paths."""
        name = self._spec.schema_name(method, template)
        model = getattr(models, name, None) if name is not None else None
        if model is None:
            return None
        try:
            _serde.decode(raw, model)
        except ResponseDecodeError as exc:
            # "the response body does not match X: <paths>. The API may have changed; ..." -> the paths.
            text = str(exc).split(": ", 1)[-1]
            return text.split(". The API may have changed", 1)[0]
        return None

    async def _get(
        self, template: str, *, path: str | None = None, params: Mapping[str, object] | None = None
    ) -> _Answer | None:
        return await self._send("GET", template, path=path, params=params)

    # ---- the run

    async def run(self, *, validate: bool) -> None:
        """Send every request of the plan and fill the report."""
        await self._get("/books/validate")
        orgs = await self._get("/orgs", params={"limit": LIST_LIMIT})
        org: _Answer | None = None
        if org_id := _first_id(orgs):
            org = await self._get("/orgs/{id}", path=f"/orgs/{org_id}")
        pages: dict[str, _Answer | None] = {}
        for list_path, item_path in _LISTS:
            pages[list_path] = page = await self._get(list_path, params={"limit": LIST_LIMIT})
            if item_id := _first_id(page):
                await self._get(item_path, path=item_path.replace("{id}", item_id))
        await self._get("/books/mobile/dashboard")

        checks = self._report.checks
        checks.append(await self._check_pdf(pages))
        checks.append(await self._check_pages(pages))
        largest = await self._get("/books/invoices", params={"limit": MAX_PAGE_SIZE})
        checks.append(self._check_limit(largest))
        checks.append(self._check_order(largest if _rows(largest) else pages["/books/invoices"]))
        checks.append(await self._check_search(pages["/books/invoices"]))
        if validate:
            self._report.validations = await self._validate_samples(pages, org)

    # ---- checks of the SDK's guesses

    async def _check_pdf(self, pages: Mapping[str, _Answer | None]) -> Check:
        title = "a PDF downloads as application/pdf"
        found = next(
            ((kind, doc) for kind in ("invoices", "quotes") if (doc := _first_id(pages[f"/books/{kind}"]))),
            None,
        )
        if found is None:
            return Check("pdf", title, "unknown", "no invoice or quote to download")
        kind, doc_id = found
        if self._spent():
            return Check("pdf", title, "unknown", f"skipped to stay within {MAX_REQUESTS} requests")
        where = f"GET /books/{kind}/{{id}}/pdf"
        self._report.requests["GET"] += 1
        try:
            resource = self._books.invoices if kind == "invoices" else self._books.quotes
            async with resource._pdf_stream(doc_id) as stream:
                media = stream.content_type
                head = b""
                # chunks() is an async generator: close it when leaving early, not at garbage collection.
                body = cast("AsyncGenerator[bytes, None]", stream.chunks(_PDF_HEAD))
                async with contextlib.aclosing(body) as chunks:
                    async for chunk in chunks:
                        head += chunk
                        if len(head) >= _PDF_HEAD:
                            break
        except (AuthenticationError, RateLimitError, APIConnectionError):
            raise
        except APIStatusError as exc:
            return Check("pdf", title, "breaks", f"{where} answered {exc.status}")
        if media != "application/pdf":
            shown = media if media is not None and _MEDIA_TYPE.fullmatch(media) else "absent or unreadable"
            return Check("pdf", title, "breaks", f"{where}: the Content-Type is {shown}, not application/pdf")
        if not head.startswith(b"%PDF"):
            return Check("pdf", title, "breaks", f"{where}: the body does not start with %PDF")
        return Check("pdf", title, "ok", f"{where}: application/pdf, starting with %PDF")

    async def _check_pages(self, pages: Mapping[str, _Answer | None]) -> Check:
        title = "page 2 of a list brings other rows"
        several = [(path, first) for path, first in pages.items() if _has_more(first)]
        if not several:
            return Check("page_advances", title, "ok", f"every list fits on one page of {LIST_LIMIT}")
        list_path, first = several[0]
        second = await self._get(list_path, params={"limit": LIST_LIMIT, "page": 2})
        where = f"GET {list_path}?page=2"
        if second is None:
            return Check("page_advances", title, "unknown", f"skipped to stay within {MAX_REQUESTS} requests")
        if second.status != 200:
            return Check("page_advances", title, "breaks", f"{where} answered {second.status}")
        before, after = set(_ids(first)), set(_ids(second))
        pagination = _pagination(second)
        said = f" (and says page {_number(pagination.get('page'))})" if pagination is not None else ""
        if not _rows(second):
            return Check(
                "page_advances", title, "breaks", f"{where} is empty though page 1 says there is more"
            )
        if not (before and after):
            return Check("page_advances", title, "unknown", "the rows have no `_id` to compare")
        if after <= before:
            return Check(
                "page_advances",
                title,
                "breaks",
                f"{where} brought page 1's rows again{said}: iter() would never end",
            )
        if after & before:
            repeated = len(after & before)
            return Check("page_advances", title, "breaks", f"{where} repeats {repeated} of page 1's rows")
        if pagination is not None and pagination.get("page") != 2:
            return Check(
                "page_advances",
                title,
                "breaks",
                f"{where} brought other rows{said}: iter() would ask for the same page again",
            )
        return Check("page_advances", title, "ok", f"{where} brings other rows than page 1")

    @staticmethod
    def _check_limit(answer: _Answer | None) -> Check:
        title = f"limit={MAX_PAGE_SIZE} is accepted (iter() asks for it)"
        if answer is None:
            return Check("largest_limit", title, "unknown", f"skipped to stay within {MAX_REQUESTS} requests")
        if answer.status != 200:
            return Check(
                "largest_limit", title, "breaks", f"GET /books/invoices?limit=100 answered {answer.status}"
            )
        granted = (_pagination(answer) or {}).get("limit")
        if isinstance(granted, int) and not isinstance(granted, bool) and granted < MAX_PAGE_SIZE:
            return Check(
                "largest_limit",
                title,
                "tolerated",
                f"asked for {MAX_PAGE_SIZE}, the API used limit {granted}; iter() follows its pages anyway",
            )
        if len(_rows(answer)) > MAX_PAGE_SIZE:
            return Check("largest_limit", title, "tolerated", f"more than {MAX_PAGE_SIZE} rows came back")
        return Check("largest_limit", title, "ok", "accepted")

    @staticmethod
    def _check_order(answer: _Answer | None) -> Check:
        title = "invoices come newest first"
        rows = _rows(answer)
        if len(rows) < 2:
            return Check("invoice_order", title, "unknown", "fewer than 2 invoices to compare")
        created = _known([_instant(row.get("createdAt")) for row in rows])
        dated = _known([_instant(row.get("invoice_date")) for row in rows])
        if created is None or dated is None:
            return Check(
                "invoice_order", title, "unknown", "createdAt or invoice_date is missing or unreadable"
            )
        if _descending((c,) for c in created):
            return Check("invoice_order", title, "ok", f"{len(rows)} invoices, newest created first")
        if _descending(zip(dated, created, strict=True)):
            return Check(
                "invoice_order",
                title,
                "tolerated",
                "newest invoice_date first, not newest created: bulk reconciliation falls back to one search "
                "per number",
            )
        return Check(
            "invoice_order",
            title,
            "tolerated",
            "neither newest created first nor newest invoice_date first, as the spec says",
        )

    async def _check_search(self, page: _Answer | None) -> Check:
        title = "search finds an invoice by its number"
        target = next(
            (
                (found, number)
                for row in _rows(page)
                if (found := _id(row)) is not None and isinstance(number := row.get("invoice_number"), str)
            ),
            None,
        )
        if target is None:
            return Check("search_by_number", title, "unknown", "no invoice with a number to search for")
        invoice_id, number = target
        answer = await self._get("/books/invoices", params={"search": number, "limit": MAX_PAGE_SIZE})
        if answer is None:
            return Check(
                "search_by_number", title, "unknown", f"skipped to stay within {MAX_REQUESTS} requests"
            )
        if answer.status != 200:
            return Check("search_by_number", title, "breaks", f"the search answered {answer.status}")
        if invoice_id in _ids(answer):
            return Check("search_by_number", title, "ok", "an invoice's own number finds it")
        return Check(
            "search_by_number",
            title,
            "breaks",
            "searching an invoice's own number did not return it; invoices.find_by_number and the bulk "
            "helpers' look-up of lost creates rely on it (numbers repeat each financial year, so they "
            "also read each row's invoice_date)",
        )

    # ---- --validate

    async def _validate_samples(
        self, pages: Mapping[str, _Answer | None], org: _Answer | None
    ) -> list[Check]:
        samples = _samples(pages, org)
        checks: list[Check] = []
        for kind in ("invoice", "customer", "quote", "product", "service"):
            payload = samples.get(kind)
            if payload is None:
                checks.append(Check(kind, kind, "unknown", "no customer in the account to build it from"))
                continue
            answer = await self._send("POST", "/books/validate", body={"kind": kind, "payload": payload})
            checks.append(_validation_check(kind, answer))
        return checks


def _validation_check(kind: str, answer: _Answer | None) -> Check:
    if answer is None:
        return Check(kind, kind, "unknown", f"skipped to stay within {MAX_REQUESTS} requests")
    body = answer.body if isinstance(answer.body, Mapping) else {}
    details = body.get("details")
    issues = [d for d in details if isinstance(d, Mapping)] if isinstance(details, list) else []
    found = ", ".join(f"{_issue_path(d.get('path'))} ({enum_value(d.get('code'))})" for d in issues[:10])
    if answer.status != 200:
        return Check(kind, kind, "breaks", f"answered {answer.status}" + (f": {found}" if found else ""))
    valid = body.get("valid")
    if valid is True:
        return Check(kind, kind, "ok", "a sample built from the account's own ids is valid")
    if valid is False:
        more = f" and {len(issues) - 10} more" if len(issues) > 10 else ""
        return Check(kind, kind, "breaks", f"valid: false at {found or 'no path given'}{more}")
    return Check(kind, kind, "unknown", "the answer has no boolean `valid`")


def _samples(pages: Mapping[str, _Answer | None], org: _Answer | None) -> dict[str, dict[str, object]]:
    """One create body per kind, built from the account's own ids; no invoice or quote without a customer."""
    today = datetime.now(_IST).date().isoformat()  # the API's business day is India's
    state = org.body.get("state_code") if org is not None and isinstance(org.body, Mapping) else None
    if not (isinstance(state, str) and re.fullmatch(r"[0-9]{2}", state)):
        state = "27"
    line: dict[str, object] = {
        "item_type": "service",
        "description": f"{_SAMPLE_NAME} line",
        "hsn_sac": "998311",
        "quantity": 1,
        "rate": 100,
        "gst_rate": 18,
    }
    if service_id := _first_id(pages.get("/books/services")):
        line["service_id"] = service_id
    samples: dict[str, dict[str, object]] = {
        "customer": {
            "type": "B2C",
            "name": _SAMPLE_NAME,
            "billing_address": {
                "line1": "1 Sample Road",
                "city": "Sample",
                "state_code": state,
                "pincode": "400001",
            },
        },
        "product": {
            "name": _SAMPLE_NAME,
            "hsn_code": "7318",
            "unit": "NOS",
            "sale_price": 100,
            "gst_rate": 18,
        },
        "service": {"name": _SAMPLE_NAME, "sac_code": "998311", "rate": 100, "gst_rate": 18},
    }
    if customer_id := _first_id(pages.get("/books/customers")):
        samples["invoice"] = {"customer_id": customer_id, "invoice_date": today, "line_items": [line]}
        samples["quote"] = {"customer_id": customer_id, "quote_date": today, "line_items": [line]}
    return samples


# ---- the command


def _cannot_run(exc: BooksError, base_url: str) -> str:
    if isinstance(exc, AuthenticationError):
        return (
            "the API refused the key (401): check BOOKS_API_KEY or --api-key (keys are made in the Books UI)."
        )
    if isinstance(exc, PermissionDeniedError):
        return "the key may not read this account (403): use a key made for the books app in the Books UI."
    if isinstance(exc, RateLimitError):
        return "the organisation's quota is spent (429): run it again in a minute."
    if isinstance(exc, APIConnectionError):
        return f"could not reach {base_url}: check the network, and BOOKS_BASE_URL or --base-url."
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


async def run_doctor(
    *, api_key: str | None, base_url: str | None, validate: bool, as_json: bool, output: Output
) -> int:
    """Check the configured account against the spec, print the report; return the exit status (0, 1, 2)."""
    try:
        spec = load_spec_document()
    except OSError as exc:
        return _fail(output, f"cannot read the spec ({exc.strerror or exc}): reinstall books-async.")
    key = api_key if api_key is not None else os.environ.get("BOOKS_API_KEY", "")
    if not key.strip():
        return _fail(output, "no API key: set BOOKS_API_KEY or pass --api-key.")
    try:
        books = BooksClient(api_key=key, base_url=base_url, max_retries=2)
    except ConfigurationError as exc:  # a bad base URL: the message names it and what to use instead
        return _fail(output, str(exc).splitlines()[0])
    report = Report(base_url=books.base_url, spec_digest=spec.digest)
    async with books:
        try:  # the SDK's own client: limiter, retries, auth and redaction apply
            await _Doctor(books, spec, report).run(validate=validate)
        except BooksError as exc:
            return _fail(output, _cannot_run(exc, books.base_url))
        report.attempts = books.requests_sent
    if as_json:
        output.line(json.dumps(report.to_json(), indent=2))
    else:
        report.render(output)
    return report.exit_code


def _fail(output: Output, message: str) -> int:
    output.note(f"books-async doctor: {message}")
    return 2

"""What the caller is told once an attempt is over: status → exception, with a hint naming the fix.

Also the errors for an answer whose body could not be read whole, for a write whose outcome is unknown,
and for a call that :meth:`Transport.aclose` ended. Messages say what happened (method, path, status)
and then what to do; they never hold the key, headers or a whole body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

import orjson

from books_async._body import TooLarge, UnreadableBody
from books_async._config import Timeout
from books_async._exceptions import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BooksError,
    ClientClosedError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UnderlyingError,
    ValidationError,
    WriteAcceptedError,
)
from books_async._retry import NOT_PROCESSED_STATUSES, READ_ONLY_POSTS, parse_retry_after
from books_async._session import Flight

__all__ = ["ended_error", "explain_timeout", "outcome_unknown_error", "status_error", "unreadable_error"]

# Answers that are reads: an unreadable 2xx answer to anything else is a write that happened.
_READ_METHODS = frozenset({"GET", "HEAD"})

# Of an error answer whose body could not be read whole, the part kept for .body (the rest is no help).
_ERROR_BODY_KEPT = 64 * 1024


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}

_HINTS: dict[type[APIStatusError], str] = {
    ValidationError: "Fix the fields listed in .details and send again.",
    AuthenticationError: (
        "Check the API key (BooksClient(api_key=...) or BOOKS_API_KEY); keys are made in the Books UI."
    ),
    PermissionDeniedError: (
        "The key may not do this: keys are scoped to the books app, and some routes need an owner's key."
    ),
    NotFoundError: "No such object in this key's organisation.",
    ConflictError: "The object's current state forbids this; fetch it and check.",
    RateLimitError: (
        "The organisation's quota is spent; wait retry_after seconds (the client retries by itself)."
    ),
    ServerError: "The API failed; safe requests were already retried. Try again later.",
}

API_PREFIX = "/api/v1"
PRODUCTION_URL = "https://techliftdigital.in/api/v1"

# Collection paths whose POST creates: a 409 there is a unique value that already exists, not a state.
_CREATES = frozenset(
    {"/books/invoices", "/books/quotes", "/books/customers", "/books/products", "/books/services"}
)


def status_error(
    method: str,
    path: str,
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
    sent: int,
    *,
    base_url: str,
    note: str = "",
) -> APIStatusError:
    try:
        body: object = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = raw[:500].decode("utf-8", "replace")
    kind = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIStatusError)
    said = ""
    if isinstance(body, Mapping):
        error, message = body.get("error"), body.get("message")
        said = ": ".join(str(part).strip() for part in (error, message) if part)
    url = base_url + path
    text = f"{method} {path} -> {status}" + (f" {said}" if said else "")
    if not text.endswith((".", "!", "?")):  # the server's own message may end its sentence already
        text += "."
    if 300 <= status < 400:
        location = headers.get("Location", "?")
        return APIStatusError(
            _words(
                f"{method} {path} -> {status}: redirected to {location}, not followed so the API key "
                "cannot leak to another host. Point base_url at the final address.",
                note,
            ),
            status=status,
            body=body,
            method=method,
            url=url,
        )
    if kind is RateLimitError:
        return RateLimitError(
            _words(text, _HINTS[RateLimitError], note),
            status=status,
            body=body,
            method=method,
            url=url,
            retry_after=parse_retry_after(body, headers, datetime.now(UTC)),
        )
    if kind is PayloadTooLargeError:
        # Whatever the body says, if anything: Vercel, in front of the API, answers its own text 413 for
        # bodies over 4.5 MB, under the documented 5 MB. The size refused is what the caller can act on.
        return PayloadTooLargeError(
            _words(
                text,
                f"The server refused a request body of {sent:,} bytes as too large; the API documents "
                "5 MB, but what stands in front of it may allow less. Send fewer items per request (the "
                "bulk helpers split for you).",
                note,
            ),
            status=status,
            body=body,
            method=method,
            url=url,
            body_size=sent,
            refused_locally=False,
        )
    if kind is NotFoundError:
        hint = _not_found_hint(body, base_url)
    elif kind is ConflictError and method == "POST" and path in _CREATES:
        hint = (
            "Something this create must keep unique already exists in the organisation (an invoice or "
            "quote number, a product SKU): send another, or look up the existing one (for an invoice, "
            "books.invoices.find_by_number(number, invoice_date=...): numbers repeat each financial year)."
        )
    else:
        hint = _HINTS.get(kind, "")
    return kind(_words(text, hint, note), status=status, body=body, method=method, url=url)


def _not_found_hint(body: object, base_url: str) -> str:
    """Tell "no such object" from "no such route": the latter is a wrong base URL far more often."""
    # The API's 404 for a missing object is JSON; a router's 404 for a path it does not know is HTML or
    # text ("Cannot GET /books/..."), and the production URL without /api/v1 reaches a web site.
    prefix_missing = not urlsplit(base_url).path.rstrip("/").endswith(API_PREFIX)
    if prefix_missing:
        return (
            f"The path was not found at all: base_url ({base_url}) looks wrong, as it does not end in "
            f"{API_PREFIX}. The API's is {PRODUCTION_URL}."
        )
    if not isinstance(body, Mapping):
        return (
            f"The path was not found at all (the answer is not the API's): check base_url ({base_url}), and "
            "that whatever is in front of the API routes this path to it."
        )
    return _HINTS[NotFoundError]


def _words(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def unreadable_error(
    broken: UnreadableBody,
    method: str,
    path: str,
    headers: Mapping[str, str],
    flight: Flight,
    sent: int,
    *,
    base_url: str,
) -> BooksError:
    """The error for an answer whose status arrived but whose body could not be read whole.

    The status line is what the server said. An error status is still that error (``.body`` holds what
    arrived), so a 4xx is a known refusal and a 503 is still "not processed". A 2xx body that broke off
    or stalled is a transient failure for a read or an idempotent write (retried), and a write that
    happened for a POST; a 2xx body over ``max_response_bytes`` is :class:`ResponseTooLargeError` for a
    read and a write that happened otherwise.
    """
    status = cast(int, flight.status)
    reason = broken.reason
    url = base_url + path
    if isinstance(reason, TooLarge):
        why = f"the answer {reason.describe('max_response_bytes')}"
    else:
        library = reason.__cause__
        kind = library.kind if isinstance(library, UnderlyingError) else type(reason).__name__
        why = f"the answer's body could not be read ({kind})"
    if status >= 300:
        kept = broken.partial[:_ERROR_BODY_KEPT]
        error: BooksError = status_error(
            method,
            path,
            status,
            kept,
            headers,
            sent,
            base_url=base_url,
            note=f"(And {why}; .body holds what arrived.)",
        )
        error.__cause__ = None if isinstance(reason, TooLarge) else reason.__cause__
        return error
    reads = method in _READ_METHODS or (method == "POST" and path in READ_ONLY_POSTS)
    if isinstance(reason, TooLarge):
        too_large = ResponseTooLargeError(
            f"{method} {path} -> {status}: {why}. Pass BooksClient(max_response_bytes=...) if answers "
            "this large are expected.",
            status=status,
            method=method,
            url=url,
            limit=reason.limit,
            received=reason.received,
        )
        if reads:
            return too_large
        cause: BaseException | None = too_large
        partial = b""
    elif not flight.posted:
        return reason
    else:
        cause, partial = reason.__cause__, broken.partial
    accepted = WriteAcceptedError(
        f"{method} {path} -> {status}: the API accepted this write, but {why}, so the write happened: do "
        "not send it again. Read the object back (by its number or id).",
        status=status,
        body=partial,
        method=method,
        url=url,
    )
    accepted.__cause__ = cause
    return accepted


def outcome_unknown_error(method: str, path: str, exc: BooksError, *, base_url: str) -> OutcomeUnknownError:
    url = base_url + path
    if isinstance(exc, APIStatusError):
        return OutcomeUnknownError(
            f"{method} {path} -> {exc.status}: the API, or a gateway in front of it, failed after the "
            "request reached it, so it may have been processed. It was not retried, to avoid a "
            "duplicate: look the object up (e.g. by its number) before sending again.",
            method=method,
            url=url,
            status=exc.status,
            body=exc.body,
        )
    return OutcomeUnknownError(
        f"{method} {path}: the connection failed after the request was sent, so the API may have "
        "processed it. It was not retried, to avoid a duplicate: look the object up (e.g. by its number) "
        "before sending again.",
        method=method,
        url=url,
    )


def ended_error(method: str, path: str, flight: Flight, *, base_url: str) -> BooksError:
    """What a call ended by :meth:`aclose` raises, from how far it got."""
    url = base_url + path
    status = flight.status
    if flight.posted and flight.sent:
        if status is not None and status < 300:
            return WriteAcceptedError(
                f"{method} {path} -> {status}: the API accepted this write, but the client was closed "
                "(aclose()) before its answer was read, so the write happened: do not send it again. "
                "Read the object back (by its number or id).",
                status=status,
                body=b"",
                method=method,
                url=url,
            )
        if status is None or (status >= 500 and status not in NOT_PROCESSED_STATUSES):
            return OutcomeUnknownError(
                f"{method} {path}: the client was closed (aclose()) while this request was in flight, "
                "after it may have reached the API. Look the object up (e.g. by its number) before "
                "sending it again.",
                method=method,
                url=url,
                status=status,
            )
    return ClientClosedError(
        f"{method} {path}: the client was closed (aclose()) before this call finished, so it was "
        "stopped. Make the call again on an open client."
    )


_LIMITS = {
    "connect": "connecting took longer than Timeout.connect",
    "read": "the server was silent for longer than Timeout.read",
    "total": "the call, retries and their waits included, took longer than Timeout.total",
}


def explain_timeout(error: APITimeoutError, fired: str, limits: Timeout) -> APITimeoutError:
    """``error`` with the limit that fired (``connect``, ``read`` or ``total``) and how to change it."""
    seconds = {"connect": limits.connect, "read": limits.read, "total": limits.total}[fired]
    explained = APITimeoutError(
        f"{error} The {fired} limit fired: {_LIMITS[fired]} ({seconds}s). To allow longer, pass timeout= "
        "(seconds, or a Timeout) to BooksClient(...), to this one call, or to books.with_options(...).",
        request_sent=error.request_sent,
    )
    explained.__cause__ = error.__cause__
    return explained

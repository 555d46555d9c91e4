"""The one error hierarchy of books-async.

Only :class:`BooksError` and its subclasses escape the package::

    BooksError
    ├── ConfigurationError(ValueError)   bad argument or missing key, raised before any I/O
    ├── ClientClosedError(RuntimeError)  the client was used after aclose()
    ├── InvalidRequestError(ValueError)  a request body or parameter the API would reject (.details)
    ├── APIConnectionError               never reached the server, or no response
    │   └── APITimeoutError
    ├── OutcomeUnknownError              a POST may have been processed: look it up before resending
    │                                    (.status .body when the API answered 500/502/504)
    ├── APIStatusError                   .status .body .method .url
    │   ├── ValidationError              400 (.details)
    │   ├── AuthenticationError          401
    │   ├── PermissionDeniedError        403
    │   ├── NotFoundError                404
    │   ├── ConflictError                409
    │   │   └── NumberTakenError         ...by a stored document unlike the draft (.differences)
    │   ├── PayloadTooLargeError         413 (.body_size .limit .refused_locally)
    │   ├── RateLimitError               429 (.retry_after)
    │   └── ServerError                  5xx
    └── ResponseDecodeError              a 2xx body did not match the spec (.status .body)
        ├── ResponseTooLargeError        ...was over max_response_bytes; reading stopped at the cap
        └── WriteAcceptedError           ...of a write that happened: never resend it

Messages say what failed and what to do; none ever holds the API key, a header or a body. What aiohttp or
asyncio raised is never chained as is (its request information holds the headers, the key among them): the
``__cause__`` is an :class:`UnderlyingError`, a summary with the method, the redacted URL and any status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BooksError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ErrorDetail",
    "FieldDifference",
    "InvalidRequestError",
    "NotFoundError",
    "NumberTakenError",
    "OutcomeUnknownError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "UnderlyingError",
    "ValidationError",
    "WriteAcceptedError",
]


@attrs.frozen
class ErrorDetail:
    """One field failure, as the API's Zod-style ``details`` array reports it."""

    path: tuple[str | int, ...]
    message: str
    code: str

    @classmethod
    def from_wire(cls, raw: object) -> ErrorDetail:
        """Read one entry of a ``details`` array, tolerating missing or odd keys."""
        if not isinstance(raw, Mapping):
            return cls(path=(), message=str(raw), code="unknown")
        path = raw.get("path", ())
        parts: tuple[str | int, ...] = (
            tuple(p if isinstance(p, int) else str(p) for p in path)
            if isinstance(path, Sequence) and not isinstance(path, str)
            else ()
        )
        return cls(path=parts, message=str(raw.get("message", "")), code=str(raw.get("code", "unknown")))

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "<body>"
        return f"{where}: {self.message} ({self.code})"


class BooksError(Exception):
    """Base of every error books-async raises."""


class ConfigurationError(BooksError, ValueError):
    """A client argument or setting is wrong or missing; raised before any I/O."""


class InvalidRequestError(BooksError, ValueError):
    """A request the API would reject, caught before it was sent.

    ``details`` has the same shape as :attr:`ValidationError.details`, so callers can handle both alike.
    """

    def __init__(self, message: str, details: Sequence[ErrorDetail] = ()) -> None:
        self.details: tuple[ErrorDetail, ...] = tuple(details)
        lines = [message, *(f"  - {d}" for d in self.details)]
        super().__init__("\n".join(lines))


class ClientClosedError(BooksError, RuntimeError):
    """The client was closed (``aclose()`` or the end of ``async with``); make a new one."""


class APIConnectionError(BooksError):
    """The request never reached the server, or no response came back.

    ``request_sent`` is ``False`` only when the request provably never left (the connection could not be
    made); only then may a POST be retried without risking a duplicate.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class OutcomeUnknownError(BooksError):
    """A non-idempotent request failed after it may have reached the server.

    It is never retried automatically: look the object up (e.g. by invoice number) before resending.
    ``status`` and ``body`` are set when the API did answer, with a status that does not say whether it
    acted (a 500, 502 or 504 may come from a gateway after the API processed the request); otherwise
    ``None`` (the connection failed or timed out).
    """

    def __init__(
        self, message: str, *, method: str, url: str, status: int | None = None, body: object = None
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        super().__init__(message)


class APIStatusError(BooksError):
    """The API answered with an error status."""

    def __init__(self, message: str, *, status: int, body: object, method: str, url: str) -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        super().__init__(message)


class ValidationError(APIStatusError):
    """400: the API rejected the payload; ``details`` lists every failing field."""

    def __init__(self, message: str, *, status: int, body: object, method: str, url: str) -> None:
        super().__init__(message, status=status, body=body, method=method, url=url)
        raw = body.get("details", ()) if isinstance(body, Mapping) else ()
        self.details: tuple[ErrorDetail, ...] = (
            tuple(ErrorDetail.from_wire(d) for d in raw)
            if isinstance(raw, Sequence) and not isinstance(raw, str)
            else ()
        )

    def __str__(self) -> str:
        base = super().__str__()
        if not self.details:
            return base
        return "\n".join([base, *(f"  - {d}" for d in self.details)])


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (another app's module, or an owner-only route)."""


class NotFoundError(APIStatusError):
    """404: no such object in this organisation."""


class ConflictError(APIStatusError):
    """409: a uniqueness or state conflict (duplicate invoice number, converting a quote twice)."""


@attrs.frozen
class FieldDifference:
    """One field where a stored document differs from the draft that claims its number."""

    path: tuple[str | int, ...]
    """Where, as in :attr:`ErrorDetail.path`: ``("line_items", 0, "rate")``."""
    stored: object
    """The stored value (``None`` when the API left it out)."""
    draft: object
    """The draft's value."""

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: stored {_shown(self.stored)}, draft {_shown(self.draft)}"


def _shown(value: object) -> str:
    if value is None:
        return "(absent)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class NumberTakenError(ConflictError):
    """409: the document's number is taken by a stored document that differs from it; nothing was created.

    A bulk create that finds a number already stored compares the stored document with the draft; when they
    match, the stored one is the item's success (a rerun), and when they differ the item fails with this.
    ``number`` is the number, ``existing`` the stored document, ``differences`` the fields that differ. The
    status is 409 whether the API refused the draft or a look-up found the number before it was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        body: object,
        method: str,
        url: str,
        number: str,
        existing: object,
        differences: Sequence[FieldDifference],
    ) -> None:
        super().__init__(message, status=409, body=body, method=method, url=url)
        self.number = number
        self.existing = existing
        self.differences: tuple[FieldDifference, ...] = tuple(differences)


class PayloadTooLargeError(APIStatusError):
    """413: the request body was too large, for the server or, before sending, for the client's limit.

    ``body_size`` is the size in bytes of the body refused (``None`` if unknown). ``refused_locally`` says
    the client refused it before sending, against ``limit`` (the API's 5 MB, or a bulk job's
    ``max_request_bytes``); otherwise a server answered 413, whatever its body, and ``limit`` is ``None``:
    the real ceiling is below ``body_size``, and may be below the documented 5 MB (Vercel, in front of the
    API, refuses bodies over 4.5 MB).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: object,
        method: str,
        url: str,
        body_size: int | None = None,
        limit: int | None = None,
        refused_locally: bool = False,
    ) -> None:
        super().__init__(message, status=status, body=body, method=method, url=url)
        self.body_size = body_size
        self.limit = limit
        self.refused_locally = refused_locally


class RateLimitError(APIStatusError):
    """429: the organisation's quota is spent; ``retry_after`` says for how many seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: object,
        method: str,
        url: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body, method=method, url=url)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the API failed; safe requests were already retried."""


class ResponseDecodeError(BooksError):
    """A successful response did not match the spec (the cause is chained).

    ``status`` and ``body`` (the raw bytes) are set when the error comes from an answer, so the data can
    still be read; the message never quotes the body.
    """

    def __init__(self, message: str, *, status: int | None = None, body: bytes | None = None) -> None:
        self.status = status
        self.body = body
        super().__init__(message)


class ResponseTooLargeError(ResponseDecodeError):
    """A 2xx answer was larger than the client accepts (``max_response_bytes``), so reading stopped.

    ``limit`` is the cap in bytes and ``received`` how many bytes had been read when reading stopped (0
    when the declared ``Content-Length`` alone was over the cap). ``body`` is ``None``: nothing of it is
    kept.
    """

    def __init__(
        self, message: str, *, status: int, method: str, url: str, limit: int, received: int
    ) -> None:
        super().__init__(message, status=status, body=None)
        self.method = method
        self.url = url
        self.limit = limit
        self.received = received


class WriteAcceptedError(ResponseDecodeError):
    """The API accepted a write (a 2xx answer) but its answer could not be read: the write happened.

    Never send it again as if it had failed. ``status`` and ``body`` (raw bytes) hold what came back;
    ``method`` and ``url`` say which call it was.
    """

    def __init__(self, message: str, *, status: int, body: bytes, method: str, url: str) -> None:
        super().__init__(message, status=status, body=body)
        self.method = method
        self.url = url


class UnderlyingError(BooksError):
    """What the HTTP library raised, as a summary: the ``__cause__`` of a connection or body failure.

    Never raised itself. The library's own exception is not chained, because its request information holds
    the request's headers (the API key among them); this keeps what helps to debug: ``kind`` (the
    library's exception type, e.g. ``aiohttp.ClientPayloadError``), its words, ``method``, ``url``
    (credentials redacted) and ``status`` if an answer had begun.
    """

    def __init__(self, message: str, *, kind: str, method: str, url: str, status: int | None) -> None:
        self.kind = kind
        self.method = method
        self.url = url
        self.status = status
        super().__init__(message)

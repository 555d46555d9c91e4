"""books-async: the async-first Python SDK for the techlift Books API.

async with BooksClient() as books:
    page = await books.invoices.list(status=InvoiceStatus.sent)
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from books_async._client import DEFAULT_BASE_URL, BooksClient
from books_async._config import RateLimit, Timeout
from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BooksError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ErrorDetail,
    FieldDifference,
    InvalidRequestError,
    NotFoundError,
    NumberTakenError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
    UnderlyingError,
    ValidationError,
    WriteAcceptedError,
)
from books_async._extra import extra
from books_async._limiter import Limiter, SlidingWindowLimiter
from books_async._pool import BooksClients
from books_async._response import RawResponse
from books_async._types import NOT_GIVEN, NotGiven
from books_async._version import __version__

if _TYPE_CHECKING:
    from books_async.bulk import BulkResult

__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BooksClient",
    "BooksClients",
    "BooksError",
    "BulkResult",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ErrorDetail",
    "FieldDifference",
    "InvalidRequestError",
    "Limiter",
    "NotFoundError",
    "NotGiven",
    "NumberTakenError",
    "OutcomeUnknownError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "SlidingWindowLimiter",
    "Timeout",
    "UnderlyingError",
    "ValidationError",
    "WriteAcceptedError",
    "__version__",
    "extra",
]


def __getattr__(name: str) -> object:
    # The bulk helpers load on first use (books.bulk, or this name): `import books_async` stays light.
    if name == "BulkResult":
        from books_async.bulk import BulkResult

        return BulkResult
    raise AttributeError(f"module 'books_async' has no attribute {name!r}")


# Tracebacks and reprs show the public path users import from, not our private module layout.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj

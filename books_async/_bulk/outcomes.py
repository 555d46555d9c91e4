"""What a bulk item's failure says about the API's state, and how a job that meets a bug still reports.

A failed write is one of three things. Refused or never sent (400, 404, 409, 413, 429, 503, a connection
that could not be made): nothing changed, and sending it again is safe. Accepted (:class:`WriteAcceptedError`,
a 2xx whose answer was unreadable): it happened. Anything else may have happened: the connection broke after
the request left, or a gateway answered 500/502/504 after its upstream may have done the work. The transport
reports the last kind as :class:`OutcomeUnknownError` or, for gateway answers, as :class:`ServerError`; both
are read the same way here.
"""

from __future__ import annotations

from books_async._exceptions import (
    APIConnectionError,
    AuthenticationError,
    BooksError,
    ClientClosedError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ServerError,
)

__all__ = ["FATAL", "attach_partial", "maybe_processed", "unknown"]

FATAL = (AuthenticationError, PermissionDeniedError, ClientClosedError)
"""Errors no item can get past (a bad key, a closed client): once met, the remaining items are not sent and
fail with the same error, instead of spending the quota on thousands of identical failures."""


def maybe_processed(exc: BooksError) -> bool:
    """Whether a write that failed with ``exc`` may have been carried out all the same."""
    if isinstance(exc, OutcomeUnknownError):
        return True
    if isinstance(exc, ServerError):
        # "Unavailable" is answered before any work; every other 5xx can come after it.
        return exc.status != 503
    return isinstance(exc, APIConnectionError) and exc.request_sent


def unknown(message: str, *, method: str, url: str, cause: BaseException) -> OutcomeUnknownError:
    """An item's :class:`OutcomeUnknownError`, with the failure that left it unknown as its cause."""
    error = OutcomeUnknownError(message, method=method, url=url)
    error.__cause__ = cause
    return error


def attach_partial(
    bug: Exception, result: object, *, succeeded: int, failed: int, cancelled: int
) -> Exception:
    """Return ``bug`` carrying the job's partial result as ``bug.bulk_result``, and a note saying so.

    A bug (anything but a :class:`BooksError`) stops a bulk job: no new item starts, the items in flight
    finish, then the bug propagates, as itself, so its traceback points at it. The caller can still tell
    which items were done, which failed and which were never tried.
    """
    # Set through setattr: exceptions of any class take attributes, but their types do not declare this one.
    setattr(bug, "bulk_result", result)  # noqa: B010
    bug.add_note(
        f"books.bulk: the job stopped on this error after {succeeded} item(s) succeeded and {failed} "
        f"failed; {cancelled} were never tried. The partial BulkResult is in the error's bulk_result "
        "attribute (getattr(exc, 'bulk_result', None))."
    )
    return bug

"""Exit statuses, and each SDK error as one line that says what to do in flags and environment variables.

The CLI's users are in a shell: a hint names ``--api-key`` or ``BOOKS_API_KEY``, never ``BooksClient(...)``.
"""

from __future__ import annotations

from typing import Final

from books_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BooksError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
    WriteAcceptedError,
)

__all__ = ["EXIT_API", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_USAGE", "UsageError", "explain"]

EXIT_OK: Final = 0
EXIT_API: Final = 1
"""The API refused the request, could not be reached, or answered what the SDK cannot read."""
EXIT_USAGE: Final = 2
"""A bad flag or argument, or a missing or malformed setting (argparse uses 2 as well)."""
EXIT_INTERRUPTED: Final = 130
EXIT_PIPE: Final = 141
"""128 + SIGPIPE: what a shell reports for ``yes | head``; the reader left, the output is incomplete."""

NO_KEY: Final = "no API key: pass --api-key or set BOOKS_API_KEY (try the sandbox: books-async sandbox)."


class UsageError(Exception):
    """A problem with what the user typed or configured; one line on stderr and exit status 2."""


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _details(exc: ValidationError | InvalidRequestError) -> str:
    # Each detail already names its field path; joined, they keep the message to one line.
    return "; ".join(str(d) for d in exc.details[:5]) + (" ..." if len(exc.details) > 5 else "")


def explain(exc: BooksError, *, base_url: str, missing: str = "") -> tuple[str, int]:
    """The one line to print for ``exc`` and the exit status (1 for the API, 2 for settings and input).

    ``missing`` is the whole line for a 404, when the command knows what was missing (``get ID``).
    """
    if isinstance(exc, ConfigurationError):
        message = _one_line(exc)
        if "base_url" in message:
            return f"check --base-url or BOOKS_BASE_URL: {message}", EXIT_USAGE
        return message, EXIT_USAGE
    if isinstance(exc, InvalidRequestError):
        return f"{_one_line(exc)} {_details(exc)}".strip(), EXIT_USAGE
    if isinstance(exc, NotFoundError) and missing:
        return missing, EXIT_API
    return _api_hint(exc, base_url), EXIT_API


def _api_hint(exc: BooksError, base_url: str) -> str:
    if isinstance(exc, AuthenticationError):
        return (
            "the API refused the key (401): check --api-key or BOOKS_API_KEY (keys are made in the Books UI)."
        )
    if isinstance(exc, PermissionDeniedError):
        return "the key may not do this (403): use a key made for the books app, or an owner's key."
    if isinstance(exc, NotFoundError):
        return "not found (404): check the id (the list command shows them)."
    if isinstance(exc, RateLimitError):
        wait = f" in {exc.retry_after:.0f} s" if exc.retry_after is not None else " in a minute"
        return f"the organisation's quota of requests is spent (429): run it again{wait}."
    if isinstance(exc, ValidationError):
        return f"the API refused the request (400): {_details(exc) or _one_line(exc)}"
    if isinstance(exc, ConflictError):
        return f"the API refused the change (409): {_one_line(exc)}"
    if isinstance(exc, ServerError):
        return f"the API failed ({exc.status}): run it again later."
    if isinstance(exc, APIStatusError):
        return f"the API answered {exc.status}: {_one_line(exc)}"
    if isinstance(exc, OutcomeUnknownError):
        return (
            f"{exc.method} {exc.url} may or may not have happened: look the document up (get) before you "
            "send it again."
        )
    if isinstance(exc, APITimeoutError):
        return f"timed out talking to {base_url}: check the network, and --base-url or BOOKS_BASE_URL."
    if isinstance(exc, APIConnectionError):
        return f"could not connect to {base_url}: check the network, and --base-url or BOOKS_BASE_URL."
    if isinstance(exc, WriteAcceptedError):
        return f"the API did it, but its answer could not be read: do not run it again. ({_one_line(exc)})"
    if isinstance(exc, ResponseDecodeError):
        return (
            f"the API's answer could not be read ({_one_line(exc)}): books-async doctor shows what differs."
        )
    return _one_line(exc)

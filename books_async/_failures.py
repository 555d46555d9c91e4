"""The one place where what aiohttp and asyncio raise during an attempt becomes a :class:`BooksError`.

An attempt runs from connecting to the last byte of its body, and both halves fail the same ways (a reset,
a stall past the read timeout, a connection cut mid-way, a malformed answer), so both go through
:func:`translate`. What it returns is raised *outside* the ``except`` block that caught the library's
exception, with an :class:`UnderlyingError` summary as its ``__cause__``: the original is dropped, not
chained nor left as ``__context__``, because its request information holds the request's headers, the API
key among them, and its traceback holds frames whose locals do too.

:func:`no_silent_resend` is a client middleware for sessions the user passes in: aiohttp resends a GET or
DELETE once by itself when a kept-alive connection drops, and that resend would skip the limiter, our
backoff and our log, and turn a DELETE whose answer was lost into a 404 we cannot tell apart.
"""

from __future__ import annotations

from typing import Literal

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from books_async._auth import Credentials
from books_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    BooksError,
    ConfigurationError,
    UnderlyingError,
)

__all__ = ["TRANSPORT_ERRORS", "ConnectionLost", "Phase", "no_silent_resend", "summarise", "translate"]

Phase = Literal["send", "body"]
"""``send``: before the status line arrived; ``body``: while its body was being read."""

_WORDS_MAX = 300


class ConnectionLost(Exception):  # noqa: N818 - internal, never escapes: `translate` turns it into ours
    """A dropped connection, in a type aiohttp's resend loop does not catch (see :func:`no_silent_resend`)."""

    def __init__(self, original: aiohttp.ClientError) -> None:
        super().__init__(type(original).__name__)
        self.original = original


async def no_silent_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Let a dropped connection reach our retry loop instead of aiohttp's silent resend."""
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never resent by aiohttp, and it must stay recognisable: it proves nothing was sent
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise ConnectionLost(exc) from exc


# TimeoutError (asyncio's too) is an OSError. HttpProcessingError is the parser's own (aiohttp's pure-Python
# parser lets it out unwrapped from a body it cannot decode). RuntimeError and ValueError are what aiohttp
# raises for a closed session, a loop it does not belong to, or a header it refuses. None may reach a caller.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    aiohttp.ClientError,
    HttpProcessingError,
    OSError,
    RuntimeError,
    ValueError,
    ConnectionLost,
)
"""What :func:`translate` accepts: catch exactly these around a call into aiohttp."""


def _kind(exc: BaseException) -> str:
    cls = type(exc)
    package = cls.__module__.partition(".")[0]
    return cls.__qualname__ if package == "builtins" else f"{package}.{cls.__qualname__}"


def summarise(
    exc: BaseException, *, method: str, url: str, status: int | None, credentials: Credentials
) -> UnderlyingError:
    """Return what ``exc`` says, with no headers and no credentials, to chain in its place."""
    if isinstance(exc, ConnectionLost):
        exc = exc.original
    kind = _kind(exc)
    words = credentials.scrub(str(exc))
    if len(words) > _WORDS_MAX:
        words = words[:_WORDS_MAX] + "..."
    where = f"{method} {url}" + (f", status {status}" if status is not None else "")
    return UnderlyingError(
        f"{kind}: {words} ({where})" if words else f"{kind} ({where})",
        kind=kind,
        method=method,
        url=url,
        status=status,
    )


def _why_untrusted(exc: aiohttp.ClientConnectorCertificateError) -> str:
    reason = getattr(exc.certificate_error, "verify_message", None)
    return reason if isinstance(reason, str) and reason else type(exc.certificate_error).__name__


def translate(
    exc: BaseException,
    *,
    phase: Phase,
    method: str,
    path: str,
    url: str,
    base_url: str,
    status: int | None = None,
    credentials: Credentials,
) -> BooksError:
    """Return the error to raise for ``exc``, one of :data:`TRANSPORT_ERRORS`, with its summary as cause.

    Args:
        phase: where the attempt was when ``exc`` happened.
        url: the request's URL as it may be shown (credentials redacted).
        base_url: the API's address as it may be shown, for the "could not connect" message.
        status: the answer's status, once it arrived.
    """
    cause = summarise(exc, method=method, url=url, status=status, credentials=credentials)
    original = exc.original if isinstance(exc, ConnectionLost) else exc
    where = f"{method} {path}" if status is None else f"{method} {path} -> {status}"
    error: BooksError
    if isinstance(original, aiohttp.ConnectionTimeoutError):
        error = APITimeoutError(
            f"{where}: connecting to the API timed out; nothing was sent.", request_sent=False
        )
    elif isinstance(original, aiohttp.ClientConnectorCertificateError):
        error = APIConnectionError(
            f"{where}: the TLS certificate of {base_url} could not be verified ({_why_untrusted(original)}); "
            "nothing was "
            "sent. If a company proxy or CA signs it, pass BooksClient(ssl=ssl.create_default_context("
            'cafile="company-ca.pem")).',
            request_sent=False,
        )
    elif isinstance(original, aiohttp.ClientConnectorError):
        reason = original.os_error.strerror or cause.kind
        error = APIConnectionError(
            f"{where}: could not connect to {base_url} ({reason}); nothing was sent. Check the network and "
            "base_url.",
            request_sent=False,
        )
    elif isinstance(original, TimeoutError):  # aiohttp's read timeouts and its total deadline alike
        error = APITimeoutError(
            f"{where}: the API did not answer in time."
            if phase == "send"
            else f"{where}: the answer's body stalled past the timeout."
        )
    elif isinstance(original, aiohttp.ClientPayloadError | HttpProcessingError) and phase == "body":
        error = APIConnectionError(f"{where}: the answer's body was cut short or malformed ({cause.kind}).")
    elif isinstance(original, aiohttp.ClientError | HttpProcessingError | OSError):
        error = APIConnectionError(
            f"{where}: the connection failed ({cause.kind}) before an answer came."
            if phase == "send"
            else f"{where}: the connection broke off ({cause.kind}) in the middle of the answer's body."
        )
    elif isinstance(original, ValueError) and phase == "send":
        error = ConfigurationError(
            f"{where}: aiohttp refused to send the request ({cause}). Nothing was sent; check the "
            "session passed to BooksClient(session=...) (its default auth, trust_env) and extra_headers."
        )
    else:  # a RuntimeError: aiohttp in a state it should not be in; assume the worst for a POST
        error = APIConnectionError(f"{where}: aiohttp failed ({cause}).")
    error.__cause__ = cause
    return error

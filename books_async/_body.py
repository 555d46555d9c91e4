"""Reading an answer's body with a bound on memory, as part of the attempt that asked for it.

A body can be cut short, stall, be malformed, or be far larger than any answer of the API (a 2 GB
download, an endless chunked stream, a decompression bomb, a 2 GB error page). :func:`read_body` counts the
bytes as they arrive, after decompression, and stops at the cap; it never asks aiohttp for "everything".
Failures come back as :class:`UnreadableBody`, for the transport to turn into the error the call's method
and the answer's status call for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import aiohttp

from books_async._exceptions import BooksError
from books_async._failures import TRANSPORT_ERRORS

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "TooLarge", "UnreadableBody", "read_body"]

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The largest answer a client reads into memory by default: far above any JSON answer of the API (a page of
100 invoices is well under 1 MB), far below what would hurt a worker."""


@final
class TooLarge:
    """The body passed the cap: ``received`` bytes had been read (0 if the declared length was enough)."""

    __slots__ = ("declared", "limit", "received")

    def __init__(self, limit: int, received: int, declared: int | None) -> None:
        self.limit = limit
        self.received = received
        self.declared = declared

    def describe(self, setting: str) -> str:
        """Why reading stopped, in words for a message; ``setting`` names the cap (``max_response_bytes``)."""
        if self.received == 0 and self.declared is not None:
            return f"declared {self.declared:,} bytes, over {setting} ({self.limit:,})"
        return f"passed {setting} ({self.limit:,} bytes) and was not read further"


class UnreadableBody(Exception):  # noqa: N818 - internal: the transport raises a BooksError in its place
    """Reading a body failed; ``partial`` is what had arrived (at most the cap)."""

    def __init__(self, reason: BooksError | TooLarge, partial: bytes) -> None:
        super().__init__(type(reason).__name__)
        self.reason = reason
        self.partial = partial


async def read_body(
    response: aiohttp.ClientResponse,
    limit: int,
    translate: Callable[[BaseException], BooksError],
) -> bytes:
    """Return the whole body of ``response``, decompressed, if it is at most ``limit`` bytes.

    Raises:
        UnreadableBody: the body broke off, stalled, was malformed (``reason`` is what ``translate`` made of
            the library's exception) or passed ``limit`` (``reason`` is a :class:`TooLarge`).
    """
    declared = response.content_length
    if declared is not None and declared > limit and "Content-Encoding" not in response.headers:
        raise UnreadableBody(TooLarge(limit, 0, declared), b"")
    content = response.content
    parts: list[bytes] = []
    received = 0
    failure: BooksError | None = None
    try:
        while chunk := await content.readany():
            received += len(chunk)
            if received > limit:
                break
            parts.append(chunk)
    except TRANSPORT_ERRORS as exc:
        # Kept, and raised below: raising here would chain aiohttp's exception as __context__.
        failure = translate(exc)
    partial = parts[0] if len(parts) == 1 else b"".join(parts)
    if failure is not None:
        raise UnreadableBody(failure, partial)
    if received > limit:
        raise UnreadableBody(TooLarge(limit, received, declared), partial)
    return partial

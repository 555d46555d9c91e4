"""A 2xx body read in chunks as it arrives (downloads of any size): :class:`ByteStream`.

A failure mid-body is translated by the callable the transport hands in (the same translation as any
attempt's), and a cap on the bytes accepted is enforced as they arrive.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from urllib.parse import unquote

import aiohttp

from books_async._body import TooLarge
from books_async._exceptions import BooksError, ResponseTooLargeError
from books_async._failures import TRANSPORT_ERRORS

__all__ = ["ByteStream"]

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class ByteStream:
    """A response body being received; read it with :meth:`chunks` inside :meth:`Transport.stream`."""

    __slots__ = (
        "_content_type",
        "_failed",
        "_method",
        "_path",
        "_response",
        "_url",
        "content_length",
        "filename",
    )

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        failed: Callable[[BaseException], BooksError],
        url: str,
        method: str,
        path: str,
    ) -> None:
        self._response = response
        self._failed = failed
        self._url = url
        self._method = method
        self._path = path
        self.content_length: int | None = response.content_length
        # aiohttp reports application/octet-stream for an answer without the header; None says it was absent.
        self._content_type = response.content_type if "Content-Type" in response.headers else None
        match = _FILENAME.search(response.headers.get("Content-Disposition", ""))
        self.filename: str | None = unquote(match.group(1)) if match else None
        """The file name the server suggests. Untrusted: never use it as a path without sanitising."""

    @property
    def content_type(self) -> str | None:
        """The media type the server declared, without parameters (``application/pdf``); None if none."""
        return self._content_type

    async def chunks(self, size: int = 64 * 1024, *, max_bytes: int | None = None) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes, as they arrive.

        Args:
            max_bytes: the most bytes to accept. A larger body raises :class:`ResponseTooLargeError` once
                past it (at once, reading nothing, when its declared ``Content-Length`` is already over).
                ``None``: no cap.

        Raises:
            APIConnectionError: the connection broke mid-body, or the body was malformed.
            APITimeoutError: the server went silent for longer than the read timeout.
            ResponseTooLargeError: the body is larger than ``max_bytes``.
            ClientClosedError: the client was closed while the body was being read.
        """
        response = self._response
        declared = self.content_length
        if (
            max_bytes is not None
            and declared is not None
            and declared > max_bytes
            and "Content-Encoding" not in response.headers
        ):
            raise self._too_large(TooLarge(max_bytes, 0, declared))
        received = 0
        pieces = response.content.iter_chunked(size)
        while True:
            try:
                chunk = await anext(pieces)
            except StopAsyncIteration:
                return
            except TRANSPORT_ERRORS as exc:
                failure = self._failed(exc)
            else:
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise self._too_large(TooLarge(max_bytes, received, declared))
                yield chunk
                continue
            # Raised here, out of the except block, so aiohttp's exception is not left as __context__.
            raise failure

    def _too_large(self, why: TooLarge) -> ResponseTooLargeError:
        status = self._response.status
        return ResponseTooLargeError(
            f"{self._method} {self._path} -> {status}: the body {why.describe('max_bytes')}.",
            status=status,
            method=self._method,
            url=self._url,
            limit=why.limit,
            received=why.received,
        )

"""Writing downloaded PDFs: safe names, a temp file renamed into place, and the checks that a PDF is whole.

Nothing here speaks HTTP: :func:`write_pdf` reads any :class:`Body` (the resources' streamed answer, or a
test's fake), so the file rules are tested on their own. File I/O runs in threads, off the event loop, and a
reader never sees a partial file: bytes go to a temp file in the target's directory, renamed over the target
only once the whole body arrived and looks like a PDF; on any failure, cancellation included, it is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

import attrs

from books_async._exceptions import APIConnectionError, ResponseDecodeError, ResponseTooLargeError

__all__ = [
    "MAX_PDF_BYTES",
    "Body",
    "PDFFile",
    "complete_size",
    "is_complete_pdf",
    "safe_filename",
    "write_pdf",
]

# Downloads read the socket in 64 KiB pieces and hand the disk 256 KiB at a time: few thread hops per file,
# and at most ~320 KiB in memory per download whatever the file size (times concurrency, overall).
_READ_CHUNK = 64 * 1024
_WRITE_CHUNK = 256 * 1024
_PDF_HEADER = b"%PDF-"
_PDF_TRAILER = b"%%EOF"
_TRAILER_WINDOW = 1024
_MAX_NAME = 120
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
MAX_PDF_BYTES = 100 * 1024 * 1024
"""The default size cap of one downloaded PDF (100 MiB): far above any invoice, far below a full disk."""


@attrs.frozen(kw_only=True)
class PDFFile:
    """A PDF on disk, as :meth:`Bulk.download_pdfs` left it."""

    id: str
    """The invoice's or quote's id."""
    path: Path
    size: int
    """Bytes on disk."""
    skipped: bool = False
    """True when a complete file was already there and ``overwrite=False`` kept it."""


class Body(Protocol):
    """A response body being received, as :func:`write_pdf` reads it (the transport's ``ByteStream``)."""

    @property
    def content_length(self) -> int | None: ...

    def chunks(self, size: int = ..., *, max_bytes: int | None = ...) -> AsyncIterator[bytes]: ...


def safe_filename(suggested: str | None, fallback: str) -> str:
    """Return a file name safe to create inside the download directory, from an untrusted suggestion.

    The server's ``Content-Disposition`` name is untrusted. Only its last path component is kept (``/``
    and ``\\`` both count), characters outside ``[A-Za-z0-9._-]`` become ``-``, leading dots and dashes
    are dropped (no hidden files, nothing that reads as an option), it is cut to 120 characters and ends
    in ``.pdf``. ``fallback`` is used when nothing usable is left, or for a reserved Windows device name.
    """
    if suggested:
        base = suggested.replace("\\", "/").rsplit("/", 1)[-1]
        base = _UNSAFE_NAME.sub("-", base).lstrip(".-")
        stem, dot, ext = base.rpartition(".")
        if not dot or ext.lower() != "pdf":
            stem = base
        stem = stem.rstrip(".-")[: _MAX_NAME - 4]
        if stem and stem.split(".", 1)[0].upper() not in _WINDOWS_RESERVED:
            return f"{stem}.pdf"
    return fallback


def is_complete_pdf(path: Path) -> bool:
    """Return whether ``path`` looks like a whole PDF: non-empty, ``%PDF-`` first, ``%%EOF`` in its last KiB.

    A cheap check, not a parse: it tells a finished download from a missing, empty or cut-off one. Blocking
    (file I/O): call it through ``asyncio.to_thread`` from async code.
    """
    try:
        with path.open("rb") as f:
            if f.read(len(_PDF_HEADER)) != _PDF_HEADER:
                return False
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TRAILER_WINDOW))
            return _PDF_TRAILER in f.read()
    except OSError:
        return False


def complete_size(path: Path) -> int | None:
    """The size of ``path`` if it is a complete PDF (see :func:`is_complete_pdf`), else None. Blocking."""
    return path.stat().st_size if is_complete_pdf(path) else None


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _open_temp(target: Path) -> tuple[BinaryIO, str]:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    return os.fdopen(fd, "wb"), tmp


def _close_opened(opening: asyncio.Future[tuple[BinaryIO, str]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        file, tmp = opening.result()
        file.close()
        _discard(tmp)


async def _open_temp_off_loop(target: Path) -> tuple[BinaryIO, str]:
    opening = asyncio.ensure_future(asyncio.to_thread(_open_temp, target))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        # The thread creates the file even though we were cancelled: remove it once it exists. Waiting (the
        # thread takes microseconds) removes it before the cancellation propagates, unless cancelled again.
        opening.add_done_callback(_close_opened)
        await asyncio.wait([opening])
        raise


def _finish(file: BinaryIO, data: bytearray, tmp: str, target: Path) -> None:
    # One thread hop for the last write, the close and the rename: a typical PDF is smaller than one chunk.
    if data:
        file.write(data)
    file.close()
    os.replace(tmp, target)


def _check_header(written: int, pending: bytearray, target: Path) -> None:
    if written == 0 and not pending.startswith(_PDF_HEADER):
        raise ResponseDecodeError(f"The answer for {target.name} is not a PDF.")


def _too_big(target: Path, max_bytes: int) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"The PDF for {target.name} is over {max_bytes:,} bytes, the max_file_bytes cap; it was not saved. "
        "Pass a larger max_file_bytes if such a file is expected."
    )


async def write_pdf(body: Body, target: Path, max_bytes: int) -> int:
    """Stream ``body`` into ``target`` through a temp file in the same directory; return the bytes written.

    The temp file is renamed over ``target`` only once the whole body arrived and looks like a PDF, so a
    reader never sees a partial file. On any failure, cancellation included, the temp file is removed. A body
    over ``max_bytes`` is refused: up front if its length is declared, else as soon as it passes the cap.

    Raises:
        ResponseDecodeError: the body is not a PDF, or is over ``max_bytes``.
        APIConnectionError: the body ended before its declared length, or without ``%%EOF``.
    """
    if body.content_length is not None and body.content_length > max_bytes:
        raise _too_big(target, max_bytes)
    file, tmp = await _open_temp_off_loop(target)
    try:
        written = 0
        pending = bytearray()
        tail = b""
        pieces = body.chunks(_READ_CHUNK, max_bytes=max_bytes)
        while True:
            try:
                piece = await anext(pieces)
            except StopAsyncIteration:
                break
            except ResponseTooLargeError as exc:
                raise _too_big(target, max_bytes) from exc
            pending += piece
            tail = (tail + piece[-_TRAILER_WINDOW:])[-_TRAILER_WINDOW:]
            if len(pending) >= _WRITE_CHUNK:
                _check_header(written, pending, target)
                data, pending = pending, bytearray()
                await asyncio.to_thread(file.write, data)
                written += len(data)
        _check_header(written, pending, target)
        total = written + len(pending)
        if body.content_length is not None and total != body.content_length:
            raise APIConnectionError(f"The download of {target.name} ended early ({total:,} bytes).")
        if _PDF_TRAILER not in tail:
            # A PDF ends with %%EOF: without it the body was cut off, whatever the headers said.
            raise APIConnectionError(f"The download of {target.name} was cut off (no %%EOF).")
        await asyncio.to_thread(_finish, file, pending, tmp, target)
    except BaseException:
        # Synchronous on purpose: this cleanup must finish even if the task is cancelled again meanwhile,
        # and closing and unlinking one temp file is quick. Then re-raise: never swallow cancellation.
        file.close()
        _discard(tmp)
        raise
    return total

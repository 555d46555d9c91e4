"""When the reader of stdout goes away (``books-async invoices list | head``): end quietly, status 141."""

from __future__ import annotations

import contextlib
import os
import sys

from books_async.cli._errors import EXIT_PIPE

__all__ = ["reader_gone"]


def reader_gone() -> int:
    """Send the rest of stdout to the null device and return 141 (128 + SIGPIPE), as ``yes | head`` ends.

    SIGPIPE itself stays ignored (Python's default): restoring it would also kill the process on a write to
    a reset socket. Without the null device, the interpreter's last flush of stdout would print
    "Exception ignored ... BrokenPipeError" on the way out.
    """
    # Where stdout is not a file (a test's capture), there is no descriptor to replace, and no last flush.
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    return EXIT_PIPE

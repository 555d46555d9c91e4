"""The text of a PDF for assertions: poppler's ``pdftotext -layout``, else pypdf's extraction, with a warning.

CI installs poppler-utils best-effort (``.ci/run``); where it is missing the tests still run and check the
text, through pypdf, and say so in a warning rather than skipping.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings

from pypdf import PdfReader

__all__ = ["pdf_text"]


def pdf_text(data: bytes) -> str:
    """Return the text of every page of ``data``, pages separated by form feeds."""
    exe = shutil.which("pdftotext")
    if exe is None:
        warnings.warn("pdftotext not found: checking PDF text with pypdf instead", stacklevel=2)
        return "\f".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    done = subprocess.run(  # noqa: S603 - our own PDF bytes to poppler found on PATH
        [exe, "-layout", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")

"""The package's loggers, and the redaction every log line, repr and message goes through.

The library never adds handlers nor calls ``basicConfig``; applications (and our CLI) decide where logs go.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

__all__ = ["SENSITIVE_HEADERS", "log", "redact_headers", "transport_log"]

log = logging.getLogger("books_async")
transport_log = logging.getLogger("books_async.transport")

SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Headers whose values never appear anywhere we print; they show as ``[redacted]``."""


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` safe to print: credential values replaced by ``[redacted]``."""
    return {k: ("[redacted]" if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}

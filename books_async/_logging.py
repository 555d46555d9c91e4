"""The package's loggers, and the redaction every log line, repr and message goes through.

The library never adds handlers nor calls ``basicConfig``; applications (and our CLI) decide where logs go.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["SENSITIVE_HEADERS", "log", "redact_headers", "redact_url", "transport_log"]

log = logging.getLogger("books_async")
transport_log = logging.getLogger("books_async.transport")

SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Headers whose values never appear anywhere we print; they show as ``[redacted]``."""


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` safe to print: credential values replaced by ``[redacted]``."""
    return {k: ("[redacted]" if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """Return ``url`` safe to print: any ``user:password@`` replaced by ``[redacted]@``."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc="[redacted]@" + parts.netloc.rpartition("@")[2]))
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        # Not parsed as credentials (a '?' or '#' inside the password cuts the authority short), but it may
        # still hold them: hide everything up to the last '@', over-redacting rather than showing a secret.
        return f"{scheme}://[redacted]@{rest.rpartition('@')[2]}"
    return url

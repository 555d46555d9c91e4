"""The package's loggers, and :func:`redact_url`, which hides the credentials in a URL wherever it is shown.

The library never adds handlers nor calls ``basicConfig``; applications (and our CLI) decide where logs go.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

__all__ = ["log", "redact_url", "transport_log"]

log = logging.getLogger("books_async")
transport_log = logging.getLogger("books_async.transport")


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

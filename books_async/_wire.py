"""What goes on the wire besides the body: the base URL, query values and merged headers.

Every check here runs before any I/O, so a bad setting or argument raises
:class:`~books_async.ConfigurationError` naming it, and nothing is sent.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import cast
from urllib.parse import urlsplit

from books_async._exceptions import ConfigurationError
from books_async._logging import redact_url
from books_async._types import NOT_GIVEN
from books_async._version import __version__

__all__ = [
    "MAX_BODY_BYTES",
    "USER_AGENT",
    "encode_query",
    "is_loopback",
    "merge_headers",
    "normalise_base_url",
]

MAX_BODY_BYTES = 5 * 1024 * 1024
"""The API's request body limit (5 MB); larger bodies are refused before sending."""

USER_AGENT = f"books-async/{__version__}"

# extra_headers may add or replace any header but these: the key goes only where the client puts it.
_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address, IPv6 bracketed or not) is this machine's loopback."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(base_url: str) -> str:
    """Return ``base_url`` without a trailing slash, refusing plain HTTP to anything but loopback.

    Raises:
        ConfigurationError: not an absolute http(s) URL, or plain HTTP to a non-loopback host.
    """
    parts = urlsplit(base_url)
    shown = redact_url(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an absolute http(s) URL; got {shown!r}.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {shown!r} is plain HTTP: the API key would travel unencrypted. "
            "Use https://, or http:// only to a loopback address (127.0.0.1, ::1, localhost)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment; got {shown!r}.")
    return base_url.rstrip("/")


def _query_value(value: object) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | Decimal | int | float | str):
        return value.isoformat() if isinstance(value, date) else str(value)
    raise ConfigurationError(
        f"Query parameters must be str, int, Decimal, date, bool or enums; got {value!r}."
    )


def encode_query(params: Mapping[str, object] | None) -> dict[str, str] | None:
    """Return ``params`` as query strings, leaving out ``NOT_GIVEN`` and ``None`` values.

    Raises:
        ConfigurationError: a value is not a str, number, date, bool or enum.
    """
    if not params:
        return None
    return {k: _query_value(v) for k, v in params.items() if v is not NOT_GIVEN and v is not None}


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """Return ``base`` with ``extra`` added, a name in ``extra`` replacing ``base``'s in any letter case.

    Raises:
        ConfigurationError: ``extra`` names an auth header, or holds a non-str or a line break. The
            message names the header, never its value.
    """
    merged = dict(base)
    names = {name.lower(): name for name in base}
    # Typed as str, but a caller's int or None would otherwise reach aiohttp and fail mid-call.
    for name, value in cast("Mapping[object, object]", extra).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError(f"extra_headers: names and values must be str; check {name!r}.")
        lowered = name.lower()
        if lowered in _AUTH_HEADERS:
            raise ConfigurationError(
                f"extra_headers may not set {name!r}: the client sends the API key itself "
                "(BooksClient(api_key=..., auth_scheme=...))."
            )
        # Caught here, before any I/O: aiohttp would raise a bare ValueError in the middle of the call.
        if not name or any(char in name or char in value for char in "\r\n\x00"):
            raise ConfigurationError(
                f"extra_headers: {name!r} is empty or its name or value has a line break."
            )
        replaced = names.pop(lowered, None)
        if replaced is not None:
            del merged[replaced]
        merged[name] = value
        names[lowered] = name
    return merged

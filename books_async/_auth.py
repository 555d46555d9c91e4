"""Credentials: the API key, and any ``user:password`` in ``base_url``, held where nothing prints them.

Error trackers (Sentry, ``rich`` tracebacks with ``show_locals``) print the repr of every local of every
frame of a traceback. So from the moment :class:`~books_async.BooksClient` receives the key, it lives in a
:class:`Secret` or :class:`Credentials`, whose reprs are redacted, and the header dict that holds it is
built inside the expression that hands it to aiohttp: it is never a local of ours, nor a ``dict`` an error
tracker would walk.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Literal, final
from urllib.parse import unquote, urlsplit, urlunsplit

from books_async._exceptions import ConfigurationError

__all__ = ["AuthScheme", "Credentials", "Secret", "split_userinfo"]

AuthScheme = Literal["x-api-key", "bearer"]

_REDACTED = "[redacted]"


@final
class Secret:
    """A string that never shows itself: ``repr()`` and ``str()`` say ``[redacted]``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value. Use it inline, where it is sent; never keep it in a local."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_REDACTED}')"

    __str__ = __repr__


def split_userinfo(url: str) -> tuple[str, Secret | None]:
    """Return ``url`` without ``user:password@``, and the HTTP Basic token they make (``None`` if none).

    aiohttp would send them as Basic auth itself, but only from a URL that then sits in frame locals and
    error messages; taking them out here keeps the URL we pass around free of them.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), Secret(token)


@final
class Credentials:
    """The auth headers of every request: the key as ``x-api-key`` or ``Authorization: Bearer``, and HTTP
    Basic auth when ``base_url`` carried ``user:password`` (for a proxy in front of the API).

    Raises:
        ConfigurationError: an unknown ``scheme``, or ``bearer`` with credentials in ``base_url`` (both need
            the ``Authorization`` header).
    """

    __slots__ = ("_headers", "_hidden")

    def __init__(self, api_key: Secret, scheme: str, basic: Secret | None = None) -> None:
        if scheme == "x-api-key":
            self._headers = {"x-api-key": api_key.reveal()}
        elif scheme == "bearer":
            if basic is not None:
                raise ConfigurationError(
                    "base_url carries user:password, which is sent as HTTP Basic auth in the Authorization "
                    "header, and auth_scheme='bearer' needs that header for the API key. Use "
                    "auth_scheme='x-api-key', or take the credentials out of base_url."
                )
            self._headers = {"Authorization": f"Bearer {api_key.reveal()}"}
        else:
            raise ConfigurationError(f"auth_scheme must be 'x-api-key' or 'bearer'; got {scheme!r}.")
        if basic is not None:
            self._headers["Authorization"] = f"Basic {basic.reveal()}"
        # What aiohttp was given: the raw user:password never reaches it, so cannot be in its words.
        self._hidden = tuple(value for value in self._headers.values() if value)

    def sign(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Return ``headers`` with the auth headers added. Call it inside the call that sends them."""
        return {**headers, **self._headers}

    def scrub(self, text: str) -> str:
        """Return ``text`` with every credential replaced by ``[redacted]`` (for a library's own words)."""
        for header in self._hidden:
            # The whole header value ("Bearer sk_...") and the bare key or token after its scheme.
            for secret in (header, header.rpartition(" ")[2]):
                if secret in text:
                    text = text.replace(secret, _REDACTED)
        return text

    def __repr__(self) -> str:
        return f"<Credentials {_REDACTED}>"

"""Client configuration value objects: :class:`RateLimit`, :class:`Timeout` and the ``DEFAULT_*`` constants.

:class:`CallArgs` is what one call may carry besides its method and path, each key overriding the
client's setting for that call only; :class:`ViewOptions`, what ``with_options`` may change for a view.

They are frozen attrs classes validated on construction, so a bad setting raises
:class:`~books_async.ConfigurationError` when the client is built, before any I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypedDict, TypeVar

import attrs

from books_async._exceptions import ConfigurationError
from books_async._types import NotGiven, TimeoutArg

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_TIMEOUT",
    "CallArgs",
    "RateLimit",
    "Timeout",
    "ViewOptions",
    "as_timeout",
]

_T = TypeVar("_T")


def _positive_number(what: str, value: object) -> None:
    # bool is an int subclass: RateLimit(True) is a bug, not "1 request".
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{what} must be a number, not {type(value).__name__}.")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{what} must be a positive, finite number of seconds; got {value!r}.")


def _check_max_requests(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"RateLimit.max_requests must be a positive integer; got {value!r}. "
            "Pass rate_limit=None to turn client-side limiting off."
        )


def _check_period(_inst: object, _attr: object, value: object) -> None:
    _positive_number("RateLimit.period", value)


def _check_timeout(_inst: object, attr: attrs.Attribute[_T], value: _T) -> None:
    if value is None and attr.name == "total":
        return
    _positive_number(f"Timeout.{attr.name}", value)


@attrs.frozen
class RateLimit:
    """At most ``max_requests`` requests in any window of ``period`` seconds.

    The default is the API's documented quota, 100 requests a minute per organisation. Lower it when
    something else (another process, a cron job) spends part of the same organisation's quota.

    Raises:
        ConfigurationError: ``max_requests`` is not a positive integer or ``period`` not a positive number.
    """

    max_requests: int = attrs.field(default=100, validator=_check_max_requests)
    period: float = attrs.field(default=60.0, validator=_check_period)


@attrs.frozen(kw_only=True)
class Timeout:
    """How long one API call may take, in seconds.

    ``connect`` bounds opening a connection (DNS, TCP and TLS). A failure there proves the request was never
    sent, so even a POST may be retried after it. ``read`` bounds the silence between two reads of the
    response. ``total`` is the per-call deadline, counted from the first attempt: it bounds every attempt
    together with the waits between them (``None``: no deadline). Time queued in the limiter before the first
    attempt does not count, because a call at the back of a long bulk queue is not slow. We never inherit
    aiohttp's 300 s default total, which would hang a caller for five minutes on a stalled server.

    Raises:
        ConfigurationError: a value is not a positive number (``total`` may also be ``None``).
    """

    connect: float = attrs.field(default=5.0, validator=_check_timeout)
    read: float = attrs.field(default=30.0, validator=_check_timeout)
    total: float | None = attrs.field(default=60.0, validator=_check_timeout)


DEFAULT_RATE_LIMIT = RateLimit()
"""The API's quota: 100 requests a minute per organisation."""

DEFAULT_TIMEOUT = Timeout()
"""5 s to connect, 30 s between reads, 60 s for the whole call including retries and their waits."""


def as_timeout(value: object, base: Timeout = DEFAULT_TIMEOUT) -> Timeout:
    """Return ``value`` as a :class:`Timeout`: one as is, or seconds for the whole call (and for reads).

    Seconds also cap the connect timeout of ``base`` (the client's setting, for a per-call override), so a
    call given 2 s never waits 5 s to connect. The one place a number becomes a ``Timeout``.

    Raises:
        ConfigurationError: ``value`` is neither a positive number of seconds nor a ``Timeout``.
    """
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"timeout must be seconds or a Timeout; got {value!r}.")
    return Timeout(connect=min(base.connect, value), read=value, total=value)


DEFAULT_MAX_RETRIES = 3
"""Retries after the first attempt. Three rides out a short 5xx blip or one 429 without hiding an outage."""

DEFAULT_MAX_RETRY_WAIT = 60.0
"""Longest 429 ``retryAfter`` worth sleeping through, in seconds.

A longer wait fails fast with :class:`~books_async.RateLimitError`: a caller is better served by an error it
can schedule around than by a coroutine silently asleep for minutes. 60 s is one full quota window.
"""


class CallArgs(TypedDict, total=False):
    """What one call sends besides its method and path, and its overrides of the client's settings."""

    params: Mapping[str, object] | None
    body: bytes | None
    extra_headers: Mapping[str, str] | None
    timeout: TimeoutArg
    max_retries: int | NotGiven


class ViewOptions(TypedDict, total=False):
    """What ``with_options`` may change for a view of a client; each key replaces the client's default.

    ``extra_headers`` are added to (or replace) the client's own on every call of the view.
    """

    timeout: TimeoutArg
    max_retries: int | NotGiven
    max_retry_wait: float | NotGiven
    extra_headers: Mapping[str, str] | None

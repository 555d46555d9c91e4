"""When to retry a failed call, and after how long: a pure policy the transport consults.

Decisions go by exception class and HTTP method, never by message text. Never at the cost of a duplicate:

- 429 (:class:`RateLimitError`): the request was not processed, so any method is retried after
  ``retry_after`` plus a little jitter, unless that wait is longer than ``max_retry_wait`` (fail fast).
- 502/503/504 (:class:`ServerError`), timeouts and dropped connections (:class:`APIConnectionError`):
  exponential backoff with full jitter, for GET, HEAD, PUT, PATCH and DELETE. PATCH is on the list because
  the API's PATCH sets fields to given values, so sending it twice ends in the same state.
- POST (creates, sends, payments, convert, bulk-action) is retried only when the request provably never
  left: an :class:`APIConnectionError` raised with ``request_sent=False``, which the transport sets only for a
  failure to connect (refused, DNS, TLS handshake, connect timeout). Everything else counts as sent, and the
  transport raises :class:`OutcomeUnknownError` instead (:meth:`RetryPolicy.outcome_unknown` says when): a
  dropped connection, a timeout, a body that broke off before its status arrived, and a 5xx other than 501
  and 503, which a gateway may send after the API processed the request. 501 and 503 say it was not acted on.
- A POST that changes nothing (:data:`READ_ONLY_POSTS`, the payload pre-validation) is retried like a GET.

The transport owns the clock, the limiter and the per-call deadline: a 429 penalises the shared limiter, and a
wait that would end past the deadline fails at once, like a wait past ``max_retry_wait``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import attrs

from books_async._exceptions import (
    APIConnectionError,
    ConfigurationError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "NOT_PROCESSED_STATUSES",
    "READ_ONLY_POSTS",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "is_idempotent",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""Methods safe to resend after an ambiguous failure (see the module docstring for PATCH)."""

READ_ONLY_POSTS = frozenset({"/books/validate"})
"""Paths whose POST changes nothing (the reference: "Pre-validates a payload"): safe to resend, and an
unreadable answer to one is no write. The one list the transport's retries and the resources' decoding use."""

RETRYABLE_STATUSES = frozenset({502, 503, 504})
"""Gateway and overload statuses that usually clear up. A 500 is a bug on the server: resending won't help."""

NOT_PROCESSED_STATUSES = frozenset({501, 503})
"""5xx statuses that say the request was not acted on; any other 5xx may follow processing."""


def is_idempotent(method: str, path: str) -> bool:
    """Return whether sending ``method path`` twice ends in the same state as sending it once."""
    verb = method.upper()
    return verb in IDEMPOTENT_METHODS or (verb == "POST" and path in READ_ONLY_POSTS)


# Used when a 429 carries no usable retryAfter: the API's window is a minute, but most 429s clear quickly
# and the retry will get a fresh, accurate retryAfter if not.
_FALLBACK_RETRY_AFTER = 1.0
# 429 jitter is added, never subtracted (retrying before retryAfter just earns another 429). It spreads the
# tasks released by one pause so they do not reach the server in the same millisecond.
_RATE_LIMIT_JITTER_FRACTION = 0.1
_RATE_LIMIT_JITTER_MIN = 0.1
_RATE_LIMIT_JITTER_MAX = 0.5
# 2**60 * any sane base is already far past backoff_max; capping the exponent avoids float overflow.
_MAX_EXPONENT = 60

_DELAY_SECONDS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*")

_T = TypeVar("_T")


def _non_negative(_inst: object, attr: attrs.Attribute[_T], value: _T) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"RetryPolicy.{attr.name} must be a non-negative number; got {value!r}.")


def _retry_count(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"max_retries must be a non-negative integer; got {value!r}.")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Says whether a failed attempt is retried and how long to wait first.

    Args:
        max_retries: retries after the first attempt; 0 disables retrying.
        backoff_base: the backoff ceiling of the first retry, doubling with each retry.
        backoff_max: the largest backoff ceiling.
        max_retry_wait: a 429 asking for a longer wait than this is not retried.
        rng: source of jitter; pass a seeded ``random.Random`` for reproducible tests.

    Raises:
        ConfigurationError: a setting is negative or not a number.
    """

    max_retries: int = attrs.field(default=3, validator=_retry_count)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_wait: float = attrs.field(default=60.0, validator=_non_negative)
    # Jitter needs no cryptographic randomness; a private instance keeps seeded tests independent.
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)

    def delay_for(
        self, attempt: int, exc: BaseException, method: str, *, idempotent: bool | None = None
    ) -> float | None:
        """Return the seconds to wait before retrying, or ``None`` to give up and raise ``exc``.

        Args:
            attempt: how many retries were already made for this call (0 after the first failure).
            exc: what the failed attempt raised.
            method: the HTTP method, any case.
            idempotent: whether resending is harmless; by default, whether ``method`` is (pass
                :func:`is_idempotent` of the path to count a read-only POST in).
        """
        if attempt >= self.max_retries:
            return None
        if isinstance(exc, RateLimitError):
            return self._rate_limit_delay(exc)
        if not self._transient(exc):
            return None
        if not self._idempotent(method, idempotent) and not (
            isinstance(exc, APIConnectionError) and not exc.request_sent
        ):
            return None
        return self._backoff(attempt)

    def outcome_unknown(self, exc: BaseException, method: str, *, idempotent: bool | None = None) -> bool:
        """Return whether ``exc`` leaves a non-idempotent request's outcome unknown.

        True for a POST whose connection failed or timed out after the request may have been sent, and for
        one answered with a 5xx other than 501 and 503 (a gateway's 500, 502 or 504 may come after the API
        processed it): the transport raises :class:`OutcomeUnknownError` instead. Other statuses say what
        happened. ``idempotent`` as for :meth:`delay_for`.
        """
        if self._idempotent(method, idempotent):
            return False
        if isinstance(exc, APIConnectionError):
            return exc.request_sent
        return isinstance(exc, ServerError) and exc.status not in NOT_PROCESSED_STATUSES

    @staticmethod
    def _idempotent(method: str, idempotent: bool | None) -> bool:
        return method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent

    @staticmethod
    def _transient(exc: BaseException) -> bool:
        if isinstance(exc, ServerError):
            return exc.status in RETRYABLE_STATUSES
        return isinstance(exc, APIConnectionError)  # includes APITimeoutError

    def _rate_limit_delay(self, exc: RateLimitError) -> float | None:
        wait = exc.retry_after
        if wait is None or not math.isfinite(wait) or wait < 0:
            wait = _FALLBACK_RETRY_AFTER
        if wait > self.max_retry_wait:
            return None
        spread = min(_RATE_LIMIT_JITTER_MAX, max(_RATE_LIMIT_JITTER_MIN, _RATE_LIMIT_JITTER_FRACTION * wait))
        return wait + self.rng.uniform(0.0, spread)

    def _backoff(self, attempt: int) -> float:
        # Full jitter (uniform from zero) spreads clients that failed together better than equal jitter,
        # and the expected wait is half the ceiling.
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempt, _MAX_EXPONENT))
        return self.rng.uniform(0.0, ceiling)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DELAY_SECONDS.fullmatch(value)):
        seconds = float(match.group(1))
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def parse_retry_after(body: object, headers: Mapping[str, str], now: datetime) -> float | None:
    """Return how many seconds a 429 asks us to wait, or ``None`` if it does not say.

    The body's ``retryAfter`` (seconds, the API's documented field) wins. Otherwise the ``Retry-After``
    header is read as seconds or as an HTTP date; a date in the past means 0. ``now`` must be aware.
    """
    if isinstance(body, Mapping) and (seconds := _seconds(body.get("retryAfter"))) is not None:
        return seconds
    # Plain dicts are case-sensitive; aiohttp's CIMultiDictProxy is not. Scanning works for both.
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    if (seconds := _seconds(raw)) is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no claim about local time (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())

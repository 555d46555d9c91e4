"""Tests for books_async._retry: which failures are retried, how long we wait, and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from books_async import BooksClient
from books_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BooksError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
)
from books_async._retry import RetryPolicy, is_idempotent, parse_retry_after
from books_async.models import InvoiceStatus
from books_async.sandbox import Sandbox, SeedIds
from tests.factories import invoice

URL = "https://books.test/api/v1/books/invoices"
NOW = datetime(2025, 11, 25, 12, 0, 0, tzinfo=UTC)
IDEMPOTENT = ["GET", "HEAD", "PUT", "PATCH", "DELETE", "get", "delete"]


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - jitter needs reproducibility, not secrecy


def policy(**kwargs: float) -> RetryPolicy:
    return RetryPolicy(rng=seeded(1234), **kwargs)  # type: ignore[arg-type]


def status_error(cls: type[ServerError] | type[ValidationError], status: int) -> BooksError:
    return cls("failed", status=status, body={}, method="GET", url=URL)


def rate_limited(retry_after: float | None) -> RateLimitError:
    return RateLimitError(
        "429", status=429, body={"retryAfter": retry_after}, method="POST", url=URL, retry_after=retry_after
    )


def connection_error(*, sent: bool | None) -> APIConnectionError:
    """An APIConnectionError; `sent=None` leaves request_sent at its default (sent, the safe assumption)."""
    if sent is None:
        return APIConnectionError("connection failed")
    return APIConnectionError("connection failed", request_sent=sent)


@pytest.mark.parametrize("method", [*IDEMPOTENT, "POST"])
@pytest.mark.parametrize("retry_after", [0.0, 1.0, 7.0, 30.0, 60.0])
def test_rate_limit_waits_retry_after_plus_small_jitter_for_any_method(
    method: str, retry_after: float
) -> None:
    """A 429 is retried for every method after retry_after plus at most 10 % (≤ 0.5 s) of jitter."""
    delay = policy().delay_for(0, rate_limited(retry_after), method)
    assert delay is not None
    assert retry_after <= delay <= retry_after + max(0.1, min(0.5, 0.1 * retry_after))


def test_rate_limit_without_retry_after_waits_about_a_second() -> None:
    """A 429 without a usable retry_after falls back to 1 s (plus jitter)."""
    delay = policy().delay_for(0, rate_limited(None), "GET")
    assert delay is not None
    assert 1.0 <= delay <= 1.1


def test_rate_limit_longer_than_the_cap_fails_fast() -> None:
    """A 429 asking for more than max_retry_wait is not retried, so the caller gets RateLimitError now."""
    assert policy(max_retry_wait=60.0).delay_for(0, rate_limited(61.0), "GET") is None
    assert policy(max_retry_wait=5.0).delay_for(0, rate_limited(6.0), "GET") is None
    assert policy(max_retry_wait=5.0).delay_for(0, rate_limited(5.0), "GET") is not None


@pytest.mark.parametrize("method", IDEMPOTENT)
@pytest.mark.parametrize(
    "exc",
    [
        status_error(ServerError, 502),
        status_error(ServerError, 503),
        status_error(ServerError, 504),
        APITimeoutError("read timed out"),
        connection_error(sent=True),
        connection_error(sent=None),
        connection_error(sent=False),
    ],
    ids=["502", "503", "504", "timeout", "reset-after-send", "reset-unknown", "connect"],
)
def test_transient_failures_are_retried_for_idempotent_methods(method: str, exc: BooksError) -> None:
    """502/503/504, timeouts and dropped connections are retried for GET, HEAD, PUT, PATCH and DELETE."""
    assert policy().delay_for(0, exc, method) is not None


@pytest.mark.parametrize(
    "exc",
    [
        status_error(ServerError, 502),
        status_error(ServerError, 503),
        status_error(ServerError, 504),
        APITimeoutError("read timed out"),
        connection_error(sent=True),
        connection_error(sent=None),
    ],
    ids=["502", "503", "504", "timeout", "reset-after-send", "reset-unknown"],
)
def test_post_is_not_retried_when_it_may_have_reached_the_server(exc: BooksError) -> None:
    """A POST that may have been processed is never retried."""
    assert policy().delay_for(0, exc, "POST") is None


def test_post_is_retried_after_a_connect_failure() -> None:
    """A POST whose request provably never left (request_sent=False) is retried, timeouts included."""
    connect_timeout = APITimeoutError("connect timed out", request_sent=False)
    assert policy().delay_for(0, connection_error(sent=False), "POST") is not None
    assert policy().delay_for(0, connect_timeout, "post") is not None


def test_outcome_is_unknown_only_for_a_non_idempotent_request_that_may_have_been_sent() -> None:
    """outcome_unknown flags a POST connection failure after sending, and nothing else of that kind."""
    p = policy()
    assert p.outcome_unknown(connection_error(sent=True), "POST")
    assert p.outcome_unknown(connection_error(sent=None), "POST")
    assert p.outcome_unknown(APITimeoutError("read timed out"), "POST")
    assert not p.outcome_unknown(connection_error(sent=False), "POST")
    assert not p.outcome_unknown(connection_error(sent=True), "GET")
    assert not p.outcome_unknown(status_error(ServerError, 503), "POST")


@pytest.mark.parametrize("status", [500, 502, 504, 507, 520])
def test_a_post_answered_with_a_5xx_that_may_follow_processing_is_unknown(status: int) -> None:
    """A gateway's 500, 502 or 504 may come after the API processed the POST: its outcome is unknown."""
    assert policy().outcome_unknown(status_error(ServerError, status), "POST")
    assert policy().delay_for(0, status_error(ServerError, status), "POST") is None


@pytest.mark.parametrize("status", [501, 503])
def test_a_post_answered_501_or_503_was_not_processed(status: int) -> None:
    """501 and 503 say the request was not acted on: a plain ServerError, not an unknown outcome."""
    assert not policy().outcome_unknown(status_error(ServerError, status), "POST")


def test_a_read_only_post_is_retried_like_a_get() -> None:
    """POST /books/validate changes nothing: with idempotent=True it is retried and never unknown."""
    assert is_idempotent("POST", "/books/validate")
    assert is_idempotent("post", "/books/validate")
    assert not is_idempotent("POST", "/books/invoices")
    assert not is_idempotent("POST", "/books/validate/extra")
    assert is_idempotent("DELETE", "/books/invoices/1")
    p = policy()
    for exc in (status_error(ServerError, 502), status_error(ServerError, 504), connection_error(sent=True)):
        assert p.delay_for(0, exc, "POST", idempotent=True) is not None
        assert not p.outcome_unknown(exc, "POST", idempotent=True)
    assert p.delay_for(0, status_error(ServerError, 500), "POST", idempotent=True) is None


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize(
    "exc",
    [
        status_error(ServerError, 500),
        status_error(ServerError, 501),
        status_error(ValidationError, 400),
        AuthenticationError("401", status=401, body={}, method="GET", url=URL),
        NotFoundError("404", status=404, body={}, method="GET", url=URL),
        ConflictError("409", status=409, body={}, method="GET", url=URL),
        ResponseDecodeError("bad body"),
        OutcomeUnknownError("maybe", method="POST", url=URL),
        ConfigurationError("no key"),
        ValueError("a bug"),
    ],
    ids=["500", "501", "400", "401", "404", "409", "decode", "unknown", "config", "bug"],
)
def test_other_failures_are_never_retried(method: str, exc: BaseException) -> None:
    """Client errors, 500/501, decode failures and non-API exceptions are not retried."""
    assert policy().delay_for(0, exc, method) is None


def test_the_decision_ignores_the_message_text() -> None:
    """Only class, status and method decide: a message that mentions 'timeout' changes nothing."""
    assert policy().delay_for(0, status_error(ServerError, 500), "GET") is None
    worded = ServerError("gateway timeout, please retry", status=500, body={}, method="GET", url=URL)
    assert policy().delay_for(0, worded, "GET") is None


def test_retries_stop_after_max_retries() -> None:
    """Attempts 0..max_retries-1 get a delay; the next one gives up, for 429s too."""
    p = policy(max_retries=3)
    exc = status_error(ServerError, 503)
    assert [p.delay_for(n, exc, "GET") is not None for n in range(5)] == [True, True, True, False, False]
    assert p.delay_for(3, rate_limited(1.0), "GET") is None
    assert policy(max_retries=0).delay_for(0, exc, "GET") is None


def test_backoff_uses_full_jitter_under_a_doubling_capped_ceiling() -> None:
    """Each retry waits uniform(0, min(backoff_max, base * 2**attempt)), and uses the whole range."""
    p = RetryPolicy(max_retries=100, backoff_base=0.5, backoff_max=8.0, rng=seeded(7))
    exc = APITimeoutError("read timed out")
    for attempt in range(100):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [p.delay_for(attempt, exc, "GET") for _ in range(200)]
        assert all(d is not None and 0.0 <= d <= ceiling for d in delays)
        observed = [d for d in delays if d is not None]
        assert min(observed) < 0.1 * ceiling  # full jitter reaches down to zero ...
        assert max(observed) > 0.9 * ceiling  # ... and up to the ceiling


def test_seeded_policies_give_the_same_delays() -> None:
    """Two policies with equally seeded rngs agree, so a test can pin exact waits."""
    exc = status_error(ServerError, 502)
    a = RetryPolicy(rng=seeded(42))
    b = RetryPolicy(rng=seeded(42))
    assert [a.delay_for(n, exc, "GET") for n in range(3)] == [b.delay_for(n, exc, "GET") for n in range(3)]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"max_retries": 1.5}, {"backoff_base": -0.1}, {"max_retry_wait": float("nan")}],
)
def test_policy_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    """Negative or non-numeric settings raise ConfigurationError at construction."""
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"retryAfter": 42}, {}, 42.0),
        ({"retryAfter": 7.5}, {"Retry-After": "99"}, 7.5),  # the body wins
        ({"retryAfter": "12"}, {}, 12.0),
        ({"error": "Too Many Requests"}, {"Retry-After": "30"}, 30.0),
        ({}, {"retry-after": " 5 "}, 5.0),  # header names are case-insensitive
        (None, {"RETRY-AFTER": "0"}, 0.0),
        ({"retryAfter": -3}, {"Retry-After": "8"}, 8.0),  # a nonsense body value falls through
        ({"retryAfter": True}, {}, None),
        ({"retryAfter": "soon"}, {}, None),
        ({}, {}, None),
        ({}, {"Retry-After": "not a date"}, None),
        ("Too Many Requests", {"Retry-After": "3"}, 3.0),
    ],
)
def test_parse_retry_after_reads_body_then_header_seconds(
    body: object, headers: dict[str, str], expected: float | None
) -> None:
    """The body's retryAfter wins; else the Retry-After header in seconds; else None."""
    assert parse_retry_after(body, headers, NOW) == expected


def test_parse_retry_after_reads_an_http_date() -> None:
    """A Retry-After HTTP date gives the seconds from now until then."""
    header = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after({}, {"Retry-After": header}, NOW) == 90.0
    assert parse_retry_after({}, {"Retry-After": "Tue, 25 Nov 2025 12:00:30 GMT"}, NOW) == 30.0


def test_parse_retry_after_treats_a_past_http_date_as_zero() -> None:
    """A date already past means retry now, not a negative wait."""
    assert parse_retry_after({}, {"Retry-After": "Tue, 25 Nov 2025 11:00:00 GMT"}, NOW) == 0.0


def statuses(sandbox: Sandbox, org_id: str | None = None) -> list[int]:
    """The statuses the sandbox answered, oldest first (only ``org_id``'s when given)."""
    return [s for _, org, _, _, s in sandbox.request_log if org_id is None or org == org_id]


# ------------------------------------------------------------------- through the SDK, at the sandbox's faults


@pytest.mark.sandbox(faults="drop:1.0", faults_seed=1)
async def test_dropped_create_is_outcome_unknown_yet_stored(
    sandbox: Sandbox, books: BooksClient, seed: SeedIds
) -> None:
    """A POST whose answer is lost raises OutcomeUnknownError, is not resent, and the invoice was created."""
    with pytest.raises(OutcomeUnknownError) as err:
        await books.invoices.create(invoice(seed.customer_b2c, invoice_number="DROP-1"))
    assert err.value.method == "POST"
    assert statuses(sandbox) == [201]  # one attempt, processed; never retried
    assert [d["invoice_number"] for d in sandbox.store.documents("invoices", sandbox.org_id)] == ["DROP-1"]
    sandbox.set_faults(None)
    found = await books.invoices.find_by_number("DROP-1")
    assert found is not None
    assert found.status is InvoiceStatus.draft


# Seed 1's first draw is under 0.5 and its second over it: the first attempt gets a 503, the retry succeeds.
@pytest.mark.sandbox(faults="503:0.5", faults_seed=1)
async def test_get_survives_injected_503s_through_retries(sandbox: Sandbox, books: BooksClient) -> None:
    """A GET answered 503 is retried with backoff and succeeds."""
    context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert statuses(sandbox) == [503, 200]
    assert books.requests_sent == 2


@pytest.mark.sandbox(faults="slow:1:0.3")
async def test_slow_fault_adds_latency_but_succeeds(sandbox: Sandbox, books: BooksClient) -> None:
    """Every request is delayed: a call with a 50 ms budget times out; the default timeout succeeds."""
    with pytest.raises(APITimeoutError):
        await books.validate.context(timeout=0.05)
    assert (await books.validate.context()).org_id == sandbox.org_id
    assert statuses(sandbox)[-1] == 200

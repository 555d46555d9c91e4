"""The per-organisation quota: shared by an organisation's keys, 429 with retryAfter, rejected not counted."""

from __future__ import annotations

import math

import pytest

from books_async.sandbox import Sandbox, serve
from books_async.sandbox._ratelimit import SlidingWindowLog

from .conftest import Api


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_counts_only_accepted_requests() -> None:
    """At the limit a request is refused with the seconds until the oldest one leaves the window."""
    clock = FakeClock()
    log = SlidingWindowLog(3, 10.0, clock)
    assert [log.acquire("a") for _ in range(3)] == [None, None, None]
    clock.now += 4.2
    assert log.acquire("a") == 6  # ceil(10 - 4.2)
    assert log.acquire("b") is None  # another organisation has its own window
    clock.now += 5.7  # 9.9 s after the first three: still inside the window
    assert log.acquire("a") == 1
    clock.now += 0.1
    assert log.acquire("a") is None  # the rejected attempts took no slot


@pytest.mark.sandbox(rate_limit=(5, 60.0))
async def test_two_keys_of_one_org_share_the_quota(api: Api) -> None:
    """Owner and member keys draw on one quota; the 6th request is refused with retryAfter and Retry-After."""
    statuses = []
    for i in range(5):
        key = api.sb.api_key if i % 2 else api.sb.member_key
        statuses.append((await api.get("/books/validate", key=key)).status)
    assert statuses == [200] * 5
    reply = await api.get("/books/validate", key=api.sb.member_key)
    assert reply.status == 429
    assert reply.json["error"] == "rate_limited"
    retry_after = reply.json["retryAfter"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    assert reply.headers["Retry-After"] == str(retry_after)
    # Another organisation is unaffected.
    assert (await api.get("/books/validate", key=api.sb.other_org_key)).status == 200


async def test_retry_after_is_ceil_of_the_wait() -> None:
    """retryAfter is the whole seconds (rounded up) until the window frees a slot, on the server's clock."""
    clock = FakeClock()
    async with serve(rate_limit=(2, 30.0), clock=clock) as sb:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            api = Api(session, sb)
            assert (await api.get("/books/validate")).status == 200
            clock.now += 10.5
            assert (await api.get("/books/validate")).status == 200
            clock.now += 3.2
            refused = await api.get("/books/validate")
            assert refused.status == 429
            assert refused.json["retryAfter"] == math.ceil(30.0 - 13.7)
            clock.now += 16.5  # the first request has left the window
            assert (await api.get("/books/validate")).status == 200
            log = [(t, status) for t, org, _, _, status in sb.request_log if org == sb.org_id]
            assert [s for _, s in log] == [200, 200, 429, 200]


@pytest.mark.sandbox(rate_limit=(4, 0.5))
async def test_window_invariant_holds_in_the_request_log(api: Api, sandbox: Sandbox) -> None:
    """In any window of the period the server accepted at most the limit (seen in its own request log)."""
    for _ in range(12):
        await api.get("/books/validate")
    accepted = [t for t, org, _, _, status in sandbox.request_log if org == sandbox.org_id and status != 429]
    for i, start in enumerate(accepted):
        assert sum(1 for t in accepted[i:] if t < start + 0.5) <= 4
    assert any(status == 429 for *_, status in sandbox.request_log)

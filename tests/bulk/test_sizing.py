"""Bulk-create body sizes against a front door stricter than the API (413 in text) and a platform that fails
big answers after doing the work: counted at the gateway and in the sandbox's store."""

from __future__ import annotations

import logging
from collections import Counter

import attrs
import pytest

from books_async import BooksClient, PayloadTooLargeError
from books_async._bulk.sizing import PLATFORM_LIMIT, BodyLimits
from books_async._transport import MAX_BODY_BYTES
from books_async.sandbox import Sandbox, serve
from tests.bulk.helpers import draft, numbers_in, size_of
from tests.gateway_server import GatewayFaults, gateway


def test_limits_step_down_to_the_platform_then_halve() -> None:
    """A refused 5 MB body teaches 4.5 MB, a refused 4.5 MB body half of it; a stale refusal, nothing."""
    limits = BodyLimits(MAX_BODY_BYTES)
    limits.refused("/books/invoices", MAX_BODY_BYTES, 40)
    assert limits.request_limit == PLATFORM_LIMIT
    limits.refused("/books/invoices", MAX_BODY_BYTES, 40)  # a batch sent before the first lesson
    assert limits.request_limit == PLATFORM_LIMIT
    limits.refused("/books/invoices", PLATFORM_LIMIT, 40)
    assert limits.request_limit == PLATFORM_LIMIT // 2
    assert limits.limit("invoice", MAX_BODY_BYTES, None) == PLATFORM_LIMIT // 2


def test_a_lone_item_refused_lowers_nothing_but_is_not_sent_again() -> None:
    """A 413 for one item says nothing of batches: the limit stays, but bodies that big are not sent again."""
    limits = BodyLimits(MAX_BODY_BYTES)
    limits.refused("/books/invoices", 300_000, 1)
    assert limits.request_limit == MAX_BODY_BYTES
    assert limits.refuses(300_000)
    assert not limits.refuses(299_999)


def test_answer_ratio_sizes_bodies_after_a_small_probe() -> None:
    """Before any answer a body is 1/16 of the answer limit; after, the limit over the largest ratio seen."""
    limits = BodyLimits(MAX_BODY_BYTES)
    assert limits.limit("invoice", MAX_BODY_BYTES, 1_600_000) == 100_000
    limits.answered("invoice", 1000, 4000)
    limits.answered("invoice", 1000, 2000)  # a smaller ratio does not undo a larger one
    assert limits.ratio("invoice") == 4.0
    assert limits.limit("invoice", MAX_BODY_BYTES, 1_600_000) == int(1_600_000 / (4.0 * 1.1))
    assert limits.limit("quote", MAX_BODY_BYTES, 1_600_000) == 100_000  # measured per kind
    assert limits.limit("invoice", MAX_BODY_BYTES, None) == MAX_BODY_BYTES


def customers(sb: Sandbox) -> list[str]:
    assert sb.seed is not None
    return [sb.seed.customer_b2b_intra, sb.seed.customer_b2b_inter, sb.seed.customer_b2c]


async def test_a_front_door_413_in_text_costs_a_few_requests_per_client_not_per_batch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A front door refusing bodies over 40 KB with a text 413: both jobs (400 and 1,600 invoices) complete
    with the same few 413s, each a WARNING, and a second job on a taught client meets none."""
    caplog.set_level(logging.WARNING, logger="books_async.bulk")
    door = GatewayFaults(max_request_bytes=40_000)
    met: dict[int, int] = {}
    async with serve(rate_limit=None) as sb, gateway(sb.base_url, door) as gw:
        people = customers(sb)
        for n in (400, 1600):
            items = [draft(people[i % 3], f"FD{n}-{i:04d}", lines=5) for i in range(n)]
            before = gw.count("413")
            async with BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books:
                result = await books.bulk.create_invoices(items)
                met[n] = gw.count("413") - before
                assert result.ok, {i: repr(e) for i, e in list(result.errors.items())[:3]}
                again = await books.bulk.create_invoices(
                    [draft(people[0], f"FE{n}-{i:04d}", lines=5) for i in range(200)]
                )
                assert again.ok
                assert gw.count("413") - before == met[n]  # the second job met none
            stored = numbers_in(sb, f"FD{n}-")
            assert len(stored) == len(set(stored)) == n
    assert met[400] == met[1600]
    assert 1 <= met[400] <= 4  # 281 KB probe -> 140 -> 70 -> 35 KB
    warnings = [r for r in caplog.records if "413" in r.getMessage()]
    assert len(warnings) == met[400] + met[1600]


async def test_the_platform_limit_on_requests_costs_one_413() -> None:
    """Packed to the API's 5 MB, a job behind Vercel's 4.5 MB front door is refused once, then fits."""
    door = GatewayFaults(max_request_bytes=PLATFORM_LIMIT)
    async with serve(rate_limit=None) as sb, gateway(sb.base_url, door) as gw:
        people = customers(sb)
        items = [draft(people[i % 3], f"PL-{i:04d}", lines=20, width=400) for i in range(560)]
        assert sum(size_of(item) for item in items) > MAX_BODY_BYTES
        async with BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books:
            result = await books.bulk.create_invoices(items, max_answer_bytes=None, concurrency=1)
        assert result.ok
        assert gw.count("413") == 1
        assert len(numbers_in(sb, "PL-")) == 560


async def test_an_item_the_door_refused_alone_fails_without_another_request() -> None:
    """An item bigger than what the door refused alone fails with PayloadTooLargeError; the rest are made."""
    door = GatewayFaults(max_request_bytes=20_000)
    async with serve(rate_limit=None) as sb, gateway(sb.base_url, door) as gw:
        people = customers(sb)
        big = draft(people[0], "BIG-1", lines=40, width=600)
        assert size_of(big) > 20_000
        items = [draft(people[0], f"SM-{i}") for i in range(3)]
        async with BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books:
            first = await books.bulk.create_invoices([big, *items], concurrency=1)
            refused = gw.count("413")
            second = await books.bulk.create_invoices([attrs.evolve(big, invoice_number="BIG-2")])
        assert isinstance(first.results[0], PayloadTooLargeError)
        assert first.succeeded == 3
        assert isinstance(second.results[0], PayloadTooLargeError)
        assert gw.count("413") == refused  # known too big: not sent again


async def test_batches_are_sized_by_their_expected_answer() -> None:
    """Behind a platform that fails answers over 200 KB after doing the work, no answer is too big: batches
    follow the answer/request ratio of the first answer, so nothing needs reconciling."""
    limit = 200_000
    async with (
        serve(rate_limit=None) as sb,
        gateway(sb.base_url, GatewayFaults(max_response_bytes=limit)) as gw,
        BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books,
    ):
        people = customers(sb)
        items = [draft(people[i % 3], f"AN-{i:04d}", lines=i % 4 + 1) for i in range(1000)]
        result = await books.bulk.create_invoices(items, max_answer_bytes=limit)
        assert result.ok
        assert gw.count("answer-too-big") == 0
        assert Counter(m for m, _, _ in gw.log)["GET"] == 0  # no look-up: nothing was reconciled
        assert len(numbers_in(sb, "AN-")) == 1000


async def test_without_answer_sizing_big_answers_are_reconciled_not_duplicated() -> None:
    """The contrast: with max_answer_bytes=None the platform's 500s after creating come back, and every
    such batch is looked up by number instead of being sent again."""
    limit = 200_000
    async with (
        serve(rate_limit=None) as sb,
        gateway(sb.base_url, GatewayFaults(max_response_bytes=limit)) as gw,
        BooksClient(sb.api_key, base_url=gw.base_url, rate_limit=None) as books,
    ):
        people = customers(sb)
        items = [draft(people[i % 3], f"AX-{i:04d}", lines=i % 4 + 1) for i in range(1000)]
        result = await books.bulk.create_invoices(items, max_answer_bytes=None)
        assert result.ok
        assert gw.count("answer-too-big") >= 1
        stored = numbers_in(sb, "AX-")
        assert len(stored) == len(set(stored)) == 1000

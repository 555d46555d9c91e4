"""The job and its queue: one job creates one chunk of one organisation's drafts, then sends them.

SAQ (asyncio-native, on Redis) redelivers a job whose worker died: each job beats its heartbeat every
second; a worker that misses ``HEARTBEAT`` seconds of beats is taken for dead and another worker's sweep
puts its job back on the queue. The job is safe to run again: ``create_invoices(rerun=True)`` counts a
number already stored by a matching invoice as created, and only invoices still in ``draft`` are sent.
API keys stay in each worker's environment (``BOOKS_ORG_KEYS``, organisation id → key), never in Redis.
Why SAQ: ``docs/design/queue-workers.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from decimal import Decimal
from typing import Any

from saq import Queue

from books_async import BooksClients, RateLimit
from books_async.limiters import RedisRateLimiter
from books_async.models import InvoiceStatus
from books_async.sandbox import parse_rate_limit

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE_NAME = "books-invoicing"
HEARTBEAT = 5
"""Seconds without a heartbeat after which a job's worker is taken for dead and the job is redelivered."""
TIMEOUT = 600
"""Seconds a job may run in all; generous: a chunk waits on its organisation's quota."""
RETRIES = 5
"""Attempts in all, the first included: a worker killed mid-job costs one."""


def make_queue() -> Queue:
    """The queue, on the Redis the limiters share."""
    return Queue.from_url(REDIS_URL, name=QUEUE_NAME)


def org_keys() -> dict[str, str]:
    """Organisation id → API key, from the environment."""
    keys: dict[str, str] = json.loads(os.environ["BOOKS_ORG_KEYS"])
    return keys


def org_clients() -> tuple[BooksClients, list[RedisRateLimiter]]:
    """A client per organisation, each limited through Redis under its org id, and the limiters made.

    Everything that calls the API for these organisations, the producer included, must take its slots
    here: a call outside the shared quota is one the others do not know of (and a 429 waiting to happen).
    """
    org_of = {key: org for org, key in org_keys().items()}
    rate = RateLimit(*(parse_rate_limit(os.environ.get("BOOKS_RATE_LIMIT", "100/60")) or (100, 60.0)))
    limiters: list[RedisRateLimiter] = []

    def limiter(key: str) -> RedisRateLimiter:
        # A worker killed with calls in flight never releases their slots: each then counts from its
        # admission for period + margin, while the server counted it from when it got to it, which under
        # load can be later. A margin of a whole period keeps such slots until the server has forgotten them;
        # it costs nothing else, as answered calls count from their answer.
        made = RedisRateLimiter(REDIS_URL, rate=rate, key=org_of[key], margin=rate.period)
        limiters.append(made)
        return made

    return BooksClients(base_url=os.environ.get("BOOKS_BASE_URL"), limiter=limiter), limiters


async def close(clients: BooksClients, limiters: list[RedisRateLimiter]) -> None:
    """Close the clients, then the limiters' Redis connections."""
    await clients.aclose()
    for limiter in limiters:
        await limiter.aclose()


async def startup(ctx: dict[str, Any]) -> None:
    """One client per organisation per worker process."""
    ctx["keys"] = org_keys()
    ctx["clients"], ctx["limiters"] = org_clients()


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close the clients and their limiters."""
    await close(ctx["clients"], ctx["limiters"])


def from_payload(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft as the job payload holds it (JSON: dates and amounts as strings) → an InvoiceCreate dict."""
    lines = [
        {**line, **{k: Decimal(line[k]) for k in ("quantity", "rate", "gst_rate", "discount") if k in line}}
        for line in draft["line_items"]
    ]
    return {**draft, "invoice_date": date.fromisoformat(draft["invoice_date"]), "line_items": lines}


async def _beat(job: Any) -> None:
    while True:
        await asyncio.sleep(1)
        await job.update()


async def invoice_chunk(ctx: dict[str, Any], *, org_id: str, drafts: list[dict[str, Any]]) -> dict[str, Any]:
    """Create ``drafts`` (invoice dicts, each with its number) for ``org_id``, then send the new drafts."""
    job = ctx["job"]
    books = ctx["clients"].get(ctx["keys"][org_id])
    beat = asyncio.create_task(_beat(job))
    try:
        # A redelivered job is a rerun: look its numbers up first instead of meeting a 409.
        made = await books.bulk.create_invoices(
            map(from_payload, drafts), rerun=True if job.attempts > 1 else None
        )
        invoices = made.values
        to_send = [inv.id for inv in invoices if inv.status == InvoiceStatus.draft]
        sent = await books.bulk.send_invoices(to_send)
    finally:
        beat.cancel()
    return {
        "org_id": org_id,
        "attempt": job.attempts,
        "drafts": len(drafts),
        "numbers": sorted(inv.invoice_number for inv in invoices),
        "created": len(invoices) - len(made.existing),
        "existing": len(made.existing),
        "create_failed": {str(i): str(e) for i, e in made.errors.items()},
        "sent": len(sent.values),
        "already_sent": len(invoices) - len(to_send),
        "send_failed": {to_send[i]: str(e) for i, e in sent.errors.items()},
        "rate_limited": books.rate_limited,
    }

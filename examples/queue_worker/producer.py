"""Enqueue the job and wait for its report: ``python examples/queue_worker/producer.py [N per org]``.

One job per chunk of ``CHUNK`` drafts per organisation, keyed ``<org id>:<chunk>`` so running the producer
again enqueues nothing twice. Each organisation gets a demo customer; drafts are numbered ``Q-00001``... so
a rerun can recognise them. Prints the job's final report (one JSON document) when every job has finished.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from saq.job import TERMINAL_STATUSES, Status
from tasks import HEARTBEAT, RETRIES, TIMEOUT, close, invoice_chunk, make_queue, org_clients, org_keys

from books_async import BooksClients

CHUNK = 20
ADDRESS = {"line1": "1 MG Road", "city": "Pune", "state_code": "27", "pincode": "411001", "country": "IN"}


async def customer_of(clients: BooksClients, key: str) -> str:
    """The organisation's demo customer, made on the first run."""
    books = clients.get(key)
    page = await books.customers.list(search="Queue Demo Customer")
    if page.data:
        return page.data[0].id
    made = await books.customers.create(
        {
            "type": "B2C",
            "name": "Queue Demo Customer",
            "email": "demo@example.com",
            "billing_address": ADDRESS,
        }
    )
    return made.id


def drafts_for(customer_id: str, count: int) -> list[dict[str, Any]]:
    line = {"item_type": "service", "description": "Bookkeeping", "hsn_sac": "998222", "quantity": "1"}
    line |= {"rate": "1000.00", "gst_rate": "18"}
    day = datetime.now(UTC).date().isoformat()
    return [
        {
            "customer_id": customer_id,
            "invoice_number": f"Q-{n:05d}",
            "invoice_date": day,
            "line_items": [line],
        }
        for n in range(1, count + 1)
    ]


async def enqueue(per_org: int) -> list[str]:
    """Enqueue every chunk of every organisation; return the job keys."""
    queue = make_queue()
    await queue.connect()
    keys: list[str] = []
    try:
        clients, limiters = org_clients()
        try:
            for org_id, key in org_keys().items():
                drafts = drafts_for(await customer_of(clients, key), per_org)
                for start in range(0, per_org, CHUNK):
                    job_key = f"{org_id}:{start // CHUNK}"
                    await queue.enqueue(
                        invoice_chunk.__name__,
                        key=job_key,
                        org_id=org_id,
                        drafts=drafts[start : start + CHUNK],
                        timeout=TIMEOUT,
                        heartbeat=HEARTBEAT,
                        retries=RETRIES,
                    )
                    keys.append(job_key)
        finally:
            await close(clients, limiters)
    finally:
        await queue.disconnect()
    return keys


async def report(job_keys: list[str], wait: float = 600) -> dict[str, Any]:
    """Wait until every job has finished; return the per-organisation totals and each job's result."""
    queue = make_queue()
    await queue.connect()
    try:
        async with asyncio.timeout(wait):
            while True:
                jobs = await queue.jobs(job_keys)
                if all(job is not None and job.status in TERMINAL_STATUSES for job in jobs):
                    break
                await asyncio.sleep(0.5)
    finally:
        await queue.disconnect()
    totals: dict[str, dict[str, int]] = {}
    results = []
    for job in filter(None, jobs):
        results.append(
            {
                "key": job.key,
                "status": Status(job.status).value,
                "attempts": job.attempts,
                "result": job.result,
            }
        )
        if job.result:
            org = totals.setdefault(
                job.result["org_id"], {"created": 0, "existing": 0, "sent": 0, "failed": 0}
            )
            org["created"] += job.result["created"]
            org["existing"] += job.result["existing"]
            org["sent"] += job.result["sent"]
            org["failed"] += len(job.result["create_failed"]) + len(job.result["send_failed"])
    return {"organisations": totals, "jobs": results}


async def main(per_org: int) -> None:
    job_keys = await enqueue(per_org)
    print(json.dumps(await report(job_keys)))  # noqa: T201  # the script's output


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))

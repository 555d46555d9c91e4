"""A worker process: ``python examples/queue_worker/worker.py`` (REDIS_URL, BOOKS_BASE_URL, BOOKS_ORG_KEYS).

Runs one job at a time until SIGTERM or Ctrl-C; several of these share the queue and every organisation's
quota. A dead worker's job is requeued by the next sweep that finds it ``HEARTBEAT`` seconds silent.
"""

from __future__ import annotations

import asyncio
import logging
import os

from saq import Worker
from tasks import invoice_chunk, make_queue, shutdown, startup


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    worker = Worker(
        make_queue(),
        id=os.environ.get("WORKER_ID"),  # a name to find this worker's jobs by, e.g. in a test
        functions=[invoice_chunk],
        concurrency=1,
        startup=startup,
        shutdown=shutdown,
        timers={"sweep": 1, "schedule": 1, "abort": 1, "worker_info": 5},
    )
    asyncio.run(worker.start())


if __name__ == "__main__":
    main()

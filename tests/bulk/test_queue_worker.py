"""examples/queue_worker: a bulk job over SAQ workers, one of them SIGKILLed mid-job, against the sandbox.

Real processes throughout: a ``redis-server``, three worker processes, the producer, and the sandbox served
from a thread of this process with every organisation's rate limit on. The limit (60 per 10 s) is below
what each organisation's ~200 requests need, so the shared Redis limiter has to pace them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from books_async.sandbox import Sandbox, SandboxConfig
from tests.redis_server import REDIS_SERVER, SKIP_REASON, RedisServer, redis_server

pytest.importorskip("saq", reason="the queue example needs saq (the `test` dependency group)")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=SKIP_REASON)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "queue_worker"
PER_ORG = 180
RATE = (60, 10.0)
WORKERS = 3


@pytest.fixture
def redis_srv(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


def _numbers(sandbox: Sandbox, org_id: str) -> list[str]:
    # The sandbox's thread is writing: copy the records, retrying if a write lands mid-copy.
    while True:
        try:
            records = list(sandbox.store.space(org_id).collections["invoices"].values())
        except RuntimeError:
            continue
        return [str(r.doc["invoice_number"]) for r in records]


def _active_on(redis_url: str, worker_id: str) -> list[str]:
    """Keys of the jobs that worker ``worker_id`` is running now (read from the queue in Redis)."""
    probe = (
        "import asyncio, sys\n"
        "from tasks import make_queue\n"
        "async def main():\n"
        "    q = make_queue(); await q.connect()\n"
        "    async for job in q.iter_jobs():\n"
        "        if job.status == 'active' and job.worker_id == sys.argv[1]: print(job.key)\n"
        "    await q.disconnect()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(  # noqa: S603  # our own fixed argv
        [sys.executable, "-c", probe, worker_id],
        cwd=EXAMPLE,
        env={**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": f"{EXAMPLE}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_queue_job_finishes_exactly_once_when_a_worker_is_killed(
    redis_srv: RedisServer, tmp_path: Path
) -> None:
    """540 invoices over 3 orgs and 3 workers, one SIGKILLed mid-job: each created once, sent once, no 429."""
    config = SandboxConfig(organisations=3, rate_limit=RATE)
    with Sandbox.run_in_thread(config) as sandbox:
        orgs = sandbox.organisations
        env = {
            **os.environ,
            "REDIS_URL": redis_srv.url,
            "BOOKS_BASE_URL": sandbox.base_url,
            "BOOKS_ORG_KEYS": json.dumps(orgs),
            "BOOKS_RATE_LIMIT": f"{RATE[0]}/{RATE[1]:g}",
            "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(ROOT)]),
        }
        env.pop("BOOKS_API_KEY", None)
        workers = [
            subprocess.Popen(  # noqa: S603  # our own fixed argv
                [sys.executable, str(EXAMPLE / "worker.py")],
                env={**env, "WORKER_ID": f"worker-{n}"},
                stdout=(tmp_path / f"worker-{n}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            for n in range(WORKERS)
        ]
        # SAQ's first sweep, as each worker starts, can take a job another worker has just dequeued (still
        # "queued" in the active list) for a stray and abort it; seen once here, the job never finished.
        # Enqueue only once every worker is up and its first sweep is done.
        logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
        started = time.monotonic()
        while (
            not all("Worker starting" in log.read_text() for log in logs) and time.monotonic() - started < 60
        ):
            time.sleep(0.2)
        time.sleep(2)
        producer = subprocess.Popen(  # noqa: S603  # our own fixed argv
            [sys.executable, str(EXAMPLE / "producer.py"), str(PER_ORG)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "producer.log").open("w"),
            text=True,
        )
        try:
            # Kill worker-0 in the middle of a job: after its chunk's invoices exist, before it finished.
            killed: list[str] = []
            deadline = time.monotonic() + 120
            while not killed and time.monotonic() < deadline and producer.poll() is None:
                for key in _active_on(redis_srv.url, "worker-0"):
                    org_id, chunk = key.split(":")
                    first = f"Q-{int(chunk) * 20 + 1:05d}"
                    if first in _numbers(sandbox, org_id):
                        workers[0].send_signal(signal.SIGKILL)
                        killed.append(key)
                        killed_at = time.monotonic()
                time.sleep(0.2)
            assert killed, "worker-0 was never caught mid-job (see the worker logs in tmp_path)"
            out, _ = producer.communicate(timeout=240)  # a run takes ~90 s here; a hang must not eat CI
        finally:
            for proc in (producer, *workers):
                if proc.poll() is None:
                    proc.terminate()
            for proc in (producer, *workers):
                proc.wait(timeout=30)
        report = json.loads(out.strip().splitlines()[-1])
        log = list(sandbox.request_log)
        by_org = {org_id: _numbers(sandbox, org_id) for org_id in orgs}
        outboxes = {org_id: sandbox.outbox(org_id) for org_id in orgs}
        statuses = {
            org_id: Counter(
                str(r.doc["status"]) for r in sandbox.store.space(org_id).collections["invoices"].values()
            )
            for org_id in orgs
        }

    refused = [entry for entry in log if entry[4] == 429]
    context = [
        (
            round(e[0] - killed_at, 2),
            sum(1 for x in log if x[1] == e[1] and x[4] != 429 and e[0] - 10 < x[0] <= e[0]),
        )
        for e in refused
    ]
    assert refused == [], context
    expected = {f"Q-{n:05d}" for n in range(1, PER_ORG + 1)}
    jobs = {job["key"]: job for job in report["jobs"]}
    assert len(jobs) == len(orgs) * PER_ORG // 20
    assert {job["status"] for job in jobs.values()} == {"complete"}
    assert jobs[killed[0]]["attempts"] >= 2, "the killed worker's job was not redelivered"
    for org_id in orgs:
        numbers = by_org[org_id]
        assert len(numbers) == len(set(numbers)) == PER_ORG, "a duplicate or missing invoice"
        assert set(numbers) == expected
        sent_ids = [mail["document_id"] for mail in outboxes[org_id]]
        assert len(sent_ids) == len(set(sent_ids)) == PER_ORG, "an invoice e-mailed twice or never"
        assert statuses[org_id] == Counter({"sent": PER_ORG})
        totals = report["organisations"][org_id]
        assert totals["created"] + totals["existing"] == PER_ORG
        assert totals["failed"] == 0
        results = [job["result"] for job in jobs.values() if job["result"]["org_id"] == org_id]
        assert sorted(n for r in results for n in r["numbers"]) == sorted(expected)
        assert sum(r["sent"] + r["already_sent"] for r in results) == PER_ORG
        assert sum(r["rate_limited"] for r in results) == 0
    # What the killed attempt did is only visible in its rerun: its chunk's invoices already existed.
    assert jobs[killed[0]]["result"]["existing"] >= 1

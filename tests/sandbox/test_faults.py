"""Injected faults: 503 before processing, drops after processing, latency; parsing and determinism."""

from __future__ import annotations

import aiohttp
import pytest

from books_async.sandbox import Sandbox, parse_faults
from books_async.sandbox._faults import FaultInjector, FaultSpec

from .conftest import Api


def test_parse_faults_reads_every_kind() -> None:
    """The spec string gives statuses, drop and slow with its delay; bad items are refused."""
    spec = parse_faults("503:0.05, drop:0.02,slow:0.1:1.5,502:0.5")
    assert spec == FaultSpec(errors=((503, 0.05), (502, 0.5)), drop=0.02, slow=0.1, slow_seconds=1.5)
    assert str(spec) == "503:0.05,502:0.5,drop:0.02,slow:0.1:1.5"
    assert parse_faults(None) == FaultSpec()
    for bad in ("boom:0.1", "503:2", "drop:x", "slow:0.1:-1", "404:0.1"):
        with pytest.raises(ValueError, match="fault"):
            parse_faults(bad)


def test_seeded_faults_repeat() -> None:
    """Two injectors with one seed draw the same faults."""
    spec = parse_faults("503:0.3,drop:0.3")
    a, b = FaultInjector(spec, seed=7), FaultInjector(spec, seed=7)
    draws_a = [(a.error_status(), a.drop()) for _ in range(50)]
    draws_b = [(b.error_status(), b.drop()) for _ in range(50)]
    assert draws_a == draws_b
    assert {s for s, _ in draws_a} == {None, 503}


@pytest.mark.sandbox(faults="503:1")
async def test_503_comes_before_processing(api: Api, sandbox: Sandbox) -> None:
    """Every request gets 503 and nothing is written; sandbox routes are exempt."""
    seed = sandbox.seed
    assert seed is not None
    before = len(sandbox.store.documents("services", sandbox.org_id))
    reply = await api.post("/books/services", {"name": "x", "sac_code": "998311", "rate": 1, "gst_rate": 18})
    assert reply.status == 503
    assert reply.json["error"] == "service_unavailable"
    assert len(sandbox.store.documents("services", sandbox.org_id)) == before
    assert (await api.get("/__sandbox__/outbox")).status == 200


@pytest.mark.sandbox(faults="drop:1")
async def test_drop_happens_after_the_write(api: Api, sandbox: Sandbox) -> None:
    """The client sees a disconnect, yet the service was created."""
    with pytest.raises(aiohttp.ClientError):
        await api.post(
            "/books/services", {"name": "Dropped", "sac_code": "998311", "rate": 1, "gst_rate": 18}
        )
    names = [d["name"] for d in sandbox.store.documents("services", sandbox.org_id)]
    assert "Dropped" in names
    sandbox.set_faults(None)
    listed = await api.get("/books/services", params={"search": "dropped"})
    assert [s["name"] for s in listed.items] == ["Dropped"]


@pytest.mark.sandbox(faults="slow:1:0.2")
async def test_slow_delays_without_failing(api: Api, sandbox: Sandbox) -> None:
    """Latency faults delay the answer; the request still succeeds (the delay is asserted via the spec)."""
    assert sandbox.state.faults.spec.slow_seconds == 0.2
    assert (await api.get("/books/validate")).status == 200


async def test_faults_can_change_at_run_time(api: Api, sandbox: Sandbox) -> None:
    """set_faults switches injection on and off for a running sandbox."""
    sandbox.set_faults("503:1")
    assert (await api.get("/books/validate")).status == 503
    sandbox.set_faults(None)
    assert (await api.get("/books/validate")).status == 200

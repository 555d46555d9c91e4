"""Run benchmarks B1-B10 (issue 8; B9 the Redis limiter, B10 many organisations) and write results.json.

Usage: ``nox -s bench`` or ``python benchmarks/run.py [--quick] [--only B1,B3] [--out PATH]``.

Every figure is a ratio of two things measured in the same run, interleaved (A, B, A, B, ...), over several
repeats, with the median quoted. Servers (``fixed_server.py``, the sandbox) run in their own processes on
127.0.0.1; client CPU is ``time.process_time()`` of the client process only. See ``README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import queue
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
try:
    import books_async  # installed by `nox -s bench`
except ImportError:  # run from a checkout without installing: use the source tree
    sys.path.insert(0, str(ROOT))
    import books_async
if Path(books_async.__file__).resolve().is_relative_to(ROOT):  # the servers and probes need it too
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import _payloads  # noqa: E402  # after the books_async fallback above: it imports books_async's models

Call = Callable[[], Awaitable[object]]
FORBIDDEN_MODULES = ("jsonschema", "yaml", "fpdf", "rich", "redis", "datamodel_code_generator")
PACKAGES = (
    "books-async",
    "aiohttp",
    "attrs",
    "cattrs",
    "orjson",
    "httpx",
    "pydantic",
    "pydantic-core",
    "msgspec",
    "openapi-python-client",
)


def out(text: str = "") -> None:
    """Print a progress line (stdout is the report)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass
class Settings:
    """How much work each benchmark does; ``--quick`` shrinks everything for a smoke run."""

    repeats: int = 5
    b1_repeats: int = 9  # the per-GET figures swing most between rounds: more rounds, same median
    b1_requests: dict[int, int] = field(default_factory=lambda: {1: 1200, 64: 2500})
    httpx_requests: dict[int, int] = field(default_factory=lambda: {1: 1000, 64: 1000})
    b3_loops: int = 20
    b3_repeats: int = 15  # decoding is the noisiest figure on a shared machine: more rounds, same median
    b4_requests: int = 600
    b4_runs: int = 3
    b5_items: int = 10_000
    b6_files: int = 1_000
    b6_small: int = 100
    b6_repeats: int = 7
    b7_sizes: tuple[int, ...] = (100, 1_000, 10_000)
    b7_decode_pairs: int = 9
    b8_repeats: int = 15
    b9_requests: int = 50
    b9_runs: int = 5
    b9_waiters: int = 50
    b9_latency_calls: int = 500
    b10_orgs: int = 1_000
    b10_requests: int = 3_000

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            repeats=2,
            b1_repeats=2,
            b1_requests={1: 200, 64: 400},
            httpx_requests={1: 100, 64: 200},
            b3_loops=3,
            b3_repeats=2,
            b4_requests=120,
            b4_runs=1,
            b5_items=2_000,
            b6_files=200,
            b6_small=50,
            b6_repeats=2,
            b7_sizes=(50, 200, 1_000),
            b7_decode_pairs=2,
            b8_repeats=3,
            b9_requests=10,
            b9_runs=1,
            b9_waiters=20,
            b9_latency_calls=100,
            b10_orgs=200,
            b10_requests=400,
        )


@dataclass
class Figure:
    """One line of the table: a ratio, its target and whether the target is met (None: no target)."""

    bench: str
    what: str
    value: float | None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    measurements: dict[str, object] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)
        for f in figures:
            flag = {True: "met", False: "MISSED", None: "-"}[f.met]
            shown = "n/a" if f.value is None else f"{f.value:.3g}"
            out(f"  {f.bench} {f.what}: {shown} (target {f.target or '-'}: {flag})")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(a: float, b: float) -> float:
    return a / b if b else math.inf


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """The median of the per-round ratios ``a[i] / b[i]``: a round measures both close together, so the
    machine's drift from one round to the next (large on shared cores) cancels out of each ratio."""
    return median([ratio(x, y) for x, y in zip(a, b, strict=True)])


# ---- servers in their own processes --------------------------------------------------------------------


class ServerProcess:
    """A server subprocess whose first line matching ``ready`` gives its address; always killed on exit."""

    def __init__(self, argv: list[str], ready: str, *, timeout: float = 60.0, cwd: Path = HERE) -> None:
        self.argv = argv
        self.ready = ready
        self.timeout = timeout
        self.cwd = cwd
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    def _pump(self) -> None:
        stdout = self.proc.stdout if self.proc is not None else None
        if stdout is None:
            return
        for line in stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(  # noqa: S603  # our own fixed argv
            self.argv,
            cwd=self.cwd,
            stdin=subprocess.PIPE,  # held open: the fixed server exits when it closes
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.__exit__(None, None, None)
                raise RuntimeError(
                    f"{self.argv[1:]} did not start in {self.timeout}s: {self.lines[-5:]}"
                ) from None
            if line is None:
                self.__exit__(None, None, None)
                raise RuntimeError(f"{self.argv[1:]} exited: {self.lines[-10:]}")
            self.lines.append(line)
            if self.ready in line:
                return self

    def __exit__(self, *_exc: object) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def fixed_server() -> ServerProcess:
    return ServerProcess([sys.executable, str(HERE / "fixed_server.py")], "READY ")


def fixed_url(server: ServerProcess) -> str:
    return next(line for line in server.lines if line.startswith("READY ")).split()[1]


# ---- measuring ----------------------------------------------------------------------------------------


async def drive(call: Call, n: int, concurrency: int) -> None:
    """Await ``call`` ``n`` times, ``concurrency`` at a time (the same driver for every variant)."""
    if concurrency == 1:
        for _ in range(n):
            await call()
        return
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    async with asyncio.TaskGroup() as tg:
        for _ in range(concurrency):
            tg.create_task(worker())


async def cpu_per_call(call: Call, n: int, concurrency: int) -> float:
    """Client CPU seconds per call, this process only, garbage from earlier runs collected first."""
    gc.collect()
    start = time.process_time()
    await drive(call, n, concurrency)
    return (time.process_time() - start) / n


async def interleave(
    variants: dict[str, Call], n: dict[str, int], concurrency: int, repeats: int
) -> dict[str, list[float]]:
    """Measure every variant once per repeat, in turn, so drift on the machine hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for call in variants.values():  # warm up: connections open, hooks generated, caches full
        await drive(call, max(2 * concurrency, 50), concurrency)
    for _ in range(repeats):
        for name, call in variants.items():
            samples[name].append(await cpu_per_call(call, n[name], concurrency))
    return samples


# ---- B1 + B2: one GET, client CPU per request ------------------------------------------------------------


async def bench_b1_b2(settings: Settings, report: Report, workdir: Path) -> None:
    import _rivals
    import aiohttp
    import httpx
    import orjson

    from books_async import BooksClient, _fast, extra
    from books_async._generated.models import Invoice

    opc = _rivals.generate_opc_client(workdir)
    from books_opc.api.invoices import invoices_get  # type: ignore[import-not-found]  # generated just now

    inv_id = _payloads.INVOICE_ID
    key = _payloads.API_KEY
    with fixed_server() as server:
        base = fixed_url(server)
        path = f"/books/invoices/{inv_id}"
        headers = {"x-api-key": key, "Accept": "application/json"}
        async with contextlib.AsyncExitStack() as stack:
            books = await stack.enter_async_context(BooksClient(api_key=key, base_url=base, rate_limit=None))
            session = await stack.enter_async_context(aiohttp.ClientSession(headers=headers))
            opc_client = opc.AuthenticatedClient(  # type: ignore[attr-defined]  # module made at run time
                base_url=base, token=key, prefix="", auth_header_name="x-api-key"
            )
            stack.push_async_callback(opc_client.get_async_httpx_client().aclose)
            hx = await stack.enter_async_context(httpx.AsyncClient(base_url=base, headers=headers))

            async def floor() -> object:
                async with session.get(base + path) as resp:
                    return orjson.loads(await resp.read())

            real_fast = _fast.decode

            def reference_only(raw: bytes | str, tp: object, strict: bool) -> object:
                return _fast.MISS

            async def books_get() -> object:
                _fast.decode = real_fast  # every task of a variant sets the same decoder
                return await books.invoices.get(inv_id)

            async def books_get_reference() -> object:
                # Context: the same client with the fast decode path turned off (today's decoder).
                _fast.decode = reference_only
                return await books.invoices.get(inv_id)

            live_path = f"/books/invoices/{_payloads.LIVE_INVOICE_ID}"

            async def floor_live() -> object:
                async with session.get(base + live_path) as resp:
                    return orjson.loads(await resp.read())

            async def books_get_live() -> object:
                _fast.decode = real_fast
                return await books.invoices.get(_payloads.LIVE_INVOICE_ID)

            async def opc_get() -> object:
                return await invoices_get.asyncio(id=inv_id, client=opc_client)

            async def pydantic_get() -> object:
                resp = await hx.get(path)
                if resp.status_code != 200:
                    raise RuntimeError(resp.status_code)
                return _rivals.PInvoice.model_validate_json(resp.content)

            async def httpx_raw() -> object:
                resp = await hx.get(path)
                return orjson.loads(resp.content)

            async def books_transport() -> object:
                # Context for B1: our transport (limiter, retries, error mapping) without our decoding.
                return orjson.loads(await books._transport.request("GET", path))

            got = await books_get()
            if not isinstance(got, Invoice) or len(got.line_items) != 5:
                raise RuntimeError(f"books-async answered {got!r}")
            if type(await opc_get()).__name__ != "Invoice":
                raise RuntimeError("the generated client did not return an Invoice")

            live = await books_get_live()
            if not isinstance(live, Invoice) or not extra(live) or live.invoice_date is None:
                raise RuntimeError(f"books-async read the live-shaped invoice as {live!r}")

            variants = {
                "aiohttp+orjson (floor)": floor,
                "books-async": books_get,
                "aiohttp+orjson (floor), live-shaped": floor_live,
                "books-async, live-shaped": books_get_live,
                "books-async, reference decode (before)": books_get_reference,
                "books-async transport+orjson": books_transport,
                "openapi-python-client": opc_get,
                "httpx+pydantic v2": pydantic_get,
                "httpx+orjson": httpx_raw,
            }
            results: dict[str, object] = {}
            for conc in (1, 64):
                n = {
                    name: settings.httpx_requests[conc]
                    if "httpx" in name or "openapi" in name
                    else settings.b1_requests[conc]
                    for name in variants
                }
                out(f"B1/B2: GET invoice at concurrency {conc} ({n})")
                samples = await asyncio.wait_for(interleave(variants, n, conc, settings.b1_repeats), 600)
                med = {name: median(s) for name, s in samples.items()}
                results[f"c{conc}"] = {
                    "requests_per_repeat": n,
                    "median_cpu_us_per_request": {k: round(v * 1e6, 2) for k, v in med.items()},
                    "samples_us": {k: [round(x * 1e6, 2) for x in v] for k, v in samples.items()},
                }
                b1 = paired_ratio(samples["books-async"], samples["aiohttp+orjson (floor)"])
                need = 3 if conc == 1 else 10
                opc_x = paired_ratio(samples["openapi-python-client"], samples["books-async"])
                pyd_x = paired_ratio(samples["httpx+pydantic v2"], samples["books-async"])
                b1_live = paired_ratio(
                    samples["books-async, live-shaped"], samples["aiohttp+orjson (floor), live-shaped"]
                )
                target = 1.3 if conc == 1 else 1.5
                report.add(
                    Figure(
                        "B1",
                        f"books-async / aiohttp+orjson floor, CPU per GET, c={conc}",
                        b1,
                        f"≤ {target}",
                        b1 <= target,
                    ),
                    Figure(
                        "B1",
                        f"books-async / aiohttp+orjson floor, CPU per GET, live-shaped invoice, c={conc}",
                        b1_live,
                        f"≤ {target}",
                        b1_live <= target,
                    ),
                    Figure(
                        "B1",
                        f"books-async with its reference decoder (before) / floor (context), c={conc}",
                        paired_ratio(
                            samples["books-async, reference decode (before)"],
                            samples["aiohttp+orjson (floor)"],
                        ),
                    ),
                    Figure(
                        "B1",
                        f"books-async transport+orjson.loads / floor (context: no model decoding), c={conc}",
                        paired_ratio(
                            samples["books-async transport+orjson"], samples["aiohttp+orjson (floor)"]
                        ),
                    ),
                    Figure(
                        "B2",
                        f"openapi-python-client / books-async, CPU per GET, c={conc}",
                        opc_x,
                        f"≥ {need}",
                        opc_x >= need,
                    ),
                    Figure(
                        "B2",
                        f"httpx+pydantic v2 / books-async, CPU per GET, c={conc}",
                        pyd_x,
                        f"≥ {need}",
                        pyd_x >= need,
                    ),
                    Figure(
                        "B2",
                        f"httpx+orjson / aiohttp+orjson (context), c={conc}",
                        paired_ratio(samples["httpx+orjson"], samples["aiohttp+orjson (floor)"]),
                    ),
                )
            # The variants swap the decoder per call: leave the real one for the benchmarks that follow.
            _fast.decode = real_fast
            report.measurements["B1_B2"] = results


# ---- B3: decode a 100-invoice page ----------------------------------------------------------------------


def bench_b3(settings: Settings, report: Report) -> None:
    import _rivals
    import msgspec
    import orjson

    from books_async import _serde
    from books_async._generated.models import InvoiceList

    raw = _payloads.page_bytes(100)
    live = _payloads.live_page_bytes(100)

    def reference(body: bytes) -> object:
        # Today's path alone (json.loads + cattrs + tolerance), which the fast path falls back to.
        return _serde.structure(_serde.loads(body), InvoiceList)

    def pydantic_exact() -> object:
        # pydantic made exact: the stdlib parser keeps each number's digits as a Decimal, validated in
        # Python mode (model_validate_json reads JSON numbers through a float: 12.50 -> 12.5).
        return _rivals.PInvoiceList.model_validate(json.loads(raw, parse_float=Decimal))

    decoders: dict[str, Callable[[], object]] = {
        "books-async (_serde.decode)": lambda: _serde.decode(raw, InvoiceList),
        "books-async reference path (today)": lambda: reference(raw),
        "books-async, live-shaped page": lambda: _serde.decode(live, InvoiceList),
        "books-async reference path, live-shaped page": lambda: reference(live),
        "pydantic v2 model_validate_json (inexact)": lambda: _rivals.PInvoiceList.model_validate_json(raw),
        "pydantic v2 exact (json.loads Decimal + model_validate)": pydantic_exact,
        "msgspec Structs": lambda: msgspec.json.decode(raw, type=_rivals.MInvoiceList),
        "orjson.loads (dicts only)": lambda: orjson.loads(raw),
    }
    for decode in decoders.values():  # warm up
        decode()
    books_page = _serde.decode(raw, InvoiceList)
    if repr(books_page) != repr(reference(raw)) or repr(_serde.decode(live, InvoiceList)) != repr(
        reference(live)
    ):
        raise RuntimeError("the fast and the reference path disagree")

    def money(page: object) -> list[Decimal]:
        # Every amount of the first invoice: a rival is exact when each has the same value and scale
        # (0.00 and 12.50 among them, which a float turns into 0.0 and 12.5).
        first = page.data[0]  # type: ignore[attr-defined]  # any of the page models
        lines = [
            getattr(line, k) for line in first.line_items for k in ("rate", "discount", "amount", "total")
        ]
        return [first.subtotal, first.total, first.balance_due, *lines]

    ours = money(books_page)
    rivals = {
        "pydantic v2 (inexact)": money(_rivals.PInvoiceList.model_validate_json(raw)),
        "pydantic v2 exact": money(pydantic_exact()),
        "msgspec": money(msgspec.json.decode(raw, type=_rivals.MInvoiceList)),
    }
    if any(v != ours for v in rivals.values()):
        raise RuntimeError("the decoders disagree on an amount")
    exact = {k: [repr(d) for d in v] == [repr(d) for d in ours] for k, v in rivals.items()}
    samples: dict[str, list[float]] = {name: [] for name in decoders}
    out(
        f"B3: decode a 100-invoice page ({len(raw):,} bytes; live-shaped {len(live):,}), "
        f"{settings.b3_loops} loops x {settings.b3_repeats}"
    )
    for _ in range(settings.b3_repeats):
        for name, decode in decoders.items():
            gc.collect()
            start = time.process_time()
            for _ in range(settings.b3_loops):
                decode()
            samples[name].append((time.process_time() - start) / settings.b3_loops)
    med = {name: median(s) for name, s in samples.items()}
    books = samples["books-async (_serde.decode)"]
    vs_pydantic = paired_ratio(books, samples["pydantic v2 model_validate_json (inexact)"])
    vs_exact = paired_ratio(books, samples["pydantic v2 exact (json.loads Decimal + model_validate)"])
    report.measurements["B3"] = {
        "page_bytes": len(raw),
        "live_page_bytes": len(live),
        "exact_money": {"books-async": True, **exact},
        "median_ms_per_page": {k: round(v * 1e3, 3) for k, v in med.items()},
        "samples_ms": {k: [round(x * 1e3, 3) for x in v] for k, v in samples.items()},
    }
    report.add(
        Figure(
            "B3",
            "books-async / pydantic v2 (inexact: money via float), decode 100-invoice page",
            vs_pydantic,
            "≤ 0.8",
            vs_pydantic <= 0.8,
        ),
        Figure(
            "B3",
            "books-async / pydantic v2 made exact (json.loads Decimal + model_validate)",
            vs_exact,
            "≤ 0.7",
            vs_exact <= 0.7,
        ),
        Figure(
            "B3",
            "books-async / msgspec Structs (exact; no unknown keys kept)",
            paired_ratio(books, samples["msgspec Structs"]),
        ),
        Figure(
            "B3",
            "books-async / orjson.loads alone (context)",
            paired_ratio(books, samples["orjson.loads (dicts only)"]),
        ),
        Figure(
            "B3",
            "books-async / its reference path (today), spec-shaped page (context)",
            paired_ratio(books, samples["books-async reference path (today)"]),
        ),
        Figure(
            "B3",
            "books-async / its reference path (today), live-shaped page (context)",
            paired_ratio(
                samples["books-async, live-shaped page"],
                samples["books-async reference path, live-shaped page"],
            ),
        ),
    )


# ---- B8: import time -------------------------------------------------------------------------------------

_IMPORT_PROBE = """
import sys, time, json
t = time.perf_counter()
{stmt}
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "modules": sorted(m.split(".")[0] for m in sys.modules)}}))
"""


def _import_once(stmt: str) -> dict[str, object]:
    # Bytecode is written and reused, as an installed wheel's is: with PYTHONDONTWRITEBYTECODE set (these
    # machines set it), every probe would compile books-async's sources while the rivals' came compiled.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(  # noqa: S603  # our own interpreter and fixed code
        [sys.executable, "-c", _IMPORT_PROBE.format(stmt=stmt)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def bench_b8(settings: Settings, report: Report) -> None:
    stmts = {"books_async": "import books_async", "aiohttp, attrs, cattrs": "import aiohttp, attrs, cattrs"}
    out(f"B8: import time, {settings.b8_repeats} fresh interpreters each, interleaved")
    for stmt in stmts.values():  # byte-compile once, outside the measurement
        _import_once(stmt)
    samples: dict[str, list[float]] = {name: [] for name in stmts}
    modules: set[str] = set()
    for _ in range(settings.b8_repeats):
        for name, stmt in stmts.items():
            got = _import_once(stmt)
            samples[name].append(float(got["seconds"]))  # type: ignore[arg-type]  # JSON number
            if name == "books_async":
                modules = set(got["modules"])  # type: ignore[call-overload]  # JSON list of str
    med = {name: median(s) for name, s in samples.items()}
    leaked = sorted(m for m in FORBIDDEN_MODULES if m in modules)
    value = ratio(med["books_async"], med["aiohttp, attrs, cattrs"])
    report.measurements["B8"] = {
        "median_ms": {k: round(v * 1e3, 2) for k, v in med.items()},
        "samples_ms": {k: [round(x * 1e3, 2) for x in v] for k, v in samples.items()},
        "forbidden_modules_imported": leaked,
    }
    report.add(
        Figure("B8", "import books_async / import aiohttp, attrs, cattrs", value, "≤ 1.35", value <= 1.35),
        Figure(
            "B8",
            f"heavy deps imported by `import books_async` ({', '.join(FORBIDDEN_MODULES)})",
            float(len(leaked)),
            "0",
            not leaked,
            ", ".join(leaked),
        ),
    )


# ---- B4 + B5: against the sandbox -------------------------------------------------------------------------


def sandbox_server(rate_limit: str) -> ServerProcess:
    argv = [
        sys.executable,
        str(HERE / "sandbox_server.py"),
        "--api-key",
        _payloads.API_KEY,
        "--rate-limit",
        rate_limit,
    ]
    return ServerProcess(argv, "READY ")


async def _server_log(base: str) -> dict[str, list[list[object]]]:
    import aiohttp

    root = base.removesuffix("/api/v1")
    async with aiohttp.ClientSession() as session, session.get(root + "/__bench__/log") as resp:
        log: dict[str, list[list[object]]] = await resp.json()
    return log


async def bench_b4(settings: Settings, report: Report) -> None:
    from books_async import BooksClient, RateLimit

    limit, period, n = 50, 1.0, settings.b4_requests
    runs = settings.b4_runs
    out(
        f"B4: {n} requests through RateLimit({limit}, {period}) against a sandbox enforcing "
        f"{limit}/{period:g}s, {runs} run(s)"
    )
    rates: list[float] = []
    gaps: list[float] = []
    bursts: list[float] = []
    refused = 0
    client_429 = 0
    with sandbox_server(f"{limit}/{period:g}") as server:
        base = fixed_url(server)
        async with BooksClient(
            api_key=_payloads.API_KEY, base_url=base, rate_limit=RateLimit(limit, period)
        ) as books:
            for run_no in range(runs):
                if run_no:
                    await asyncio.sleep(period * 1.1)  # both windows empty again: every run starts alike
                before = len((await _server_log(base))["log"])
                await asyncio.wait_for(drive(lambda: books.customers.list(limit=1), n, 64), 120)
                entries = (await _server_log(base))["log"][before:]
                ours = [e for e in entries if e[3] == "/api/v1/books/customers"]
                refused += sum(1 for e in ours if e[4] == 429)
                times = sorted(float(e[0]) for e in ours if e[4] == 200)  # type: ignore[arg-type]
                # An empty window lets `limit` through at once; from then on the window paces: batch k starts
                # at k windows. The rate is the admissions of whole windows over the time they took.
                whole = (len(times) - 1) // limit * limit
                rates.append(whole / (times[whole] - times[0]))
                # What the server's window sees: the closest two accepts `limit` apart (< period means a 429).
                gaps.append(min(b - a for a, b in zip(times, times[limit:], strict=False)))
                bursts.append(times[limit - 1] - times[0])
            client_429 = books.rate_limited
    achieved = median(rates)
    value = achieved / (limit / period)
    report.measurements["B4"] = {
        "requests_per_run": n,
        "achieved_rates_per_s": [round(r, 3) for r in rates],
        "allowed_rate_per_s": limit / period,
        "server_429s": refused,
        "min_gap_s_between_accepts_limit_apart": [round(g, 4) for g in gaps],
        "first_burst_spread_s": [round(b, 4) for b in bursts],
        "client_429s": client_429,
        "how": "rate = k*limit / (accept time of request k*limit+1 - first accept), k whole windows; accept "
        "times from the sandbox's own log",
    }
    report.add(
        Figure(
            "B4",
            "achieved / allowed rate, 50 req/1 s limiter vs sandbox",
            value,
            "≥ 0.95",
            value >= 0.95,
            "slots count from each answer: the round trip, not a margin, is what it costs",
        ),
        # The same refusals seen from both ends; the larger count, in case one side missed some.
        Figure(
            "B4",
            "429 answers (sandbox log; the client counted the same)",
            float(max(refused, client_429)),
            "0",
            max(refused, client_429) == 0,
        ),
    )


async def bench_b5(settings: Settings, report: Report) -> None:
    from books_async import BooksClient, _serde
    from books_async._transport import MAX_BODY_BYTES
    from books_async.models import InvoiceCreate

    n = settings.b5_items
    out(f"B5: bulk create of {n:,} invoices against the sandbox (rate limit off)")
    with sandbox_server("off") as server:
        base = fixed_url(server)
        async with BooksClient(api_key=_payloads.API_KEY, base_url=base, rate_limit=None) as books:
            customer = next(
                c for c in (await books.customers.list()).data if c.gstin and c.gstin.startswith("27")
            )
            items = _serde.structure(_payloads.create_items_json(n, customer.id), list[InvoiceCreate])
            sizes = [len(_serde.dumps(_serde.unstructure_request(item))) for item in items]
            start = time.perf_counter()
            # Packing against the request limit alone: the sandbox has no 4.5 MB answer limit, and with
            # answer sizing on (the default) the floor would be the answers' bytes, not the requests'.
            result = await asyncio.wait_for(books.bulk.create_invoices(items, max_answer_bytes=None), 300)
            wall = time.perf_counter() - start
        log = await _server_log(base)
    posts = [
        size for method, path, size in log["bodies"] if method == "POST" and path == "/api/v1/books/invoices"
    ]
    statuses = [e[4] for e in log["log"] if e[2] == "POST" and e[3] == "/api/v1/books/invoices"]
    one_array = sum(sizes) + len(sizes) - 1 + 2  # all items as one JSON array: "[" a "," b ... "]"
    floor = math.ceil(one_array / MAX_BODY_BYTES)
    biggest = max(posts) if posts else 0
    report.measurements["B5"] = {
        "items": n,
        "succeeded": result.succeeded,
        "total_item_bytes_as_one_array": one_array,
        "limit_bytes": MAX_BODY_BYTES,
        "ceil_total_over_limit": floor,
        "posts_seen_by_server": len(posts),
        "post_body_sizes": posts,
        "post_statuses": statuses,
        "largest_body_bytes": biggest,
        "wall_seconds": round(wall, 2),
    }
    report.add(
        Figure(
            "B5",
            f"POSTs for {n:,} invoices / ceil(total bytes / 5 MiB) (answer sizing off)",
            len(posts) / floor,
            f"≤ {(floor + 1) / floor:.2f} (+1 request)",
            floor <= len(posts) <= floor + 1 and result.ok,
            f"{len(posts)} POSTs, floor {floor}, {result.succeeded:,} created",
        ),
        Figure(
            "B5",
            "largest request body / 5 MiB limit",
            biggest / MAX_BODY_BYTES,
            "≤ 1",
            0 < biggest <= MAX_BODY_BYTES and all(s == 201 for s in statuses),
        ),
    )


# ---- B6: PDF downloads, each run in a fresh process -------------------------------------------------------


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB.

    Linux's VmHWM belongs to the process image, so it starts afresh at exec; ``ru_maxrss`` does not (a
    child inherits its parent's peak through fork + exec, which would hide growth under the parent's size).
    """
    with contextlib.suppress(OSError, StopIteration, ValueError):
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # elsewhere: the best there is


async def _child_b6(
    variant: str, files: int, base: str, directory: Path, concurrency: int
) -> dict[str, object]:
    import aiohttp

    from books_async import BooksClient

    ids = _payloads.object_ids(files)
    headers = {"x-api-key": _payloads.API_KEY}
    start_rss = peak_rss_kb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if variant == "books":
        async with BooksClient(api_key=_payloads.API_KEY, base_url=base, rate_limit=None) as books:
            result = await books.bulk.download_pdfs(ids, directory, concurrency=concurrency)
        if not result.ok:
            raise RuntimeError(f"download_pdfs: {result!r} {list(result.errors.values())[:1]}")
    else:
        async with aiohttp.ClientSession(headers=headers) as session:
            left = iter(ids)

            async def worker() -> None:
                for doc_id in left:
                    async with session.get(f"{base}/books/invoices/{doc_id}/pdf") as resp:
                        resp.raise_for_status()
                        with open(directory / f"invoice-{doc_id}.pdf", "wb") as f:  # noqa: ASYNC230  # the plain way
                            async for chunk in resp.content.iter_chunked(64 * 1024):
                                f.write(chunk)

            async with asyncio.TaskGroup() as tg:
                for _ in range(concurrency):
                    tg.create_task(worker())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu, "peak_rss_kb": peak_rss_kb(), "start_peak_rss_kb": start_rss}


def _run_b6_child(variant: str, files: int, base: str, workdir: Path) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix=f"b6-{variant}-", dir=workdir))
    try:
        done = subprocess.run(  # noqa: S603  # this script, fixed arguments
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                "b6",
                "--variant",
                variant,
                "--files",
                str(files),
                "--base",
                base,
                "--dir",
                str(directory),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"B6 child {variant}/{files} failed: {done.stderr[-800:]}")
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if result["files"] != files:
        raise RuntimeError(f"B6 {variant}: {result['files']} files for {files}")
    return result


def bench_b6(settings: Settings, report: Report, workdir: Path) -> None:
    big, small = settings.b6_files, settings.b6_small
    out(
        f"B6: {big:,} PDFs of {_payloads.PDF_SIZE // 1024} KiB at concurrency 16, fresh process per run, "
        f"{settings.b6_repeats} repeats (books {big}, raw {big}, books {small})"
    )
    runs: dict[str, list[dict[str, object]]] = {"books": [], "raw": [], "books_small": []}
    with fixed_server() as server:
        base = fixed_url(server)
        _run_b6_child("books", small, base, workdir)  # warm the page cache and the server
        for _ in range(settings.b6_repeats):
            runs["books"].append(_run_b6_child("books", big, base, workdir))
            runs["raw"].append(_run_b6_child("raw", big, base, workdir))
            runs["books_small"].append(_run_b6_child("books", small, base, workdir))

    def throughput(r: dict[str, object]) -> float:
        return float(r["bytes"]) / float(r["wall"])  # type: ignore[arg-type]

    def peak(r: dict[str, object]) -> float:
        return float(r["peak_rss_kb"]) / 1024  # type: ignore[arg-type]

    ratios = [throughput(b) / throughput(r) for b, r in zip(runs["books"], runs["raw"], strict=True)]
    growth = median([peak(b) - peak(s) for b, s in zip(runs["books"], runs["books_small"], strict=True)])
    value = median(ratios)
    report.measurements["B6"] = {
        "files": big,
        "pdf_bytes": _payloads.PDF_SIZE,
        "throughput_mb_s": {k: [round(throughput(r) / 1e6, 1) for r in v] for k, v in runs.items()},
        "cpu_s": {k: [round(float(r["cpu"]), 3) for r in v] for k, v in runs.items()},  # type: ignore[arg-type]
        "peak_rss_mb": {k: [round(peak(r), 1) for r in v] for k, v in runs.items()},
        "throughput_ratios": [round(x, 3) for x in ratios],
        "rss_growth_mb_small_to_big": round(growth, 2),
    }
    report.add(
        Figure(
            "B6",
            "download_pdfs / raw aiohttp streaming to disk, throughput",
            value,
            "≥ 0.9",
            value >= 0.9,
            f"{len(ratios)} runs, {min(ratios):.2f}-{max(ratios):.2f}; wall time: load shows",
        ),
        Figure("B6", f"peak RSS growth, {small} → {big:,} files (MB)", growth, "< 30", growth < 30),
    )


# ---- B7: per-item cost of a bulk create at growing sizes ---------------------------------------------------


async def bench_b7(settings: Settings, report: Report) -> None:
    from books_async import BooksClient, _fast, _serde
    from books_async.models import InvoiceCreate

    sizes = settings.b7_sizes
    out(f"B7: bulk create, client CPU per item at {', '.join(f'{n:,}' for n in sizes)} items, interleaved")
    jobs = {n: _serde.structure(_payloads.create_items_json(n), list[InvoiceCreate]) for n in sizes}
    samples: dict[int, list[float]] = {n: [] for n in sizes}
    # Context for the fast decode path: the middle size again with the reference decoder alone (before it).
    reference_samples: list[float] = []
    real_fast = _fast.decode

    def reference_only(raw: bytes | str, tp: object, strict: bool) -> object:
        return _fast.MISS

    async def run_once(n: int) -> float:
        gc.collect()
        start = time.process_time()
        result = await asyncio.wait_for(books.bulk.create_invoices(jobs[n]), 300)
        spent = (time.process_time() - start) / n
        if not result.ok:
            raise RuntimeError(f"bulk create of {n}: {result!r}")
        # Freed here, outside the clock: keeping `result` would free 10,000 invoices inside the next (small)
        # job's measurement and charge it ~70 ms it did not spend.
        del result
        return spent

    with fixed_server() as server:
        base = fixed_url(server)
        async with BooksClient(api_key=_payloads.API_KEY, base_url=base, rate_limit=None) as books:
            await books.bulk.create_invoices(jobs[sizes[0]])  # warm up: connections, hooks
            small, middle, large = sizes[0], sizes[len(sizes) // 2], sizes[-1]
            for _ in range(settings.repeats):
                for n in sizes:
                    samples[n].append(await run_once(n))
            # Fast and reference decoding in adjacent pairs, more of them: the machine's drift between two
            # runs a second apart is smaller than between the sizes' rounds.
            fast_samples: list[float] = []
            for _ in range(settings.b7_decode_pairs):
                fast_samples.append(await run_once(middle))
                _fast.decode = reference_only
                try:
                    reference_samples.append(await run_once(middle))
                finally:
                    _fast.decode = real_fast
    med = {n: median(s) for n, s in samples.items()}
    reference = median(reference_samples)
    fast = median(fast_samples)
    fast_vs_reference = paired_ratio(fast_samples, reference_samples)
    report.measurements["B7"] = {
        "median_cpu_us_per_item": {str(n): round(v * 1e6, 1) for n, v in med.items()},
        "samples_us": {str(n): [round(x * 1e6, 1) for x in s] for n, s in samples.items()},
        "decode_pairs_us_per_item": {
            "fast": [round(x * 1e6, 1) for x in fast_samples],
            "reference": [round(x * 1e6, 1) for x in reference_samples],
        },
    }
    report.add(
        Figure(
            "B7",
            f"CPU per item, bulk create of {large:,} / {small:,} items",
            med[large] / med[small],
            "≤ 1.2",
            med[large] / med[small] <= 1.2,
            f"{middle:,} / {small:,}: {med[middle] / med[small]:.2f}; {med[large] * 1e6:.0f} µs per item",
        ),
        Figure(
            "B7",
            f"CPU per item, bulk create of {middle:,}: fast decode path / reference decoder alone (before)",
            fast_vs_reference,
            "≤ 0.75",
            fast_vs_reference <= 0.75,
            f"{len(fast_samples)} adjacent pairs; {fast * 1e6:.0f} µs per item, {reference * 1e6:.0f} before",
        ),
    )


# ---- B9: the Redis limiter, shared by 8 processes; and a frozen Redis -------------------------------------

B9_RATE = (20, 2.0)
B9_PROCESSES = 8


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A ``redis-server`` of our own on 127.0.0.1, without persistence; yields its URL and process."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no redis-server on PATH (Debian: apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", ""]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  # fixed argv
    try:
        deadline = time.monotonic() + 10
        while not _redis_ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {port}")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.send_signal(signal.SIGCONT)  # a process left frozen would hold SIGTERM until continued
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class B9Child:
    """What one B9 worker process reports (as one JSON line)."""

    done: list[float]  # CLOCK_MONOTONIC, one clock for every process on the machine
    rate_limited: int
    sent: int
    admitted: int
    released: int
    redis_calls: int


async def _child_b9(base: str, redis_url: str, key: str, requests: int) -> B9Child:
    from books_async import BooksClient, RateLimit
    from books_async.limiters import RedisRateLimiter

    # The default margin: slots count from each answer, so the margin only caps unanswered requests.
    limiter = RedisRateLimiter(redis_url, rate=RateLimit(*B9_RATE), key=key)
    done: list[float] = []
    async with limiter, BooksClient(api_key=_payloads.API_KEY, base_url=base, limiter=limiter) as books:
        out("READY")
        await asyncio.to_thread(sys.stdin.readline)  # GO: every process starts together

        async def one() -> None:
            await books.validate.context()
            done.append(time.monotonic())

        # A bulk job's shape: every request queued at once, the limiter deciding when each goes.
        async with asyncio.TaskGroup() as tg:
            for _ in range(requests):
                tg.create_task(one())
    return B9Child(
        done=done,
        rate_limited=books.rate_limited,
        sent=books.requests_sent,
        admitted=limiter.admitted,
        released=getattr(limiter, "released", 0),  # 0 from a limiter that is never told of answers
        redis_calls=limiter.redis_calls,
    )


def _b9_run(base: str, redis_url: str, key: str, requests: int) -> tuple[float, list[B9Child]]:
    """One run: 8 worker processes, released together; the start time and each one's report."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "b9", "--base", base]
    argv += ["--redis", redis_url, "--key", key, "--files", str(requests)]
    procs = [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603  # this script
        for _ in range(B9_PROCESSES)
    ]
    try:
        for proc in procs:
            line = proc.stdout.readline() if proc.stdout is not None else ""
            if not line.startswith("READY"):
                raise RuntimeError(f"a B9 worker did not start: {line!r}")
        started = time.monotonic()
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.write("GO\n")
                proc.stdin.flush()
        reports = []
        for proc in procs:
            stdout, _ = proc.communicate(timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"a B9 worker exited with {proc.returncode}")
            reports.append(B9Child(**json.loads(stdout.strip().splitlines()[-1])))
        return started, reports
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


async def _b9_frozen(
    redis_url: str, server: subprocess.Popen[bytes], mode: Literal["fail", "local"], waiters: int
) -> dict[str, float | int | str]:
    """Queue ``waiters`` acquires on one limiter, freeze Redis (SIGSTOP): when is the last one answered?"""
    from books_async import RateLimit
    from books_async.limiters import RedisRateLimiter, SharedLimiterError

    limiter = RedisRateLimiter(
        redis_url, rate=RateLimit(1000, 60.0), key=f"b9-frozen-{mode}", on_redis_error=mode
    )
    await limiter.acquire()
    calls = limiter.redis_calls
    failed = 0
    ends: list[float] = []

    async def one() -> None:
        nonlocal failed
        try:
            await limiter.acquire()
        except SharedLimiterError:
            failed += 1
        finally:
            ends.append(time.monotonic() - started)

    os.kill(server.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        async with asyncio.timeout(600):
            await asyncio.gather(*(one() for _ in range(waiters)))
    finally:
        os.kill(server.pid, signal.SIGCONT)
    await limiter.aclose()
    return {
        "mode": mode,
        "waiters": waiters,
        "failed": failed,
        "admitted": limiter.admitted - 1,
        "script_calls": limiter.redis_calls - calls,
        "redis_timeout": getattr(limiter, "redis_timeout", math.nan),
        "seconds_first": round(min(ends), 3),
        "seconds_median": round(median(ends), 3),
        "seconds_last": round(max(ends), 3),
    }


async def _b9_latency(redis_url: str, n: int) -> list[float]:
    """Seconds per acquire() on an idle key (one script call), each followed by release()."""
    from books_async import RateLimit
    from books_async.limiters import RedisRateLimiter

    samples: list[float] = []
    async with RedisRateLimiter(redis_url, rate=RateLimit(1_000_000, 60.0), key="b9-latency") as limiter:
        for _ in range(n):
            start = time.perf_counter()
            await limiter.acquire()
            samples.append(time.perf_counter() - start)
            limiter.release()
    return samples


def max_in_any_window(times: Sequence[float], width: float) -> int:
    """The most events in any closed window [t, t + width]: what a strict sliding-window server counts."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] > width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def bench_b9(settings: Settings, report: Report, workdir: Path) -> None:
    from books_async._limiter import default_margin

    limit, period = B9_RATE
    n_each, runs, waiters = settings.b9_requests, settings.b9_runs, settings.b9_waiters
    n = B9_PROCESSES * n_each
    margin = default_margin(period)
    out(
        f"B9: {B9_PROCESSES} processes x {n_each} requests through RedisRateLimiter({limit}, {period:g}) "
        f"(default margin, {margin:g} s) against a sandbox enforcing {limit}/{period:g}s, {runs} run(s); "
        f"then {waiters} callers on a frozen Redis"
    )
    per_run: list[dict[str, float]] = []
    with redis_server(workdir) as (redis_url, server), sandbox_server(f"{limit}/{period:g}") as sandbox:
        base = fixed_url(sandbox)
        for run_no in range(runs):
            if run_no:
                time.sleep(period + margin)  # the sandbox's window empty again: every run starts alike
            before = len(asyncio.run(_server_log(base))["log"])
            started, workers = _b9_run(base, redis_url, f"b9-run-{run_no}", n_each)
            entries = asyncio.run(_server_log(base))["log"][before:]
            ours = [e for e in entries if str(e[3]).endswith("/books/validate")]
            times = sorted(float(e[0]) for e in ours)  # type: ignore[arg-type]  # JSON number
            # Fairness while every process still had work: each one's share of what was done by the first
            # finish.
            first_out = min(max(w.done) for w in workers)
            shares = sorted(sum(1 for t in w.done if t <= first_out) for w in workers)
            fair = sum(shares) / B9_PROCESSES
            per_run.append(
                {
                    "answers_429": sum(1 for e in ours if e[4] == 429),
                    "client_429": sum(w.rate_limited for w in workers),
                    "answered_200": sum(1 for e in ours if e[4] == 200),
                    "busiest_window": max_in_any_window(times, period),
                    # After the first burst no limiter that keeps the window can send faster than the quota.
                    "steady_share_of_quota": round(
                        (n - limit) / (times[-1] - times[0]) / (limit / period), 4
                    ),
                    "fair_share_min": round(shares[0] / fair, 3),
                    "fair_share_max": round(shares[-1] / fair, 3),
                    "seconds": round(max(max(w.done) for w in workers) - started, 2),
                    "script_calls_per_request": round(sum(w.redis_calls for w in workers) / n, 3),
                    "released_per_request": round(sum(w.released for w in workers) / n, 3),
                }
            )
            out(f"  run {run_no + 1}: {per_run[-1]}")
        frozen = {
            mode: asyncio.run(_b9_frozen(redis_url, server, mode, waiters)) for mode in ("fail", "local")
        }
        out(f"  frozen Redis: {frozen}")
        latency = asyncio.run(_b9_latency(redis_url, settings.b9_latency_calls))
    report.measurements["B9"] = {
        "runs": per_run,
        "frozen": frozen,
        "acquire_ms": {
            "median": round(median(latency) * 1e3, 3),
            "p99": round(statistics.quantiles(latency, n=100)[98] * 1e3, 3),
        },
    }
    refused = sum(r["answers_429"] for r in per_run)
    busiest = max(r["busiest_window"] for r in per_run)
    steady = median([r["steady_share_of_quota"] for r in per_run])
    fair_lo = min(r["fair_share_min"] for r in per_run)
    fair_hi = max(r["fair_share_max"] for r in per_run)
    fail, local = frozen["fail"], frozen["local"]
    fail_ratio = float(fail["seconds_last"]) / float(fail["redis_timeout"])
    local_ratio = float(local["seconds_last"]) / float(local["redis_timeout"])
    report.add(
        Figure(
            "B9",
            f"429 answers, {B9_PROCESSES} processes x {n_each} at {limit}/{period:g}s, default margin",
            refused,
            "0",
            refused == 0,
            f"{runs} runs, {sum(1 for r in per_run if r['answers_429'])} with a 429; sandbox log",
        ),
        Figure(
            "B9",
            f"busiest {period:g} s window at the server / {limit}",
            busiest / limit,
            "≤ 1",
            busiest <= limit,
        ),
        Figure(
            "B9",
            f"achieved / allowed rate after the first burst, {B9_PROCESSES} processes sharing it",
            steady,
            "≥ 0.9",
            steady >= 0.9,
            f"median of {runs}; share of a fair eighth by the first finish {fair_lo:.0%}-{fair_hi:.0%}",
        ),
        Figure(
            "B9",
            f"frozen Redis, on_redis_error='fail': last of {waiters} callers' error / redis_timeout",
            fail_ratio,
            "≤ 1.5",
            fail_ratio <= 1.5 and fail["failed"] == waiters,
            f"{fail['failed']} failed by {fail['seconds_last']} s, {fail['script_calls']} script call(s)",
        ),
        Figure(
            "B9",
            f"frozen Redis, on_redis_error='local': last of {waiters} callers admitted / redis_timeout",
            local_ratio,
            "≤ 1.5",
            local_ratio <= 1.5 and local["admitted"] == waiters,
            f"{local['admitted']} admitted locally by {local['seconds_last']} s",
        ),
        Figure(
            "B9",
            "uncontended acquire (one script call on loopback), median ms (context)",
            median(latency) * 1e3,
            note=f"p99 {statistics.quantiles(latency, n=100)[98] * 1e3:.2f} ms",
        ),
    )


# ---- driver -----------------------------------------------------------------------------------------------


# ---- B10: many organisations' clients in one process, one shared pool -------------------------------------


async def bench_b10(settings: Settings, report: Report) -> None:
    import _many_orgs

    from books_async import RateLimit

    n = settings.b10_orgs
    out(f"B10: {n:,} organisations' clients over one BooksClients pool, against the sandbox with {n:,} orgs")
    argv = [sys.executable, str(HERE / "sandbox_server.py"), "--api-key", _payloads.API_KEY]
    argv += ["--rate-limit", "off", "--empty", "--organisations", str(n)]
    with ServerProcess(argv, "READY ", timeout=120) as server:
        base = fixed_url(server)
        import aiohttp

        root = base.removesuffix("/api/v1")
        async with aiohttp.ClientSession() as session, session.get(root + "/__bench__/keys") as resp:
            keys: list[str] = await resp.json()
        if len(keys) != n:
            raise RuntimeError(f"the sandbox seeded {len(keys)} organisations, not {n}")
        memory = await _many_orgs.memory_per_client(base, _payloads.API_KEY, keys, RateLimit(100, 60.0))
        cpu = await _many_orgs.cpu_samples(base, keys, settings.b10_requests, settings.repeats, drive)
    one, many = cpu.values()
    value = ratio(median(many), median(one))
    report.measurements["B10"] = {"memory": memory, "cpu_seconds_per_call": cpu}
    full_kb = memory["full_bytes_per_client"] / 1024
    report.add(
        Figure(
            "B10",
            f"memory per client beyond the shared pool, limiter window full (100 slots), KB, {n:,} clients "
            f"(tracemalloc; idle client {memory['idle_bytes_per_client'] / 1024:.1f} KB)",
            full_kb,
            "≤ 20",
            full_kb <= 20,
        ),
        Figure(
            "B10",
            f"CPU per validate.context() call, spread over {n:,} clients / all through one client, c=64",
            value,
            "≤ 1.1",
            value <= 1.1,
            note=f"{median(one) * 1e6:.0f} µs per call through one client",
        ),
    )


def machine_info() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "server": "own process on 127.0.0.1 (fixed_server.py or the sandbox); the client is this process",
    }


def table(report: Report) -> str:
    rows = ["| # | figure | measured | target | met |", "|---|---|---|---|---|"]
    for f in report.figures:
        shown = "n/a" if f.value is None else f"{f.value:.2f}"
        met = {True: "yes", False: "**no**", None: "-"}[f.met]
        what = f.what + (f" ({f.note})" if f.note else "")
        rows.append(f"| {f.bench} | {what} | {shown} | {f.target or '-'} | {met} |")
    for bench, why in report.skipped.items():
        rows.append(f"| {bench} | did not run: {why} | - | - | - |")
    return "\n".join(rows)


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with the figures and measurements of the benchmarks in ``new`` replaced; when each ran."""
    ran = {f["bench"] for f in new["figures"]} | set(new["skipped"])
    figures = [f for f in old.get("figures", []) if f["bench"] not in ran]
    measurements = {**old.get("measurements", {}), **new["measurements"]}
    measurements["seconds"] = {
        **old.get("measurements", {}).get("seconds", {}),
        **new["measurements"]["seconds"],
    }
    runs = {
        **old.get("partial_runs", {}),
        **{b: {"started": new["started"], "machine": new["machine"]} for b in ran},
    }
    return {**old, "figures": figures + new["figures"], "measurements": measurements, "partial_runs": runs}


@contextlib.contextmanager
def timed(name: str, report: Report) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    except Exception as exc:  # one broken benchmark must not lose the others' figures
        report.skipped[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        out(f"  {name} FAILED: {type(exc).__name__}: {exc}")
    finally:
        report.measurements.setdefault("seconds", {})[name] = round(time.perf_counter() - start, 1)  # type: ignore[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the books-async benchmarks B1-B10.")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run of every benchmark")
    parser.add_argument(
        "--only", default="", help="comma-separated subset, e.g. B1,B3 (B1 and B2 run together)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="where to write the results")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the figures of the benchmarks run in the existing results file (with --only)",
    )
    parser.add_argument(
        "--child", help=argparse.SUPPRESS
    )  # internal: a B6 run or a B9 worker, in its own process
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "b6":
        child = asyncio.run(_child_b6(args.variant, args.files, args.base, args.dir, 16))
        files = list(args.dir.iterdir())
        child |= {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}
        out(json.dumps(child))
        return 0
    if args.child == "b9":
        worker = asyncio.run(_child_b9(args.base, args.redis, args.key, args.files))
        out(json.dumps(vars(worker)))
        return 0
    settings = Settings.quick() if args.quick else Settings()
    only = {b.strip().upper() for b in args.only.split(",") if b.strip()}

    def wanted(*names: str) -> bool:
        return not only or bool(only & set(names))

    report = Report()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="books-bench-"))
    try:
        if wanted("B8"):
            with timed("B8", report):
                bench_b8(settings, report)
        if wanted("B3"):
            with timed("B3", report):
                bench_b3(settings, report)
        if wanted("B1", "B2"):
            with timed("B1/B2", report):
                asyncio.run(bench_b1_b2(settings, report, workdir))
        if wanted("B7"):
            with timed("B7", report):
                asyncio.run(bench_b7(settings, report))
        if wanted("B6"):
            with timed("B6", report):
                bench_b6(settings, report, workdir)
        if wanted("B5"):
            with timed("B5", report):
                asyncio.run(bench_b5(settings, report))
        if wanted("B4"):
            with timed("B4", report):
                asyncio.run(bench_b4(settings, report))
        if wanted("B9"):
            with timed("B9", report):
                bench_b9(settings, report, workdir)
        if wanted("B10"):
            with timed("B10", report):
                asyncio.run(bench_b10(settings, report))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    results = {
        "started": started_at,
        "quick": args.quick,
        "total_seconds": round(total, 1),
        "machine": machine_info(),
        "method": (
            "Each figure is a ratio of two things measured in the same run, interleaved A,B,A,B..., "
            f"{settings.repeats} repeats (B1/B2: {settings.b1_repeats}, B3: {settings.b3_repeats}, "
            f"B7 decode pairs: {settings.b7_decode_pairs}, B8: {settings.b8_repeats}), median quoted: for "
            "B1/B2, B3 and B7's decode figure the median of the per-round ratios, else the ratio of medians. "
            "Client CPU is time.process_time() of the client process; servers run in their own processes."
        ),
        "figures": [vars(f) for f in report.figures],
        "skipped": report.skipped,
        "measurements": report.measurements,
    }
    if args.merge and args.out.exists():
        results = merged(json.loads(args.out.read_text(encoding="utf-8")), results)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    out()
    out(table(report))
    out()
    out(f"total {total:.0f} s; results in {args.out}")
    # A missed target is a result, reported above; a benchmark that could not run is a failure.
    return 1 if report.skipped else 0


if __name__ == "__main__":
    sys.exit(main())

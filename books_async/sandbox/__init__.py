"""A local fake of the Books API, for development, tests and demos: ``books_async.sandbox.serve()``.

It implements the whole spec (``openapi/books.yaml``) with the live API's rules: API keys scoped to an
organisation, a role and an application; 100 requests a minute per organisation; strict validation with
Zod-style details; GST arithmetic; the invoice and quote life cycles; real PDFs; an e-mail outbox. Faults
(server errors, dropped connections, latency) can be injected for reliability tests::

    async with serve() as sb:
        async with BooksClient(api_key=sb.api_key, base_url=sb.base_url) as books:
            ...

Run it from a shell with ``python -m books_async.sandbox`` (or ``books-async sandbox``). Importing this
package needs the ``sandbox`` extra (jsonschema, PyYAML, fpdf2); ``import books_async`` never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._auth import ApiKey
from ._core import RequestLogEntry
from ._faults import FaultInjector, FaultSpec, parse_faults
from ._seed import KEY_NAMES, ORGANISATION_KEY, SeedIds, seed, seed_organisations
from ._store import SQLiteFile, Store

if TYPE_CHECKING:
    import collections

    from ._core import State

__all__ = [
    "DEFAULT_PORT",
    "FaultSpec",
    "Sandbox",
    "SandboxConfig",
    "SandboxThread",
    "SeedIds",
    "build_store",
    "create_app",
    "parse_faults",
    "parse_rate_limit",
    "serve",
]

DEFAULT_PORT: Final = 8765
"""The port ``python -m books_async.sandbox`` listens on unless told otherwise."""


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """Return ``(max_requests, period_seconds)`` from ``"100/60"``; ``"off"`` or ``"0"`` disables the limit.

    Raises:
        ValueError: not ``N/SECONDS`` with N ≥ 1 and SECONDS > 0.
    """
    if text.strip().lower() in ("off", "none", "0"):
        return None
    count, sep, period = text.partition("/")
    try:
        parsed = (int(count), float(period) if sep else 60.0)
    except ValueError:
        raise ValueError(f"rate limit {text!r} is not REQUESTS/SECONDS, e.g. 100/60") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"rate limit {text!r} needs at least 1 request over a positive period")
    return parsed


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """How a sandbox runs. Every field has the default of ``python -m books_async.sandbox`` (port aside)."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port (read it back from :attr:`Sandbox.port`)."""
    api_key: str | None = field(default=None, repr=False)
    """The owner key of the default organisation; random when None."""
    rate_limit: tuple[int, float] | None = (100, 60.0)
    """(requests, seconds) per organisation over a sliding window; None for no limit."""
    faults: str | FaultSpec | None = None
    """Injected faults, e.g. ``"503:0.05,drop:0.02,slow:0.1:1.5"`` (see :func:`parse_faults`)."""
    faults_seed: int | None = None
    """Seed of the fault draws, for reproducible fault sequences."""
    data: str | Path | None = None
    """A SQLite file that keeps the data across restarts; in memory when None."""
    empty: bool = False
    """Start with the organisations and keys only: no customers, products or services."""
    organisations: int = 0
    """Extra organisations seeded into a new store, each with one owner key and no documents."""
    clock: Callable[[], float] = time.monotonic
    """The monotonic clock of the rate limiter and of :attr:`Sandbox.request_log`."""
    request_log_size: int = 100_000
    """How many requests :attr:`Sandbox.request_log` remembers."""

    def __post_init__(self) -> None:
        parse_faults(self.faults)  # fail at construction on a bad spec, not on the first request
        if self.rate_limit is not None and (self.rate_limit[0] < 1 or self.rate_limit[1] <= 0):
            raise ValueError("rate_limit needs at least 1 request over a positive period")
        count: object = self.organisations
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"organisations must be a whole number >= 0; got {self.organisations!r}")


def build_store(config: SandboxConfig) -> Store:
    """Return the store ``config`` describes: loaded from its SQLite file, or freshly seeded."""
    persistence = SQLiteFile(config.data) if config.data is not None else None
    store = Store(persistence)
    if persistence is not None and not persistence.is_empty():
        store.load()
        if config.api_key is not None and config.api_key not in store.keys:
            owner = _named_key(store, KEY_NAMES["owner"])
            store.add_key(
                ApiKey(
                    key=config.api_key,
                    org_id=owner.org_id,
                    account_id=owner.account_id,
                    role="owner",
                    name="owner (--api-key)",
                )
            )
    else:
        seed(store, api_key=config.api_key, empty=config.empty)
        seed_organisations(store, config.organisations)
    store.flush()
    return store


def _named_key(store: Store, name: str) -> ApiKey:
    for key in store.keys.values():
        if key.name == name:
            return key
    raise LookupError(f"the sandbox data has no key named {name!r}")


def create_app(config: SandboxConfig | None = None, *, store: Store | None = None) -> web.Application:
    """Return the sandbox as an ``aiohttp.web.Application``, to run with your own runner or test client."""
    from ._app import create_app as _create_app

    return _create_app(config, store=store)


class Sandbox:
    """A running sandbox: its URL, its keys, and its data for tests to inspect.

    Use :func:`serve` (or ``async with Sandbox(...)``); :meth:`run_in_thread` for synchronous code.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._runner: web.AppRunner | None = None
        self._app: web.Application | None = None
        self._port = 0

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not started"
        return f"<Sandbox {where}>"

    # ---- life cycle

    async def start(self) -> Sandbox:
        """Bind the socket and start answering; returns ``self``."""
        if self._runner is not None:
            raise RuntimeError("this sandbox is already running")
        from ._app import create_app as _create_app

        store = build_store(self.config)
        app = _create_app(self.config, store=store)
        # A test server should not wait a minute for stragglers (e.g. a slow fault) when it stops.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._app = app
        self._port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Stop answering and close the data file; idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @staticmethod
    def run_in_thread(config: SandboxConfig | None = None) -> SandboxThread:
        """Return a context manager that runs a sandbox on its own loop in a thread, for synchronous code."""
        return SandboxThread(config)

    # ---- where and who

    @property
    def state(self) -> State:
        """The running application's state (store, limiter, faults, caches)."""
        from ._app import STATE

        if self._app is None:
            raise RuntimeError("the sandbox is not running")
        return self._app[STATE]

    @property
    def app(self) -> web.Application:
        """The aiohttp application."""
        if self._app is None:
            raise RuntimeError("the sandbox is not running")
        return self._app

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, the server's root."""
        host = self.config.host
        return f"http://[{host}]:{self._port}" if ":" in host else f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The API's base URL, e.g. ``http://127.0.0.1:8765/api/v1`` (pass it to ``BooksClient``)."""
        return self.url + "/api/v1"

    def _key(self, role: str) -> str:
        if role == "owner" and self.config.api_key is not None:
            return self.config.api_key
        return _named_key(self.state.store, KEY_NAMES[role]).key

    @property
    def api_key(self) -> str:
        """An owner key of the default organisation."""
        return self._key("owner")

    @property
    def member_key(self) -> str:
        """A member key of the default organisation: everything but owner-only routes."""
        return self._key("member")

    @property
    def other_app_key(self) -> str:
        """A key of the default organisation scoped to the ``whatsapp`` app: books routes answer 403."""
        return self._key("other_app")

    @property
    def other_org_key(self) -> str:
        """The owner key of a second organisation in another account."""
        return self._key("other_org")

    @property
    def org_id(self) -> str:
        """The default organisation's id."""
        return _named_key(self.state.store, KEY_NAMES["owner"]).org_id

    @property
    def other_org_id(self) -> str:
        """The second organisation's id."""
        return _named_key(self.state.store, KEY_NAMES["other_org"]).org_id

    @property
    def organisations(self) -> dict[str, str]:
        """The extra organisations (``organisations=N``): org id → its owner key, in seeding order."""
        found: dict[int, tuple[str, str]] = {}
        prefix = ORGANISATION_KEY.format("")
        for key in self.state.store.keys.values():
            if key.name.startswith(prefix) and key.name[len(prefix) :].isdigit():
                found[int(key.name[len(prefix) :])] = (key.org_id, key.key)
        return dict(found[n] for n in sorted(found))

    @property
    def seed(self) -> SeedIds | None:
        """Ids of the seeded customers, products and services (None with ``empty``)."""
        raw = self.state.store.orgs[self.org_id].meta.get("seed")
        if not isinstance(raw, dict):
            return None
        return SeedIds(**{str(k): str(v) for k, v in raw.items()})

    # ---- what happened

    @property
    def store(self) -> Store:
        """The data, for tests to inspect (``store.find("invoices", id)``, ``store.documents(...)``)."""
        return self.state.store

    @property
    def request_log(self) -> collections.deque[RequestLogEntry]:
        """Recent requests as (monotonic time, org id or None, method, path, status), oldest first."""
        return self.state.request_log

    def outbox(self, org_id: str | None = None) -> list[dict[str, object]]:
        """The e-mails sent by an organisation (the default one unless given)."""
        return self.state.store.space(org_id or self.org_id).outbox

    def set_faults(self, faults: str | FaultSpec | None, *, seed: int | None = None) -> None:
        """Change the injected faults of the running sandbox (None stops them)."""
        self.state.faults = FaultInjector(parse_faults(faults), seed)


@contextlib.asynccontextmanager
async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    rate_limit: tuple[int, float] | None = (100, 60.0),
    faults: str | FaultSpec | None = None,
    faults_seed: int | None = None,
    data: str | Path | None = None,
    empty: bool = False,
    organisations: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Sandbox]:
    """Run a sandbox for the duration of the ``async with`` block and yield it.

    Binds 127.0.0.1 on a free port by default. ``sb.base_url`` and ``sb.api_key`` are what a client needs;
    ``sb.member_key``, ``sb.other_app_key`` and ``sb.other_org_key`` exercise the other roles;
    ``organisations=N`` seeds N more organisations, their keys in ``sb.organisations`` (org id → key).

    Raises:
        ValueError: a bad ``faults`` spec or ``rate_limit``.
        OSError: the port is taken.
    """
    config = SandboxConfig(
        host=host,
        port=port,
        api_key=api_key,
        rate_limit=rate_limit,
        faults=faults,
        faults_seed=faults_seed,
        data=data,
        empty=empty,
        organisations=organisations,
        clock=clock,
    )
    sandbox = Sandbox(config)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


class SandboxThread:
    """A sandbox served from a background thread, for synchronous tests and scripts::

        with Sandbox.run_in_thread() as sb:
            requests.get(sb.base_url + "/books/validate", headers={"x-api-key": sb.api_key})

    The attributes of the running :class:`Sandbox` are read through; its store belongs to the sandbox's
    thread, so only read it while no request is in flight.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._sandbox: Sandbox | None = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<SandboxThread {self._sandbox!r}>"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            sandbox = await Sandbox(self.config).start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        self._sandbox = sandbox
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await sandbox.stop()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(self._main())

    def start(self) -> Sandbox:
        """Start the thread and wait until the sandbox answers; return it."""
        self._thread = threading.Thread(target=self._run, name="books-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._sandbox is not None  # noqa: S101 - set before _ready unless _error is
        return self._sandbox

    def stop(self) -> None:
        """Stop the sandbox and join the thread; idempotent."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join()
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _iter_keys(sandbox: Sandbox) -> Iterator[tuple[str, str]]:
    """(label, key) of every key the sandbox accepts, for the CLI to print."""
    yield "owner (default org)", sandbox.api_key
    yield "member (default org)", sandbox.member_key
    yield "whatsapp app (403 on books routes)", sandbox.other_app_key
    yield "owner (second org)", sandbox.other_org_key
    for org_id, key in sandbox.organisations.items():
        yield f"owner (org {org_id})", key

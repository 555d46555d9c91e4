"""The aiohttp application: routes from the spec, then one middleware for faults, auth, quota and errors."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._auth import BOOKS_APP, ApiKey, extract_key
from ._core import ApiError, Call, Handler, State, json_response, validation_error
from ._faults import FaultInjector, parse_faults
from ._handlers_catalog import HANDLERS as CATALOG
from ._handlers_invoices import HANDLERS as INVOICES
from ._handlers_misc import HANDLERS as MISC
from ._handlers_misc import outbox
from ._handlers_quotes import HANDLERS as QUOTES
from ._json import JSONError, loads_body
from ._ratelimit import SlidingWindowLog
from ._store import Store
from ._validation import Issue, Operation, load_spec

if TYPE_CHECKING:
    from . import SandboxConfig

__all__ = ["API_PREFIX", "BODY_LIMIT", "STATE", "build_state", "create_app"]

log = logging.getLogger("books_async.sandbox")

API_PREFIX: Final = "/api/v1"
SANDBOX_PREFIX: Final = "/api/v1/__sandbox__/"
BODY_LIMIT: Final = 5 * 1024 * 1024
"""Request bodies over 5 MiB get 413, as on the live API."""
STATE: Final = web.AppKey("books_sandbox_state", State)
_KEY: Final = web.RequestKey("books_sandbox_key", ApiKey)
_ACCEPTED_AT: Final = web.RequestKey("books_sandbox_accepted_at", float)
_LITERAL_PATHS: Final = web.AppKey("books_sandbox_literal_paths", dict[str, set[str]])
_BOOKS_MODULES: Final = frozenset({"books", "orgs", "__sandbox__"})
_HANDLERS: Final[dict[str, Handler]] = {**INVOICES, **QUOTES, **CATALOG, **MISC}
_Next = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_state(config: SandboxConfig, store: Store) -> State:
    """Return the state of a sandbox serving ``store`` as ``config`` says."""
    limiter = None
    if config.rate_limit is not None:
        limiter = SlidingWindowLog(config.rate_limit[0], config.rate_limit[1], config.clock)
    return State(
        config=config,
        store=store,
        spec=load_spec(),
        limiter=limiter,
        faults=FaultInjector(parse_faults(config.faults), config.faults_seed),
        clock=config.clock,
        request_log=collections.deque(maxlen=config.request_log_size),
    )


async def _read_body(request: web.Request) -> bytes:
    """Read the body, refusing (413) anything over the limit without ever holding more than the limit."""
    length = request.content_length
    if length is not None and length > BODY_LIMIT:
        # Answered before reading a byte; aiohttp then discards the rest of the upload as it arrives.
        raise ApiError(
            413, "payload_too_large", f"The request body is {length} bytes; the limit is {BODY_LIMIT}."
        )
    buffer = bytearray()
    async for chunk in request.content.iter_any():
        buffer += chunk
        if len(buffer) > BODY_LIMIT:
            raise ApiError(413, "payload_too_large", f"The request body is over the {BODY_LIMIT}-byte limit.")
    return bytes(buffer)


def _endpoint(
    op: Operation, handler: Handler, literal_paths: dict[str, set[str]]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    has_path_params = any(p.location == "path" for p in op.params)

    async def endpoint(request: web.Request) -> web.StreamResponse:
        if has_path_params and request.path in literal_paths:
            # e.g. PATCH /books/invoices/bulk-action: the path is a route of its own, not an invoice id.
            raise web.HTTPMethodNotAllowed(request.method, sorted(literal_paths[request.path]))
        issues: list[Issue] = op.check_path(request.match_info) if has_path_params else []
        query, query_issues = op.parse_query(request.query)
        issues.extend(query_issues)
        body: object = None
        if op.body is not None:
            raw = await _read_body(request)
            if raw.strip():
                try:
                    body = loads_body(raw)
                except JSONError as exc:
                    raise validation_error(
                        [{"path": [], "message": str(exc), "code": "invalid_type"}]
                    ) from None
                issues.extend(op.body.issues(body))
            elif op.body_required:
                issues.append(
                    {
                        "path": [],
                        "message": "Required: the request needs a JSON body",
                        "code": "invalid_type",
                        "expected": "object",
                        "received": "undefined",
                    }
                )
            else:
                body = {}
        if issues:
            raise validation_error(issues)
        call = Call(request.app[STATE], request[_KEY], request, query, body, request.match_info.get("id", ""))
        return await handler(call)

    endpoint.__name__ = op.operation_id.replace(".", "_")
    return endpoint


async def _outbox_endpoint(request: web.Request) -> web.StreamResponse:
    call = Call(request.app[STATE], request[_KEY], request, {}, None, "")
    return await outbox(call)


def _forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def _authenticate(state: State, request: web.Request) -> ApiKey:
    raw = extract_key(request.headers)
    if raw is None:
        raise ApiError(401, "unauthorized", "No API key: send it as x-api-key or Authorization: Bearer.")
    key = state.store.keys.get(raw)
    if key is None:
        raise ApiError(401, "unauthorized", "Unknown API key.")
    return key


def _check_scope(key: ApiKey, request: web.Request) -> None:
    module = request.path[len(API_PREFIX) + 1 :].partition("/")[0]
    if module not in _BOOKS_MODULES:
        if key.app != module:
            raise _forbidden(f"This key is scoped to the {key.app} application, not {module}.")
        raise ApiError(404, "not_found", f"The sandbox implements the books application only, not {module}.")
    if key.app != BOOKS_APP:
        raise _forbidden(f"This key is scoped to the {key.app} application, not books.")


async def _process(
    state: State, request: web.Request, handler: _Next
) -> tuple[web.StreamResponse, str | None]:
    sandbox_route = request.path.startswith(SANDBOX_PREFIX)
    if not sandbox_route and state.faults.spec.active:
        delay = state.faults.delay()
        if delay:
            await asyncio.sleep(delay)
        status = state.faults.error_status()
        if status is not None:
            raise ApiError(
                status, "service_unavailable", "Injected fault: the server is unavailable, try again."
            )
    key = _authenticate(state, request)
    request[_KEY] = key
    _check_scope(key, request)
    match_error = request.match_info.http_exception
    if match_error is not None:
        literal = request.app[_LITERAL_PATHS].get(request.path)
        if isinstance(match_error, web.HTTPMethodNotAllowed) and literal is not None:
            # The router also offers the methods of `/books/invoices/{id}`, whose pattern the literal path
            # matches; `Allow` must list what this path itself has.
            raise web.HTTPMethodNotAllowed(request.method, sorted(literal))
        raise match_error
    now = state.clock()
    request[_ACCEPTED_AT] = now
    if state.limiter is not None and not sandbox_route:
        wait = state.limiter.acquire(key.org_id, now)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"The organisation's quota of {state.limiter.max_requests} requests per "
                f"{state.limiter.period:g} s is spent; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
                extra={"retryAfter": wait},
            )
    response = await handler(request)
    state.store.flush()
    return response, key.org_id


@web.middleware
async def _middleware(request: web.Request, handler: _Next) -> web.StreamResponse:
    state = request.app[STATE]
    started = state.clock()
    org_id: str | None = None
    response: web.StreamResponse
    try:
        if not request.path.startswith(API_PREFIX + "/"):
            raise ApiError(404, "not_found", f"Every route is under {API_PREFIX}/.")
        response, org_id = await _process(state, request, handler)
    except ApiError as exc:
        # Handlers check before they write, but anything written before an error must still be saved.
        state.store.flush()
        response = exc.response()
        key = request.get(_KEY)
        org_id = key.org_id if isinstance(key, ApiKey) else None
    except web.HTTPException as exc:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        text = exc.reason if exc.status != 404 else f"No route {request.method} {request.path}."
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = json_response({"error": kind, "message": text}, status=exc.status, headers=allow)
    except Exception:
        log.exception("sandbox error on %s %s", request.method, request.path)
        state.store.flush()
        response = json_response(
            {"error": "internal", "message": "The sandbox failed; see its log."}, status=500
        )
    at = request.get(_ACCEPTED_AT, started)
    state.request_log.append((at, org_id, request.method, request.path, response.status))
    log.debug("%s %s -> %d (org %s)", request.method, request.path, response.status, org_id)
    if (
        not request.path.startswith(SANDBOX_PREFIX)
        and state.faults.spec.active
        and response.status < 500
        and state.faults.drop()
    ):
        # The request was processed and its writes kept; the client never hears about it. aiohttp sees the
        # closed transport when it writes the answer and treats it as a client disconnect.
        log.debug("injected fault: dropping the connection of %s %s", request.method, request.path)
        transport = request.transport
        if transport is not None:
            transport.close()
    return response


def create_app(config: SandboxConfig | None = None, *, store: Store | None = None) -> web.Application:
    """Return the sandbox as an ``aiohttp.web.Application`` (to embed or run with your own runner).

    Without ``store`` the data is built as ``config`` says (seeded, or loaded from ``config.data``).
    """
    from . import SandboxConfig, build_store

    config = config or SandboxConfig()
    if store is None:
        store = build_store(config)
    state = build_state(config, store)
    # client_max_size guards any body read through aiohttp's own helpers; ours are read by _read_body.
    app = web.Application(middlewares=[_middleware], client_max_size=BODY_LIMIT)
    app[STATE] = state
    literal_paths: dict[str, set[str]] = {}
    for op in state.spec.operations.values():
        if "{" not in op.path:
            literal_paths.setdefault(API_PREFIX + op.path, set()).add(op.method)
    app[_LITERAL_PATHS] = literal_paths
    for op in state.spec.operations.values():
        handler = _HANDLERS[op.operation_id]
        path = API_PREFIX + op.path
        app.router.add_route(op.method, path, _endpoint(op, handler, literal_paths), name=op.operation_id)
    app.router.add_get(SANDBOX_PREFIX + "outbox", _outbox_endpoint, name="sandbox.outbox")

    async def close_store(_: web.Application) -> None:
        state.store.close()

    app.on_cleanup.append(close_store)
    return app

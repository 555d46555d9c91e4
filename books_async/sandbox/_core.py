"""What every handler shares: the sandbox state, the call context, errors and JSON answers."""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final, TypeAlias, cast

from aiohttp import web

from ._auth import ApiKey
from ._faults import FaultInjector
from ._ids import today
from ._json import dumps
from ._ratelimit import SlidingWindowLog
from ._store import OrgSpace, Record, Store
from ._validation import Issue, Spec

if TYPE_CHECKING:
    from . import SandboxConfig

__all__ = [
    "CENT",
    "ApiError",
    "Call",
    "Handler",
    "RequestLogEntry",
    "State",
    "check_places",
    "conflict",
    "json_response",
    "not_found",
    "validation_error",
]

CENT: Final = Decimal("0.01")
RequestLogEntry: TypeAlias = tuple[float, str | None, str, str, int]
"""(monotonic time, org id or None, method, path, status) of one request."""


class ApiError(Exception):
    """An error answer: ``{"error", "message"}`` plus ``details`` on a 400."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        details: Sequence[Issue] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = list(details) if details is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, object]:
        """Return the JSON body of the answer."""
        out: dict[str, object] = {"error": self.error, "message": self.message, **self.extra}
        if self.details is not None:
            out["details"] = self.details
        return out

    def response(self) -> web.Response:
        """Return the answer."""
        return json_response(self.body(), status=self.status, headers=self.headers)


def validation_error(issues: Sequence[Issue]) -> ApiError:
    """A 400 listing every issue."""
    n = len(issues)
    return ApiError(
        400, "validation_error", f"{n} problem{'s' if n != 1 else ''} with the request", details=issues
    )


def not_found(kind: str, doc_id: str) -> ApiError:
    """A 404 for an id that is not in the key's organisation."""
    return ApiError(404, "not_found", f"No {kind} with id {doc_id} in this organisation.")


def conflict(message: str) -> ApiError:
    """A 409 for a uniqueness or state conflict."""
    return ApiError(409, "conflict", message)


def json_response(
    data: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return a JSON answer; ``bytes`` are taken as already-serialised JSON."""
    body = data if isinstance(data, bytes) else dumps(data)
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def check_places(
    value: object, path: Sequence[str | int], places: int, issues: list[Issue]
) -> Decimal | None:
    """Return ``value`` as a Decimal if it has at most ``places`` decimals; else add an issue, return None."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    number = Decimal(value)
    quantum = Decimal(1).scaleb(-places)
    try:
        if number.quantize(quantum) == number:
            return number.quantize(quantum) if places == 2 else number
    except InvalidOperation:
        issues.append({"path": list(path), "message": "Number is too large", "code": "too_big"})
        return None
    issues.append({"path": list(path), "message": f"At most {places} decimal places", "code": "custom"})
    return None


@dataclass(slots=True)
class State:
    """Everything one running sandbox holds."""

    config: SandboxConfig
    store: Store
    spec: Spec
    limiter: SlidingWindowLog | None
    faults: FaultInjector
    clock: Callable[[], float]
    request_log: collections.deque[RequestLogEntry]
    pdf_cache: collections.OrderedDict[tuple[str, str, str, str], tuple[str, bytes]] = field(
        default_factory=collections.OrderedDict
    )
    pdf_renders: int = 0
    """How many PDFs were actually rendered (the rest came from the cache)."""
    today: Callable[[], date] = today


@dataclass(slots=True)
class Call:
    """One authenticated, rate-limited, validated request, as a handler sees it."""

    state: State
    key: ApiKey
    request: web.Request
    query: dict[str, object]
    body: object
    id: str

    @property
    def org_id(self) -> str:
        """The key's organisation."""
        return self.key.org_id

    @property
    def space(self) -> OrgSpace:
        """The key's organisation's documents."""
        return self.state.store.space(self.key.org_id)

    @property
    def org(self) -> Record:
        """The key's organisation's record."""
        return self.state.store.orgs[self.key.org_id]

    @property
    def store(self) -> Store:
        """The store."""
        return self.state.store

    def body_dict(self) -> dict[str, object]:
        """The body, known to be an object because the spec's schema was checked."""
        return cast("dict[str, object]", self.body) if isinstance(self.body, dict) else {}

    def lookup(self, collection: str, kind: str) -> Record:
        """Return the record of the path id in the key's organisation, or raise 404."""
        rec = self.state.store.get(collection, self.key.org_id, self.id)
        if rec is None:
            raise not_found(kind, self.id)
        return rec


Handler: TypeAlias = Callable[[Call], Awaitable[web.StreamResponse]]

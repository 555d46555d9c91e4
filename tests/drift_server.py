"""An off-spec Books API for tests: a reverse proxy that makes its upstream (the sandbox) drift from the spec.

The live API is Next.js over the native MongoDB driver, answering ``NextResponse.json()`` of raw documents,
so it probably differs from ``openapi/books.yaml`` in ways the sandbox (which follows the spec) never shows.
The proxy forwards every request unchanged (method, path, query, headers, body) and rewrites each 2xx JSON
answer with the drifts that are switched on; error answers and PDFs pass through untouched.

Drift kinds (:data:`ALL_DRIFTS`):

- ``unknown_keys``: every JSON object gains ``"x_new_field": {"a": 1}`` and ``"__v": 0``.
- ``missing_computed``: ``round_off``, ``updatedAt``, ``taxable_value`` and an invoice's ``customer_name``
  are deleted (never ``_id``, a number, or pagination's keys).
- ``datetime_dates``: every ``YYYY-MM-DD`` string becomes midnight in India as MongoDB writes it, the day
  before at ``T18:30:00.000Z``.
- ``unknown_enums``: invoice ``draft`` -> ``unpaid``, quote ``draft`` -> ``pending``, customer ``B2C`` ->
  ``SEZ``, every ``payment_method`` -> ``neft``.
- ``populated_refs``: ``customer_id``, ``product_id``, ``service_id`` and ``quote_id`` become
  ``{"_id", "name"}``.
- ``string_money``: money, quantities and rates become numeric strings with their exact digits.
- ``no_pagination``: list answers lose ``pagination``.
- ``stuck_pagination``: list answers always say ``page`` 1 of 99 and hold page 1's rows, whatever was asked.

Use it directly::

    async with serve() as sb, drift_proxy(sb.base_url, drifts={"unknown_keys"}) as proxy:
        async with BooksClient(sb.api_key, base_url=proxy.base_url) as books: ...
        assert proxy.methods_seen == {"GET"}

or through the ``drift_proxy`` fixture of ``tests/conftest.py``, in front of the test's ``sandbox``; its
``drift`` marker names the kinds to switch on (every kind without the marker or with no arguments)::

    @pytest.mark.drift("no_pagination", "string_money")
    async def test_something(drift_proxy: DriftProxy, sandbox: Sandbox) -> None: ...

The proxy records ``(method, path)`` of what it forwarded, never headers or bodies, so the API key appears
in nothing it keeps or prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from books_async import _serde

__all__ = ["ALL_DRIFTS", "DriftProxy", "drift_proxy"]

ALL_DRIFTS: Final = frozenset(
    {
        "unknown_keys",
        "missing_computed",
        "datetime_dates",
        "unknown_enums",
        "populated_refs",
        "string_money",
        "no_pagination",
        "stuck_pagination",
    }
)

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPUTED: Final = ("round_off", "updatedAt", "taxable_value")
_REFS: Final = {"customer_id": "customer_name", "product_id": "description", "service_id": "description"}
_MONEY: Final = frozenset(
    {
        "amount",
        "amount_paid",
        "balance_due",
        "cgst_amount",
        "cgst_total",
        "discount",
        "discount_total",
        "gst_rate",
        "igst_amount",
        "igst_total",
        "invoiced",
        "low_stock_threshold",
        "outstanding",
        "overdue_amount",
        "paid",
        "quantity",
        "rate",
        "round_off",
        "sale_price",
        "sgst_amount",
        "sgst_total",
        "stock_quantity",
        "subtotal",
        "tax_amount",
        "tax_total",
        "taxable_total",
        "taxable_value",
        "total",
        "total_receivables",
        "total_revenue",
    }
)
# Hop-by-hop headers, and those that describe a body we may rewrite (aiohttp sets them afresh).
_NOT_FORWARDED: Final = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "host",
        "keep-alive",
        "accept-encoding",
        "transfer-encoding",
        "upgrade",
    }
)


def _objects(node: object) -> Iterable[dict[str, object]]:
    """Every JSON object in ``node``, children before parents (so additions to a parent are not revisited)."""
    if isinstance(node, dict):
        for value in list(node.values()):
            yield from _objects(value)
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def _populate_refs(body: object) -> None:
    for obj in _objects(body):
        for key, name_key in _REFS.items():
            if isinstance(obj.get(key), str):
                obj[key] = {"_id": obj[key], "name": obj.get(name_key, "Populated")}
        if isinstance(obj.get("quote_id"), str):
            obj["quote_id"] = {"_id": obj["quote_id"], "name": "Quote"}


def _drop_computed(body: object) -> None:
    for obj in _objects(body):
        for key in _COMPUTED:
            obj.pop(key, None)
        if "invoice_number" in obj:
            obj.pop("customer_name", None)


def _unknown_enums(body: object) -> None:
    for obj in _objects(body):
        if obj.get("status") == "draft" and "invoice_number" in obj:
            obj["status"] = "unpaid"
        if obj.get("status") == "draft" and "quote_number" in obj:
            obj["status"] = "pending"
        if obj.get("type") == "B2C" and "billing_address" in obj:
            obj["type"] = "SEZ"
        if "payment_method" in obj:
            obj["payment_method"] = "neft"


def _ist_midnight(text: str) -> str:
    # MongoDB stores a date picked in India as its midnight in IST (UTC+5:30): 18:30 UTC the day before.
    return f"{(date.fromisoformat(text) - timedelta(days=1)).isoformat()}T18:30:00.000Z"


def _datetime_dates(body: object) -> object:
    if isinstance(body, str) and _DATE.fullmatch(body):
        return _ist_midnight(body)
    if isinstance(body, dict):
        for key, value in body.items():
            body[key] = _datetime_dates(value)
    elif isinstance(body, list):
        body[:] = [_datetime_dates(item) for item in body]
    return body


def _string_money(body: object) -> None:
    for obj in _objects(body):
        if {"pages", "limit"} <= obj.keys() or {"draft", "void"} <= obj.keys():
            continue  # pagination's `total` and the dashboard's `paid` are counts, not money
        for key in _MONEY.intersection(obj):
            value = obj[key]
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                # "f": the digits exactly as received, never an exponent
                obj[key] = format(value, "f") if isinstance(value, Decimal) else str(value)


def _unknown_keys(body: object) -> None:
    for obj in _objects(body):
        obj["x_new_field"] = {"a": 1}
        obj["__v"] = 0


def _list_page(body: object) -> dict[str, object] | None:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body
    return None


def _no_pagination(body: object) -> None:
    page = _list_page(body)
    if page is not None:
        page.pop("pagination", None)


def _stuck_pagination(body: object) -> None:
    page = _list_page(body)
    if page is not None and isinstance(page.get("pagination"), dict):
        pagination = page["pagination"]
        assert isinstance(pagination, dict)
        pagination["page"] = 1
        pagination["pages"] = 99


def _in_place(fn: Callable[[object], None]) -> Callable[[object], object]:
    def apply(body: object) -> object:
        fn(body)
        return body

    return apply


# Refs are populated before names are dropped (a populated ref keeps the customer's name, as Mongoose's
# populate would), and unknown keys come last so that every object, populated refs included, gets them.
_PIPELINE: Final[tuple[tuple[str, Callable[[object], object]], ...]] = (
    ("populated_refs", _in_place(_populate_refs)),
    ("missing_computed", _in_place(_drop_computed)),
    ("unknown_enums", _in_place(_unknown_enums)),
    ("datetime_dates", _datetime_dates),
    ("string_money", _in_place(_string_money)),
    ("no_pagination", _in_place(_no_pagination)),
    ("stuck_pagination", _in_place(_stuck_pagination)),
    ("unknown_keys", _in_place(_unknown_keys)),
)


def apply_drifts(body: object, drifts: Collection[str]) -> object:
    """Return ``body`` (parsed JSON, exact Decimals) with ``drifts`` applied; it is changed in place."""
    for name, step in _PIPELINE:
        if name in drifts:
            body = step(body)
    return body


class DriftProxy:
    """A running drift proxy: where to send requests, and what it forwarded."""

    def __init__(self, upstream_base_url: str, drifts: Collection[str]) -> None:
        unknown = set(drifts) - ALL_DRIFTS
        if unknown:
            raise ValueError(f"unknown drift kinds {sorted(unknown)}; choose from {sorted(ALL_DRIFTS)}")
        parts = urlsplit(upstream_base_url)
        self.drifts = frozenset(drifts)
        self.upstream_root = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")
        self.base_url = ""
        """Set once serving: the proxy's root plus the upstream's prefix, e.g. ``http://127.0.0.1:4711/api/v1``."""
        self.requests: list[tuple[str, str]] = []
        """``(method, path)`` of every request forwarded, in order."""
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<DriftProxy {self.base_url or 'not started'} drifts={sorted(self.drifts)}>"

    @property
    def methods_seen(self) -> set[str]:
        """The HTTP methods of every request forwarded so far."""
        return {method for method, _ in self.requests}

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        self.requests.append((request.method, request.path))
        query = list(request.query.items())
        if "stuck_pagination" in self.drifts:
            # A server whose paging never advances: whatever page is asked, page 1 comes back.
            query = [(k, "1" if k == "page" else v) for k, v in query]
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED)
        body = await request.read()
        async with self._session.request(
            request.method,
            self.upstream_root + request.path,
            params=query,
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as upstream:
            raw = await upstream.read()
            out_headers = CIMultiDict(
                (k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED
            )
            if 200 <= upstream.status < 300 and upstream.content_type == "application/json" and raw:
                drifted = apply_drifts(json.loads(raw, parse_float=Decimal), self.drifts)
                raw = _serde.dumps(drifted)  # type: ignore[arg-type]  # parsed JSON is JSON
            return web.Response(status=upstream.status, body=raw, headers=out_headers)


@asynccontextmanager
async def drift_proxy(
    upstream_base_url: str, *, drifts: Collection[str] = ALL_DRIFTS, port: int = 0
) -> AsyncIterator[DriftProxy]:
    """Run a :class:`DriftProxy` in front of ``upstream_base_url`` on 127.0.0.1 for the ``async with`` block.

    Raises:
        ValueError: a drift kind not in :data:`ALL_DRIFTS`.
    """
    proxy = DriftProxy(upstream_base_url, drifts)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", proxy._forward)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        proxy.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}{proxy.prefix}"
        async with aiohttp.ClientSession(
            auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            proxy._session = session
            yield proxy
    finally:
        await runner.cleanup()

"""The drift proxy (tests/drift_server.py): each drift kind rewrites the sandbox's answers as it says."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from decimal import Decimal

import aiohttp
import pytest

from books_async.sandbox import Sandbox
from tests.drift_server import ALL_DRIFTS, DriftProxy, drift_proxy
from tests.factories import line_dict

# Far ahead, so that no status turns overdue or expired; the first of a month shows the day before clearly.
INVOICE_DATE = "2099-04-01"
IST_MIDNIGHT = "2099-03-31T18:30:00.000Z"


def line(**fields: object) -> dict[str, object]:
    """A service line with an HSN code and paise in its rate, so every drift of money shows."""
    return line_dict(**{"hsn_sac": "998311", "rate": 1500.25, **fields})


class Raw:
    """A raw aiohttp client of one base URL with the sandbox's owner key."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, key: str) -> None:
        self.session = session
        self.base_url = base_url
        self.key = key

    async def call(
        self, method: str, path: str, body: object = None, params: Mapping[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        headers = {"x-api-key": self.key}
        data = None
        if body is not None:
            data = json.dumps(body, default=float).encode()
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.base_url + path, data=data, headers=headers, params=params
        ) as resp:
            return resp.status, resp.content_type, await resp.read()

    async def json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, object]:
        status, _, raw = await self.call("GET", path, params=params)
        assert status == 200, raw
        body = json.loads(raw, parse_float=Decimal)
        assert isinstance(body, dict)
        return body

    async def post(self, path: str, body: object) -> dict[str, object]:
        status, _, raw = await self.call("POST", path, body)
        assert status in (200, 201), raw
        parsed = json.loads(raw)
        assert isinstance(parsed, dict)
        return parsed


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def account(sandbox: Sandbox, session: aiohttp.ClientSession) -> dict[str, str]:
    """Two draft invoices (one with a product line), one paid by UPI, and a draft quote."""
    seed = sandbox.seed
    assert seed is not None
    api = Raw(session, sandbox.base_url, sandbox.api_key)
    draft = await api.post(
        "/books/invoices",
        {
            "customer_id": seed.customer_b2b_intra,
            "invoice_date": INVOICE_DATE,
            "line_items": [
                line(),
                line(item_type="product", product_id=seed.product_untracked, hsn_sac="7318"),
            ],
        },
    )
    await api.post(
        "/books/invoices",
        {"customer_id": seed.customer_b2b_inter, "invoice_date": INVOICE_DATE, "line_items": [line()]},
    )
    paid = await api.post(
        "/books/invoices",
        {"customer_id": seed.customer_b2c, "invoice_date": INVOICE_DATE, "line_items": [line()]},
    )
    await api.post(f"/books/invoices/{paid['_id']}/send", {})
    await api.post(f"/books/invoices/{paid['_id']}/payments", {"amount": 100, "payment_method": "upi"})
    quote = await api.post(
        "/books/quotes",
        {"customer_id": seed.customer_b2c, "quote_date": INVOICE_DATE, "line_items": [line()]},
    )
    return {"draft": str(draft["_id"]), "paid": str(paid["_id"]), "quote": str(quote["_id"])}


def objects(node: object, path: str = "$") -> Iterator[tuple[str, dict[str, object]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key != "x_new_field":
                yield from objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from objects(item, f"{path}[]")


def digits(value: object) -> str:
    """The JSON text of a number as the sandbox wrote it."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def rows(body: Mapping[str, object]) -> list[dict[str, object]]:
    data = body["data"]
    assert isinstance(data, list)
    return data


@pytest.mark.drift("unknown_keys")
async def test_unknown_keys_are_added_to_every_object(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """Rows, line items, addresses and pagination all carry `x_new_field` and `__v`."""
    body = await Raw(session, drift_proxy.base_url, sandbox.api_key).json("/books/invoices")
    found = dict(objects(body))
    assert {"$", "$.pagination", "$.data[]", "$.data[].line_items[]", "$.data[].payments[]"} <= set(found)
    for _, obj in objects(body):
        assert obj["x_new_field"] == {"a": 1}
        assert obj["__v"] == 0


@pytest.mark.drift("missing_computed")
async def test_missing_computed_drops_computed_keys_only(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """round_off, updatedAt, customer_name and taxable_value go; ids, numbers and pagination stay."""
    api = Raw(session, drift_proxy.base_url, sandbox.api_key)
    body = await api.json("/books/invoices")
    for row in rows(body):
        assert not {"round_off", "updatedAt", "customer_name"} & set(row)
        assert {"_id", "invoice_number", "total", "createdAt"} <= set(row)
        for item in row["line_items"]:  # type: ignore[attr-defined]
            assert "taxable_value" not in item
            assert "amount" in item
    assert set(body["pagination"]) == {"page", "limit", "total", "pages"}  # type: ignore[arg-type]
    quote = await api.json(f"/books/quotes/{account['quote']}")
    assert "round_off" not in quote
    assert {"_id", "quote_number", "customer_name"} <= set(quote)
    for path in ("/books/customers", "/books/products", "/books/services", "/orgs"):
        assert all("updatedAt" not in row for row in rows(await api.json(path)))


@pytest.mark.drift("datetime_dates")
async def test_datetime_dates_become_ist_midnight_in_utc(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """2099-04-01 comes back as 2099-03-31T18:30:00.000Z, in invoices, payments and quotes."""
    api = Raw(session, drift_proxy.base_url, sandbox.api_key)
    invoice = await api.json(f"/books/invoices/{account['draft']}")
    assert invoice["invoice_date"] == IST_MIDNIGHT
    assert invoice["due_date"] == IST_MIDNIGHT
    paid = await api.json(f"/books/invoices/{account['paid']}")
    payment = paid["payments"][0]  # type: ignore[index]
    assert payment["payment_date"].endswith("T18:30:00.000Z")
    quote = await api.json(f"/books/quotes/{account['quote']}")
    assert quote["quote_date"] == IST_MIDNIGHT
    assert quote["expiry_date"].endswith("T18:30:00.000Z")  # type: ignore[union-attr]


@pytest.mark.drift("unknown_enums")
async def test_unknown_enums_replace_known_values(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """Draft invoices read `unpaid`, draft quotes `pending`, B2C customers `SEZ`, payments `neft`."""
    api = Raw(session, drift_proxy.base_url, sandbox.api_key)
    assert (await api.json(f"/books/invoices/{account['draft']}"))["status"] == "unpaid"
    assert (await api.json(f"/books/quotes/{account['quote']}"))["status"] == "pending"
    paid = await api.json(f"/books/invoices/{account['paid']}")
    assert paid["status"] == "partially_paid"
    assert paid["payments"][0]["payment_method"] == "neft"  # type: ignore[index]
    types = {row["type"] for row in rows(await api.json("/books/customers"))}
    assert types == {"B2B", "SEZ"}


@pytest.mark.drift("populated_refs")
async def test_populated_refs_become_objects(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """customer_id and a line's product_id become {_id, name} with the same id."""
    seed = sandbox.seed
    assert seed is not None
    invoice = await Raw(session, drift_proxy.base_url, sandbox.api_key).json(
        f"/books/invoices/{account['draft']}"
    )
    assert invoice["customer_id"] == {"_id": seed.customer_b2b_intra, "name": invoice["customer_name"]}
    product_line = invoice["line_items"][1]  # type: ignore[index]
    assert product_line["product_id"]["_id"] == seed.product_untracked
    assert set(product_line["product_id"]) == {"_id", "name"}


@pytest.mark.drift("string_money")
async def test_string_money_keeps_exact_digits(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """Every money number becomes a string with the digits the sandbox wrote; counts stay integers."""
    path = f"/books/invoices/{account['draft']}"
    direct = await Raw(session, sandbox.base_url, sandbox.api_key).json(path)
    drifted = await Raw(session, drift_proxy.base_url, sandbox.api_key).json(path)
    for key in ("subtotal", "total", "balance_due", "round_off", "cgst_total"):
        value = direct[key]
        assert isinstance(value, int | Decimal)
        assert drifted[key] == digits(value)
    first = drifted["line_items"][0]  # type: ignore[index]
    assert first["rate"] == "1500.25"
    assert first["quantity"] == digits(direct["line_items"][0]["quantity"])  # type: ignore[index]
    page = await Raw(session, drift_proxy.base_url, sandbox.api_key).json("/books/invoices")
    assert isinstance(page["pagination"]["total"], int)  # type: ignore[index]
    assert isinstance(rows(page)[0]["total"], str)


@pytest.mark.drift("no_pagination")
async def test_no_pagination_drops_the_pagination_object(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """A list answer is only `data`."""
    body = await Raw(session, drift_proxy.base_url, sandbox.api_key).json("/books/invoices")
    assert set(body) == {"data"}
    assert len(rows(body)) == 3


@pytest.mark.drift("stuck_pagination")
async def test_stuck_pagination_answers_page_one_whatever_is_asked(
    drift_proxy: DriftProxy, sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """Page 2 of 1-row pages comes back as page 1 of 99, with page 1's row."""
    api = Raw(session, drift_proxy.base_url, sandbox.api_key)
    first = await api.json("/books/invoices", {"limit": "1"})
    second = await api.json("/books/invoices", {"limit": "1", "page": "2"})
    assert second["pagination"] == {"page": 1, "limit": 1, "total": 3, "pages": 99}
    assert [r["_id"] for r in rows(second)] == [r["_id"] for r in rows(first)]


async def test_errors_and_pdfs_pass_through_and_requests_are_recorded(
    sandbox: Sandbox, session: aiohttp.ClientSession, account: dict[str, str]
) -> None:
    """With every drift on, a 404 and a PDF are the sandbox's own; the log holds (method, path), no key."""
    async with drift_proxy(sandbox.base_url) as proxy:
        assert proxy.drifts == ALL_DRIFTS
        api = Raw(session, proxy.base_url, sandbox.api_key)
        status, content_type, raw = await api.call("GET", "/books/invoices/" + "0" * 24)
        assert (status, content_type) == (404, "application/json")
        assert json.loads(raw)["error"] == "not_found"
        status, content_type, raw = await api.call("GET", f"/books/invoices/{account['draft']}/pdf")
        assert (status, content_type) == (200, "application/pdf")
        assert raw.startswith(b"%PDF-")
        assert proxy.requests == [
            ("GET", "/api/v1/books/invoices/" + "0" * 24),
            ("GET", f"/api/v1/books/invoices/{account['draft']}/pdf"),
        ]
        assert proxy.methods_seen == {"GET"}
        assert sandbox.api_key not in repr(proxy)
        assert proxy.base_url.endswith("/api/v1")


async def test_unknown_drift_kind_is_refused(sandbox: Sandbox) -> None:
    """A misspelt kind fails at once instead of silently testing nothing."""
    with pytest.raises(ValueError, match="unknown drift kinds"):
        async with drift_proxy(sandbox.base_url, drifts={"string_mony"}):
            pass

"""``/books/customers``, ``/books/products`` and ``/books/services``."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, cast

from aiohttp import web

from ._core import Call, check_places, conflict, json_response
from ._documents import ensure_known_state, raise_if
from ._gst import GST_RATES, gstin_error, is_valid_gst_rate, place_of_supply
from ._handlers_invoices import list_page
from ._store import Record
from ._validation import Issue
from ._views import record_json

__all__ = ["HANDLERS", "check_customer", "check_product", "check_service"]

_ZERO: Final = Decimal("0.00")


def _by_name(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.text("name").casefold(), r.seq))


def _searched(call: Call, records: Iterable[Record]) -> Iterable[Record]:
    search = call.query.get("search")
    if isinstance(search, str):
        needle = search.lower()
        return [r for r in records if needle in r.search]
    return records


def _gst_rate(body: dict[str, object], issues: list[Issue]) -> None:
    if "gst_rate" in body:
        rate = check_places(body["gst_rate"], ["gst_rate"], 2, issues)
        if rate is not None and not is_valid_gst_rate(rate):
            issues.append(
                {
                    "path": ["gst_rate"],
                    # DOMAIN.md, rates in force: the same list as on invoice lines, on any date.
                    "message": f"gst_rate must be one of {', '.join(str(r) for r in GST_RATES)}",
                    "code": "custom",
                }
            )


def _money(body: dict[str, object], key: str, issues: list[Issue], places: int = 2) -> None:
    if key in body:
        value = check_places(body[key], [key], places, issues)
        if value is not None:
            body[key] = value


# ------------------------------------------------------------------------------------------ customers


def check_customer(call: Call, body: dict[str, object]) -> list[Issue]:
    """The domain rules of a new customer: B2B needs a valid GSTIN, B2C has none; known state codes."""
    issues: list[Issue] = []
    gstin = body.get("gstin")
    if body.get("type") == "B2B":
        if gstin is None:
            issues.append({"path": ["gstin"], "message": "Required for a B2B customer", "code": "custom"})
        else:
            why = gstin_error(gstin)
            if why is not None:
                issues.append({"path": ["gstin"], "message": why, "code": "custom"})
    elif gstin is not None:
        issues.append(
            {"path": ["gstin"], "message": "A B2C customer has no GSTIN: make it B2B", "code": "custom"}
        )
    for key in ("billing_address", "shipping_address"):
        address = body.get(key)
        if isinstance(address, dict):
            ensure_known_state(str(address.get("state_code")), [key, "state_code"], issues)
    return issues


async def list_customers(call: Call) -> web.StreamResponse:
    """``GET /books/customers``: by name, filtered by type and search."""
    records: Iterable[Record] = call.space["customers"].values()
    kind = call.query.get("type")
    if kind is not None:
        records = [r for r in records if r.doc.get("type") == kind]
    return list_page(call, _by_name(_searched(call, records)))


async def create_customer(call: Call) -> web.StreamResponse:
    """``POST /books/customers``."""
    body = copy.deepcopy(call.body_dict())
    raise_if(check_customer(call, body))
    body["place_of_supply"] = place_of_supply(body)
    rec = call.store.insert("customers", call.org_id, body)
    return json_response(record_json(rec, call.state.today()), status=201)


async def get_customer(call: Call) -> web.StreamResponse:
    """``GET /books/customers/{id}``: the profile with its invoicing summary (drafts and voids left out)."""
    rec = call.lookup("customers", "customer")
    invoiced = paid = outstanding = _ZERO
    count = 0
    for inv in call.space.invoices_by_customer.get(rec.id, {}).values():
        if inv.doc.get("status") in ("draft", "void"):
            continue
        count += 1
        invoiced += cast("Decimal", inv.doc["total"])
        paid += cast("Decimal", inv.doc["amount_paid"])
        outstanding += cast("Decimal", inv.doc["balance_due"])
    summary = {"invoiced": invoiced, "paid": paid, "outstanding": outstanding, "invoice_count": count}
    return json_response({**rec.doc, "summary": summary})


# ------------------------------------------------------------------------------------------- products


def check_product(call: Call, body: dict[str, object]) -> list[Issue]:
    """The domain rules of a product: money at 2 places, stock at 3, a GST slab, a unique SKU (409 apart)."""
    issues: list[Issue] = []
    _gst_rate(body, issues)
    _money(body, "sale_price", issues)
    _money(body, "stock_quantity", issues, 3)
    _money(body, "low_stock_threshold", issues, 3)
    return issues


def _sku_free(call: Call, body: dict[str, object], current: Record | None) -> None:
    sku = body.get("sku")
    if isinstance(sku, str):
        owner = call.space.skus.get(sku)
        if owner is not None and owner is not current:
            raise conflict(f"SKU {sku} is already used by product {owner.id}.")


async def list_products(call: Call) -> web.StreamResponse:
    """``GET /books/products``: by name, with search on name and SKU."""
    return list_page(call, _by_name(_searched(call, call.space["products"].values())))


async def create_product(call: Call) -> web.StreamResponse:
    """``POST /books/products``."""
    body = copy.deepcopy(call.body_dict())
    raise_if(check_product(call, body))
    _sku_free(call, body, None)
    body.setdefault("track_inventory", False)
    body.setdefault("stock_quantity", Decimal(0))
    rec = call.store.insert("products", call.org_id, body)
    return json_response(record_json(rec, call.state.today()), status=201)


async def get_product(call: Call) -> web.StreamResponse:
    """``GET /books/products/{id}``."""
    return json_response(record_json(call.lookup("products", "product"), call.state.today()))


async def update_product(call: Call) -> web.StreamResponse:
    """``PATCH /books/products/{id}``: the fields given change, the rest stay."""
    rec = call.lookup("products", "product")
    body = copy.deepcopy(call.body_dict())
    raise_if(check_product(call, body))
    _sku_free(call, body, rec)
    rec.doc.update(body)
    call.store.touch(rec)
    return json_response(record_json(rec, call.state.today()))


async def delete_product(call: Call) -> web.StreamResponse:
    """``DELETE /books/products/{id}``: issued invoices keep their lines."""
    call.store.delete(call.lookup("products", "product"))
    return web.Response(status=204)


# ------------------------------------------------------------------------------------------- services


def check_service(call: Call, body: dict[str, object]) -> list[Issue]:
    """The domain rules of a service: rate at 2 places and a GST slab."""
    issues: list[Issue] = []
    _gst_rate(body, issues)
    _money(body, "rate", issues)
    return issues


async def list_services(call: Call) -> web.StreamResponse:
    """``GET /books/services``: by name, with search on the name."""
    return list_page(call, _by_name(_searched(call, call.space["services"].values())))


async def create_service(call: Call) -> web.StreamResponse:
    """``POST /books/services``."""
    body = copy.deepcopy(call.body_dict())
    raise_if(check_service(call, body))
    rec = call.store.insert("services", call.org_id, body)
    return json_response(record_json(rec, call.state.today()), status=201)


async def get_service(call: Call) -> web.StreamResponse:
    """``GET /books/services/{id}``."""
    return json_response(record_json(call.lookup("services", "service"), call.state.today()))


async def update_service(call: Call) -> web.StreamResponse:
    """``PATCH /books/services/{id}``."""
    rec = call.lookup("services", "service")
    body = copy.deepcopy(call.body_dict())
    raise_if(check_service(call, body))
    rec.doc.update(body)
    call.store.touch(rec)
    return json_response(record_json(rec, call.state.today()))


async def delete_service(call: Call) -> web.StreamResponse:
    """``DELETE /books/services/{id}``."""
    call.store.delete(call.lookup("services", "service"))
    return web.Response(status=204)


HANDLERS: Final = {
    "customers.list": list_customers,
    "customers.create": create_customer,
    "customers.get": get_customer,
    "products.list": list_products,
    "products.create": create_product,
    "products.get": get_product,
    "products.update": update_product,
    "products.delete": delete_product,
    "services.list": list_services,
    "services.create": create_service,
    "services.get": get_service,
    "services.update": update_service,
    "services.delete": delete_service,
}

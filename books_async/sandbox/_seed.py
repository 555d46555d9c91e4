"""The sandbox's starting data: one organisation to work in, a second one to be kept out of, and keys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ._auth import ApiKey, new_key
from ._gst import make_gstin, place_of_supply
from ._ids import object_id
from ._store import Store

__all__ = ["KEY_NAMES", "ORGANISATION_KEY", "SeedIds", "seed", "seed_organisations"]

KEY_NAMES: Final = {
    "owner": "default owner",
    "member": "default member",
    "other_app": "whatsapp key",
    "other_org": "second org owner",
}
"""The names of the keys the sandbox makes, by the attribute of :class:`~books_async.sandbox.Sandbox`."""

ORGANISATION_KEY: Final = "owner of organisation {}"
"""The name of the owner key of each extra organisation (``organisations=N``), numbered from 1."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedIds:
    """Ids of the seeded documents of the default organisation, for tests that need a known object."""

    customer_b2b_intra: str
    """B2B customer in the organisation's own state (Maharashtra, 27): CGST + SGST."""
    customer_b2b_inter: str
    """B2B customer in Karnataka (29): IGST."""
    customer_b2b_delhi: str
    customer_b2c: str
    """B2C customer in Maharashtra, with an e-mail address."""
    customer_b2c_no_email: str
    """B2C customer in Tamil Nadu (33) without an e-mail address: sending to it needs ``to``."""
    product_tracked: str
    """Steel bolts, stock tracked (1000 PCS at 12.50, 18 %)."""
    product_untracked: str
    product_tracked_small: str
    service_installation: str
    service_amc: str
    service_consulting: str


def _address(line1: str, city: str, state: str, pincode: str) -> dict[str, object]:
    return {"line1": line1, "city": city, "state_code": state, "pincode": pincode, "country": "IN"}


def _org(name: str, state: str, pan: str, city: str, pincode: str, prefix: str) -> dict[str, object]:
    return {
        "name": name,
        "legal_name": name,
        "gstin": make_gstin(state, pan),
        "pan": pan,
        "state_code": state,
        "address": _address("12 Industrial Estate, Andheri East", city, state, pincode),
        "email": f"accounts@{prefix.lower()}.example.com",
        "phone": "+91 22 4000 1234",
        "website": "https://example.com",
        "bank_details": {
            "account_name": name,
            "account_number": "50100123456789",
            "ifsc": "HDFC0001234",
            "bank_name": "HDFC Bank",
            "branch": city,
        },
        "invoice_prefix": f"{prefix}INV-" if prefix != "S" else "INV-",
        "quote_prefix": f"{prefix}QT-" if prefix != "S" else "QT-",
    }


def seed(store: Store, *, api_key: str | None, empty: bool) -> None:
    """Fill an empty store: two organisations in two accounts, four keys, and unless ``empty`` a catalogue."""
    account, other_account = object_id(), object_id()
    org = store.add_org(_org("Sandbox Traders Pvt Ltd", "27", "AAPFU0939F", "Mumbai", "400069", "S"), account)
    other = store.add_org(
        _org("Other Org Pvt Ltd", "29", "AAACO1234B", "Bengaluru", "560001", "O"), other_account
    )
    store.add_key(
        ApiKey(
            key=api_key or new_key(), org_id=org.id, account_id=account, role="owner", name=KEY_NAMES["owner"]
        )
    )
    store.add_key(
        ApiKey(key=new_key(), org_id=org.id, account_id=account, role="member", name=KEY_NAMES["member"])
    )
    store.add_key(
        ApiKey(
            key=new_key(),
            org_id=org.id,
            account_id=account,
            role="owner",
            app="whatsapp",
            name=KEY_NAMES["other_app"],
        )
    )
    store.add_key(
        ApiKey(
            key=new_key(),
            org_id=other.id,
            account_id=other_account,
            role="owner",
            name=KEY_NAMES["other_org"],
        )
    )
    if empty:
        return

    def customer(body: dict[str, object]) -> str:
        body["place_of_supply"] = place_of_supply(body)
        return store.insert("customers", org.id, body).id

    def product(name: str, sku: str, hsn: str, unit: str, price: str, rate: str, stock: str | None) -> str:
        body: dict[str, object] = {
            "name": name,
            "sku": sku,
            "hsn_code": hsn,
            "unit": unit,
            "sale_price": Decimal(price),
            "gst_rate": Decimal(rate),
            "track_inventory": stock is not None,
            "stock_quantity": Decimal(stock or 0),
        }
        if stock is not None:
            body["low_stock_threshold"] = Decimal(10)
        return store.insert("products", org.id, body).id

    def service(name: str, sac: str, rate: str) -> str:
        body: dict[str, object] = {
            "name": name,
            "sac_code": sac,
            "rate": Decimal(rate),
            "gst_rate": Decimal(18),
        }
        return store.insert("services", org.id, body).id

    ids = SeedIds(
        customer_b2b_intra=customer(
            {
                "type": "B2B",
                "name": "Konkan Engineering Works",
                "gstin": "27AABCT5678M1ZN",
                "email": "accounts@konkan.example.com",
                "phone": "+91 20 2555 0100",
                "billing_address": _address("Plot 7, MIDC Bhosari", "Pune", "27", "411026"),
            }
        ),
        customer_b2b_inter=customer(
            {
                "type": "B2B",
                "name": "Bangalore Tech Solutions",
                "gstin": "29AAACT1234K1ZC",
                "email": "ap@blrtech.example.com",
                "billing_address": _address("80 Feet Road, Koramangala", "Bengaluru", "29", "560034"),
            }
        ),
        customer_b2b_delhi=customer(
            {
                "type": "B2B",
                "name": "Capital Traders",
                "gstin": "07AAGCT1234A1ZX",
                "email": "billing@capital.example.com",
                "billing_address": _address("Connaught Place", "New Delhi", "07", "110001"),
            }
        ),
        customer_b2c=customer(
            {
                "type": "B2C",
                "name": "Priya Sharma",
                "email": "priya@example.com",
                "billing_address": _address("Flat 3B, Sea View", "Mumbai", "27", "400050"),
            }
        ),
        customer_b2c_no_email=customer(
            {
                "type": "B2C",
                "name": "Ravi Kumar",
                "phone": "+91 98400 12345",
                "billing_address": _address("14 Anna Salai", "Chennai", "33", "600002"),
            }
        ),
        product_tracked=product("Steel Bolt M8", "BOLT-M8", "7318", "PCS", "12.50", "18", "1000"),
        product_untracked=product("A4 Copier Paper (ream)", "PAPER-A4", "4802", "NOS", "245.00", "12", None),
        product_tracked_small=product("Wireless Mouse", "MOUSE-WL", "847160", "PCS", "799.00", "18", "50"),
        service_installation=service("Installation", "998729", "1500.00"),
        service_amc=service("Annual Maintenance Contract", "998713", "12000.00"),
        service_consulting=service("Consulting (per hour)", "998311", "2500.00"),
    )
    org.meta["seed"] = {name: getattr(ids, name) for name in SeedIds.__dataclass_fields__}
    store.touch(org)


def seed_organisations(store: Store, count: int) -> None:
    """Add ``count`` organisations, each in its own account with one owner key and no documents."""
    for n in range(1, count + 1):
        account = object_id()
        org = store.add_org(
            _org(f"Organisation {n} Pvt Ltd", "27", "AAPFU0939F", "Mumbai", "400069", f"G{n}"), account
        )
        key = ApiKey(
            key=new_key(), org_id=org.id, account_id=account, role="owner", name=ORGANISATION_KEY.format(n)
        )
        store.add_key(key)

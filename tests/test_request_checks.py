"""books_async._request_checks: refuse locally only what is certainly wrong, for models and dicts alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

from books_async import InvalidRequestError
from books_async._request_checks import validate_request
from books_async.models import (
    CustomerCreate,
    CustomerType,
    InvoiceCreate,
    ItemType,
    LineItemCreate,
    OrganizationUpdate,
    PaymentCreate,
    PaymentMethod,
)
from tests.factories import ADDRESS, DAY, OBJECT_ID, invoice, invoice_dict, line, line_dict

VALID_GSTIN = "27AAPFU0939F1ZV"
LAPTOP = line("1", "55000.00", item_type=ItemType.product, description="Laptop")


def _line(**changes: object) -> LineItemCreate:
    return attrs.evolve(LAPTOP, **changes)  # wrong types on purpose


def _invoice(**changes: object) -> InvoiceCreate:
    return attrs.evolve(invoice(OBJECT_ID, LAPTOP), **changes)


def _dict_invoice(**changes: object) -> dict[str, object]:
    """The same invoice as a dict of Python values (Decimals, a date), which create() also takes."""
    laptop = line_dict(
        item_type="product",
        description="Laptop",
        quantity=Decimal(1),
        rate=Decimal("55000.00"),
        gst_rate=Decimal(18),
    )
    return {**invoice_dict(OBJECT_ID, laptop, invoice_date=DAY), **changes}


def _problems(body: object, model: type | None = None) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(InvalidRequestError) as err:
        validate_request(body, model)
    return [(d.path, d.code) for d in err.value.details]


# --- what is left to the server: every inferred rule


@pytest.mark.parametrize(
    "body",
    [
        _invoice(customer_id="cust_42"),  # not an ObjectId: the id format is our guess
        _invoice(customer_id=""),  # the server says whether an empty id exists
        _invoice(invoice_number="FY2026-27/INV/000123"),  # longer than the 16 we inferred
        _invoice(place_of_supply="96"),  # exports
        _invoice(place_of_supply="97"),  # other territory
        _invoice(line_items=[]),  # minItems is inferred
        _invoice(
            line_items=[_line(gst_rate=Decimal(rate)) for rate in ("0.1", "0.25", "1.5", "6", "7.5", "40")]
        ),
        _invoice(line_items=[_line(gst_rate=Decimal("41"), hsn_sac="12", unit="nos")]),  # bounds, patterns
        _invoice(line_items=[_line(quantity=Decimal("0"), rate=Decimal("-1"))]),
        _invoice(line_items=[_line(cess_rate=Decimal("12"))]),
        _invoice(reverse_charge=True, notes="x" * 5000),
        _invoice(line_items=[_line(item_type="bundle")]),  # an enum value the spec does not list
        PaymentCreate(amount=Decimal("0.001"), payment_method="neft"),  # type: ignore[arg-type]
    ],
)
def test_inferred_rules_are_left_to_the_server(body: object) -> None:
    """Id shapes, rate lists, state codes, bounds, lengths, decimal places and enum lists are not refused."""
    validate_request(body)


def test_non_pan_shaped_gstins_are_accepted() -> None:
    """TDS/TCS, UIN and non-resident GSTINs are not PAN-shaped; length and check character still hold."""
    from books_async._gstin import gstin_check_char

    for first14 in ("07DELA12345B1D", "0717UNO00157UN", "9917USA29001OS"):
        gstin = first14 + gstin_check_char(first14)
        validate_request(
            CustomerCreate(type=CustomerType.B2B, name="X", billing_address=ADDRESS, gstin=gstin)
        )


# --- what is certain: Python types, B2B needs a GSTIN, the GSTIN's length, alphabet and check character


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"invoice_date": "2026-01-15"}, ("invoice_date",)),
        ({"invoice_date": datetime(2026, 1, 15, tzinfo=UTC)}, ("invoice_date",)),
        ({"customer_id": 42}, ("customer_id",)),
        ({"line_items": [_line(rate=1500.0)]}, ("line_items", 0, "rate")),
        ({"line_items": [_line(rate="1500.00")]}, ("line_items", 0, "rate")),
        ({"line_items": [_line(quantity=Decimal("NaN"))]}, ("line_items", 0, "quantity")),
        ({"line_items": [_line(quantity=True)]}, ("line_items", 0, "quantity")),
        ({"line_items": [_line(item_type=3)]}, ("line_items", 0, "item_type")),
        ({"line_items": ["a line"]}, ("line_items", 0)),
        ({"reverse_charge": "yes"}, ("reverse_charge",)),
    ],
)
def test_wrong_python_types_are_refused_with_their_wire_path(
    changes: dict[str, object], path: tuple[str | int, ...]
) -> None:
    """Types are ours to know: each wrong one is an invalid_type at its wire path."""
    assert _problems(_invoice(**changes)) == [(path, "invalid_type")]


def test_float_money_message_names_the_fix() -> None:
    """The commonest mistake gets a message that says what to do."""
    with pytest.raises(InvalidRequestError, match="use Decimal, not float"):
        validate_request(_invoice(line_items=[_line(rate=1500.0)]))


def test_b2b_without_gstin_is_refused() -> None:
    """The reference: "B2B requires gstin"."""
    body = CustomerCreate(type=CustomerType.B2B, name="Acme", billing_address=ADDRESS)
    assert _problems(body) == [(("gstin",), "custom")]
    validate_request(CustomerCreate(type=CustomerType.B2C, name="Asha", billing_address=ADDRESS))


@pytest.mark.parametrize(
    "gstin",
    [
        "22AAAAA0000A1Z5",  # the widely copied example: wrong check character
        "27AAPFU0939F1Z",  # 14 characters
        "27aapfu0939f1zv",  # lower case
        "27AAPFU0939F1Z-",
    ],
)
def test_a_certainly_wrong_gstin_is_refused_without_echoing_it(gstin: str) -> None:
    """A GSTIN is 15 of 0-9A-Z with a mod-36 check character, whatever the registration type."""
    with pytest.raises(InvalidRequestError) as err:
        validate_request(
            CustomerCreate(type=CustomerType.B2B, name="A", billing_address=ADDRESS, gstin=gstin)
        )
    assert [(d.path, d.code) for d in err.value.details] == [(("gstin",), "invalid_string")]
    assert gstin not in str(err.value)
    with pytest.raises(InvalidRequestError):
        validate_request(OrganizationUpdate(gstin=gstin))


# --- dict bodies get the same checks as models


def test_a_dict_body_is_checked_like_its_model() -> None:
    """A float in a dict is refused just as in a model; paths are the same wire paths."""
    body = _dict_invoice(line_items=[{"item_type": "product", "rate": 1500.0}], invoice_date="2026-01-15")
    assert _problems(body, InvoiceCreate) == [
        (("invoice_date",), "invalid_type"),
        (("line_items", 0, "rate"), "invalid_type"),
    ]


def test_a_dict_body_may_leave_out_keys() -> None:
    """Which keys are required is the server's to judge: a dict's missing keys are not refused."""
    validate_request({"customer_id": "c1", "line_items": [{"hsn_sac": "8471"}]}, InvoiceCreate)


def test_a_dict_body_with_unknown_keys_is_refused_at_every_depth() -> None:
    """A key the model does not have is a typo (request schemas are closed): refused, nested ones too."""
    body = {"customer_id": "c1", "irn": "x", "line_items": [{"hsn": "8471"}]}
    assert _problems(body, InvoiceCreate) == [
        (("irn",), "unrecognized_keys"),
        (("line_items", 0, "hsn"), "unrecognized_keys"),
    ]


def test_a_dict_customer_follows_the_certain_rules() -> None:
    """B2B without gstin and a bad GSTIN are refused in dicts too."""
    assert _problems({"type": "B2B", "name": "Acme"}, CustomerCreate) == [(("gstin",), "custom")]
    assert _problems({"type": "B2B", "gstin": "22AAAAA0000A1Z5"}, CustomerCreate) == [
        (("gstin",), "invalid_string")
    ]


def test_a_bulk_body_of_dicts_and_models_prefixes_paths_with_the_index() -> None:
    """Each item of a bulk array is checked against the item model; paths start with its index."""
    body = [_invoice(), _dict_invoice(), _dict_invoice(line_items=[{"quantity": 2.5}])]
    with pytest.raises(InvalidRequestError) as err:
        validate_request(body, InvoiceCreate)
    assert [(d.path, d.code) for d in err.value.details] == [
        ((2, "line_items", 0, "quantity"), "invalid_type")
    ]
    assert str(err.value).startswith("Invalid list of InvoiceCreate: 1 problem")


def test_a_dict_without_a_model_is_left_to_the_api() -> None:
    """books.request()'s raw JSON has no model to check against."""
    validate_request({"rate": 1.5})


def test_payment_with_wrong_method_type_is_refused() -> None:
    """An enum field takes the member or its string; another type is refused."""
    validate_request(PaymentCreate(amount=Decimal("1500.00"), payment_method=PaymentMethod.upi))
    validate_request(PaymentCreate(amount=Decimal("1500.00"), payment_method="upi"))  # type: ignore[arg-type]
    assert _problems(PaymentCreate(amount=Decimal(1), payment_method=1)) == [  # type: ignore[arg-type]
        (("payment_method",), "invalid_type")
    ]

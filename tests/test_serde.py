"""books_async._serde: wire <-> models, exact money, request validation."""

from __future__ import annotations

import copy
import inspect
import pickle
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from books_async import _serde
from books_async._exceptions import ResponseDecodeError
from books_async._extra import BooksModel, extra
from books_async._generated import models as generated
from books_async._request_checks import validate_request
from books_async._types import NOT_GIVEN, NotGiven
from tests.strategies import models

GENERATED_MODELS = sorted(
    (
        cls
        for _, cls in inspect.getmembers(generated, inspect.isclass)
        if attrs.has(cls) and cls.__module__ == generated.__name__
    ),
    key=lambda cls: cls.__name__,
)
OID = "0123456789abcdef01234567"


# Small models in the generated style, for shapes the spec has no example of (X | list[X] fields,
# Sequence[X], a [] default, a non-None default) and to keep each test's intent readable.


class Status(Enum):
    draft = "draft"
    sent = "sent"


@attrs.define(frozen=True, kw_only=True)
class Line(BooksModel):
    description: str = attrs.field(metadata={"min_length": 1, "max_length": 20})
    quantity: Decimal = attrs.field(metadata={"exclusive_minimum": 0, "maximum": 1000})
    rate: Decimal = attrs.field(metadata={"minimum": 0})
    gst_rate: Decimal = attrs.field(metadata={"minimum": 0, "maximum": 40})
    amount: Decimal | None = attrs.field(default=None, metadata={"read_only": True})
    discount: Decimal = Decimal("0")


@attrs.define(frozen=True, kw_only=True)
class Doc(BooksModel):
    id: str = attrs.field(metadata={"json": "_id", "read_only": True, "pattern": "^[0-9a-f]{24}$"})
    number: str = attrs.field(metadata={"pattern": "^[A-Z]{3}-[0-9]{1,5}$"})
    status: Status
    issued: date
    lines: list[Line] = attrs.field(metadata={"min_items": 1, "max_items": 3})
    created_at: datetime = attrs.field(metadata={"json": "createdAt", "read_only": True})
    total: Decimal = attrs.field(metadata={"read_only": True})
    notes: str | None = None
    tags: list[str] = attrs.field(factory=list)
    copies: int = attrs.field(default=1, metadata={"minimum": 1, "maximum": 5})
    secret: str | None = attrs.field(default=None, metadata={"write_only": True})


@attrs.define(frozen=True, kw_only=True)
class DocCreate:
    number: str = attrs.field(metadata={"pattern": "^[A-Z]{3}-[0-9]{1,5}$"})
    status: Status = Status.draft
    issued: date
    lines: list[Line] = attrs.field(metadata={"min_items": 1, "max_items": 3})
    notes: str | None = attrs.field(default=None, metadata={"max_length": 10})


@attrs.define(frozen=True, kw_only=True)
class Bulk:
    one_or_many: Line | list[Line]
    seq: Sequence[Line] = ()
    path: list[str | int] = attrs.field(factory=list)


def _line(**changes: object) -> Line:
    values: dict[str, object] = {
        "description": "Widget",
        "quantity": Decimal("2"),
        "rate": Decimal("1500.00"),
        "gst_rate": Decimal("18"),
    }
    values.update(changes)
    return Line(**values)  # type: ignore[arg-type]  # tests pass wrong types on purpose


def _doc_create(**changes: object) -> DocCreate:
    values: dict[str, object] = {"number": "INV-1", "issued": date(2026, 1, 15), "lines": [_line()]}
    values.update(changes)
    return DocCreate(**values)  # type: ignore[arg-type]  # tests pass wrong types on purpose


def _doc() -> Doc:
    return Doc(
        id=OID,
        number="INV-7",
        status=Status.sent,
        issued=date(2026, 1, 15),
        lines=[_line(amount=Decimal("3000.00"))],
        created_at=datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        total=Decimal("3540.00"),
    )


def _wire(obj: object) -> object:
    """What the server would see: our bytes, parsed back by a plain JSON reader."""
    return orjson.loads(_serde.dumps(_serde.unstructure(obj)))


# --- every generated model


def test_generated_models_are_discovered() -> None:
    """The round-trip tests below really run over the generated module (it has dozens of models)."""
    assert len(GENERATED_MODELS) > 20


@pytest.mark.parametrize("cls", GENERATED_MODELS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_round_trip_every_generated_model(cls: type, data: st.DataObject) -> None:
    """structure(loads(dumps(unstructure(x)))) == x for every generated model, read-only fields included."""
    value = data.draw(models(cls))
    assert _serde.structure(_serde.loads(_serde.dumps(_serde.unstructure(value))), cls) == value


def _assert_no_read_only(obj: object, wire: object) -> None:
    cls = type(obj)
    if not attrs.has(cls):
        if isinstance(obj, list | tuple):
            assert isinstance(wire, list)
            for item, item_wire in zip(obj, wire, strict=True):
                _assert_no_read_only(item, item_wire)
        return
    assert isinstance(wire, dict)
    for a in attrs.fields(cls):
        key = a.metadata.get("json", a.name)
        if a.metadata.get("read_only"):
            assert key not in wire, f"{type(obj).__name__}.{a.name} is read-only but was sent"
        elif key in wire:
            _assert_no_read_only(getattr(obj, a.name), wire[key])


@pytest.mark.parametrize("cls", GENERATED_MODELS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_request_side_of_every_generated_model(cls: type, data: st.DataObject) -> None:
    """Values within the spec's constraints pass validate_request, and no read-only field is ever sent."""
    value = data.draw(models(cls))
    validate_request(value)  # no false alarms
    _assert_no_read_only(value, _serde.unstructure_request(value))


@given(value=models(Doc))
def test_round_trip_hand_written_model(value: Doc) -> None:
    """Renamed keys, [] and non-None defaults, write-only and read-only fields all survive a round trip."""
    assert _serde.structure(_wire(value), Doc) == value


@given(value=models(Bulk))
def test_round_trip_single_or_list_union(value: Bulk) -> None:
    """`X | list[X]`, `Sequence[X]` and `list[str | int]` fields round-trip (CODEGEN-NOTES pitfall 9)."""
    back = _serde.structure(_wire(value), Bulk)
    assert back.one_or_many == value.one_or_many
    assert list(back.seq) == list(value.seq)
    assert back.path == value.path


# --- money


@pytest.mark.parametrize("text", ["0.10", "1500.00", "99999999.99", "0.00", "-12.50", "1234567890123.45"])
def test_money_is_written_and_read_exactly(text: str) -> None:
    """Decimal money goes out with its exact digits and comes back with the same value and scale."""
    body = _serde.dumps(_serde.unstructure_request(_line(rate=Decimal(text))))
    assert f'"rate":{text}'.encode() in body
    back = _serde.structure(_serde.loads(body), Line)
    assert back.rate == Decimal(text)
    assert str(back.rate) == text  # loads() keeps the scale: 1500.00, not 1500.0


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (0.1, "0.1"),
        (1500.0, "1500.0"),
        (99999999.99, "99999999.99"),
        (18, "18"),
        ("1500.00", "1500.00"),
        ("-0.5", "-0.5"),
        ("1e3", "1E+3"),
    ],
)
def test_money_is_read_from_float_int_or_numeric_string(wire: object, expected: str) -> None:
    """Floats (parsed elsewhere) come back via repr, without binary noise; strings keep every digit."""
    line = _serde.structure({"description": "x", "quantity": 1, "rate": wire, "gst_rate": 0}, Line)
    assert str(line.rate) == expected


@given(
    amount=st.decimals(
        min_value=Decimal("-9999999999999.99"), max_value=Decimal("9999999999999.99"), places=2
    )
)
def test_money_from_float_is_exact_up_to_15_significant_digits(amount: Decimal) -> None:
    """The documented bound: any amount below 10^13 rupees survives the float path to the paisa."""
    line = _serde.structure({"description": "x", "quantity": 1, "rate": float(amount), "gst_rate": 0}, Line)
    assert line.rate == amount


@pytest.mark.parametrize("wire", [True, None, "abc", "NaN", "Infinity", "1_000", " 12", [], {}])
def test_money_rejects_non_numbers(wire: object) -> None:
    """A boolean, null, non-numeric or non-finite value for money is a decode error, not a guess."""
    raw = orjson.dumps({"description": "x", "quantity": 1, "rate": wire, "gst_rate": 0})
    with pytest.raises(ResponseDecodeError, match=r"\$\.rate"):
        _serde.decode(raw, Line)


def test_loads_refuses_nan_and_infinity() -> None:
    """NaN and Infinity are not JSON, though Python's json module would accept them."""
    with pytest.raises(ResponseDecodeError, match="not valid JSON"):
        _serde.decode(b'{"description": "x", "quantity": 1, "rate": NaN, "gst_rate": 0}', Line)


def test_dumps_refuses_non_finite_decimal() -> None:
    """A NaN Decimal would otherwise be written as the invalid JSON token NaN."""
    with pytest.raises(TypeError):
        _serde.dumps({"amount": Decimal("NaN")})


# --- wire shape


@pytest.mark.parametrize("strict", [False, True])
def test_unknown_response_keys_are_kept_apart_from_equality(strict: bool) -> None:
    """Servers add fields: they decode in both modes, stay readable through extra(), and do not affect ==."""
    wire = _wire(_doc())
    assert isinstance(wire, dict)
    wire["brand_new_field"] = {"nested": [1, 2]}
    wire["lines"][0]["irn"] = "abc"
    doc = _serde.structure(wire, Doc, strict=strict)
    assert doc == _doc()
    assert extra(doc) == {"brand_new_field": {"nested": [1, 2]}}
    assert extra(doc.lines[0]) == {"irn": "abc"}
    assert extra(_doc()) == {}
    assert "brand_new_field" not in repr(doc)


def test_absent_optional_keys_take_their_defaults() -> None:
    """Keys left out of a response get the model's defaults, [] and 1 included."""
    wire = {
        "_id": OID,
        "number": "INV-7",
        "status": "sent",
        "issued": "2026-01-15",
        "lines": [{"description": "Widget", "quantity": 2, "rate": 1500, "gst_rate": 18}],
        "createdAt": "2026-01-15T10:30:00Z",
        "total": 3540,
    }
    doc = _serde.structure(wire, Doc)
    assert (doc.notes, doc.tags, doc.copies, doc.secret) == (None, [], 1, None)
    assert doc.lines[0].discount == Decimal("0")


def test_renamed_keys_are_read_and_written_with_wire_names() -> None:
    """`_id` and `createdAt` are the wire keys; `id` and `created_at` never appear on the wire."""
    wire = _wire(_doc())
    assert isinstance(wire, dict)
    assert wire["_id"] == OID
    assert wire["createdAt"] == "2026-01-15T10:30:00Z"
    assert "id" not in wire
    assert "created_at" not in wire


def test_request_body_drops_read_only_and_none_defaults_but_keeps_real_defaults() -> None:
    """Read-only fields and None-default Nones are left out; [] and 1 defaults are still sent."""
    body = orjson.loads(_serde.dumps(_serde.unstructure_request(_doc())))
    assert set(body) == {"number", "status", "issued", "lines", "tags", "copies"}
    assert body["tags"] == []
    assert body["copies"] == 1
    assert body["lines"] == [
        {"description": "Widget", "quantity": 2, "rate": 1500.0, "gst_rate": 18, "discount": 0}
    ]


def test_request_body_for_a_bulk_sequence_is_a_json_array() -> None:
    """A tuple of models (a bulk create) becomes a JSON array of request bodies."""
    body = _serde.unstructure_request((_doc_create(), _doc_create(number="INV-2")))
    assert isinstance(body, list)
    assert [item["number"] for item in body if isinstance(item, dict)] == ["INV-1", "INV-2"]


def test_datetimes_use_z_for_utc_and_keep_other_offsets() -> None:
    """UTC is written as `Z`, whole milliseconds as 3 digits (as the API writes them); read back exactly."""
    ist = timezone(timedelta(hours=5, minutes=30))
    assert (
        _serde.unstructure(datetime(2026, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)) == "2026-01-01T12:00:00.250Z"
    )
    assert (
        _serde.unstructure(datetime(2026, 1, 1, 12, 0, 0, 250001, tzinfo=UTC))
        == "2026-01-01T12:00:00.250001Z"
    )
    assert _serde.unstructure(datetime(2026, 1, 1, 17, 30, tzinfo=ist)) == "2026-01-01T17:30:00+05:30"
    assert _serde.structure("2026-01-01T12:00:00.000Z", datetime) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert _serde.structure("2026-01-01T17:30:00+05:30", datetime) == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_date_field_in_strict_mode_rejects_a_datetime_string() -> None:
    """Strictly, a date is YYYY-MM-DD; a timestamp where a date belongs is off-spec."""
    with pytest.raises(ResponseDecodeError, match=r"expected an ISO date .* at \$\.issued"):
        _serde.decode(
            b'{"number": "INV-1", "issued": "2026-01-15T00:00:00Z", "lines": []}', DocCreate, strict=True
        )


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2026-03-14", date(2026, 3, 14)),
        ("2026-03-13T18:30:00.000Z", date(2026, 3, 14)),  # MongoDB's Date of midnight in India
        ("2026-03-14T00:00:00.000Z", date(2026, 3, 14)),  # 05:30 in India
        ("2026-03-14T20:00:00Z", date(2026, 3, 15)),  # already the next day in India
        ("2026-03-14T23:59:00+05:30", date(2026, 3, 14)),
        ("2026-03-14T10:00:00", date(2026, 3, 14)),  # naive: taken as written
    ],
)
def test_date_field_tolerantly_reads_a_datetime_as_its_date_in_india(wire: str, expected: date) -> None:
    """A MongoDB Date where the spec says date reads as the calendar date in India (GST dates are Indian)."""
    body = orjson.dumps({"number": "INV-1", "issued": wire, "lines": []})
    assert _serde.decode(body, DocCreate).issued == expected


def test_enums_travel_as_their_values() -> None:
    """Enums are written and read by value."""
    assert _serde.unstructure(Status.sent) == "sent"
    assert _serde.structure("draft", Status) is Status.draft


def test_single_or_list_union_dispatches_on_the_json_shape() -> None:
    """`X | list[X]` reads an object as X and an array as list[X] (pitfall 9)."""
    one = {"description": "x", "quantity": 1, "rate": 1, "gst_rate": 0}
    assert _serde.structure({"one_or_many": one}, Bulk).one_or_many == _line(
        description="x", quantity=Decimal(1), rate=Decimal(1), gst_rate=Decimal(0)
    )
    many = _serde.structure({"one_or_many": [one, one]}, Bulk).one_or_many
    assert isinstance(many, list)
    assert len(many) == 2


def test_str_or_int_union_keeps_exact_types() -> None:
    """A Zod path's items stay str or int; a boolean is not mistaken for an index."""
    assert _serde.structure({"one_or_many": [], "path": ["line_items", 2, "rate"]}, Bulk).path == [
        "line_items",
        2,
        "rate",
    ]
    with pytest.raises(ResponseDecodeError, match=r"\$\.path\[0\]"):
        _serde.decode(b'{"one_or_many": [], "path": [true]}', Bulk, strict=True)
    assert _serde.decode(b'{"one_or_many": [], "path": [true]}', Bulk).path == []  # tolerant: its default


def test_union_response_type_decodes_one_or_many() -> None:
    """decode() takes union types as the bulk endpoints declare them (`Line | list[Line]`)."""
    one = b'{"description": "x", "quantity": 1, "rate": 1, "gst_rate": 0}'
    assert isinstance(_serde.decode(one, Line | list[Line]), Line)
    assert isinstance(_serde.decode(b"[" + one + b"]", Line | list[Line]), list)


# --- decode errors


def test_decode_error_names_type_and_wire_paths_but_no_values() -> None:
    """A mismatch raises ResponseDecodeError naming the type and wire-key paths, never the body's values."""
    gstin = "27AAPFU0939F1ZV"
    raw = orjson.dumps(
        {
            "_id": gstin,
            "number": 7,
            "status": "bogus",
            "issued": "2026-01-15",
            "lines": [{"description": "x", "quantity": 1, "rate": gstin, "gst_rate": 0}],
            "total": 1,
        }
    )
    with pytest.raises(ResponseDecodeError) as err:
        _serde.decode(raw, Doc, where="GET /books/docs")
    message = str(err.value)
    assert message.startswith("GET /books/docs: the response body does not match Doc: ")
    for path in ("$.number", "$.status"):
        assert path in message
    assert "(and 1 more)" in message  # the missing createdAt
    assert gstin not in message
    assert "bogus" not in message
    assert err.value.__cause__ is not None


def test_decode_error_reports_missing_key_by_wire_name() -> None:
    """A missing required key is reported under its wire name (`createdAt`, not `created_at`)."""
    wire = _wire(_doc())
    assert isinstance(wire, dict)
    del wire["createdAt"]
    with pytest.raises(ResponseDecodeError, match=r"required key missing at \$\.createdAt"):
        _serde.decode(orjson.dumps(wire), Doc)


def test_decode_error_for_a_body_that_is_not_json() -> None:
    """An HTML error page from a proxy is a ResponseDecodeError saying the body is not JSON."""
    with pytest.raises(ResponseDecodeError, match="not valid JSON") as err:
        _serde.decode(b"<html>502 Bad Gateway</html>", Doc)
    assert "502" not in str(err.value)


def test_strings_are_not_coerced() -> None:
    """A number where the spec says string is an error, not str(7)."""
    with pytest.raises(
        ResponseDecodeError, match=r"expected a string, received int at \$\.lines\[0\]\.description"
    ):
        _serde.decode(
            b'{"number": "INV-1", "issued": "2026-01-15", "lines": [{"description": 7, '
            b'"quantity": 1, "rate": 1, "gst_rate": 0}]}',
            DocCreate,
        )


# --- NOT_GIVEN


def test_not_given_is_a_falsy_singleton_distinct_from_none() -> None:
    """NOT_GIVEN means "not passed": falsy, named in reprs, one instance even after copy or pickle."""
    assert not NOT_GIVEN
    assert NOT_GIVEN is not None
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert NotGiven() is NOT_GIVEN
    assert copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN  # noqa: S301  # our own bytes

"""The fast decode path (msgspec, generated mirrors) builds exactly what the reference path builds, or misses.

Every comparison decodes the same bytes both ways: ``_fast.decode`` (which returns ``MISS`` when the reference
path must decide) and ``_serde.structure(_serde.loads(raw))``, the reference path alone. Equal means equal
``repr``s, ``==`` and the same ``extra()`` on every object, however deep.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final, get_args, get_origin

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from books_async import ResponseDecodeError, _fast, _hooks, _serde, _typeinfo, extra
from books_async._generated import models
from books_async._generated.fast import build
from books_async._types import JSON
from tests.strategies import json_values, strategy_for
from tests.strategies import models as model_strategy

_TABLE: Final = build()
FAST_MODELS: Final = sorted(_TABLE, key=lambda c: c.__name__)
ERROR: Final = object()
IST: Final = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture(autouse=True)
def _fresh_notes() -> None:
    # Notes are once per process: each test starts as a fresh process would.
    _hooks.noted.clear()


def _reference(raw: bytes, tp: object, strict: bool) -> object:
    try:
        return _serde.structure(_serde.loads(raw), tp, strict=strict)
    except Exception:
        return ERROR


def _same(a: object, b: object, path: str = "$") -> None:
    assert type(a) is type(b), path
    if isinstance(a, list):
        assert isinstance(b, list)
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif attrs.has(type(a)):
        assert repr(a) == repr(b), path
        assert a == b, path
        assert extra(a) == extra(b), path
        for field in attrs.fields(type(a)):
            _same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")
    else:
        assert a == b, path
        assert repr(a) == repr(b), path


def _agree(raw: bytes, tp: object, strict: bool) -> object:
    """Decode both ways; return the fast result (or MISS) after checking it matches the reference."""
    fast = _fast.decode(raw, tp, strict)
    reference = _reference(raw, tp, strict)
    if reference is ERROR:
        assert fast is _fast.MISS, "the fast path accepted what the reference path refuses"
    elif fast is not _fast.MISS:
        _same(fast, reference)
    return fast


def _null_expected(obj: object) -> bool:
    """Whether an object in ``obj`` has an ``x-may-be-absent`` field that is None (the fast path misses)."""
    if isinstance(obj, list):
        return any(_null_expected(x) for x in obj)
    if not attrs.has(type(obj)):
        return False
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        if (field.metadata.get("expected") and value is None) or _null_expected(value):
            return True
    return False


def _wire(model: object) -> bytes:
    return _serde.dumps(_serde.unstructure(model))


def _filled(tp: object, md: Mapping[str, object] | None = None) -> st.SearchStrategy[object]:
    """Like ``strategy_for``, but every model in the value has each ``x-may-be-absent`` key present: the
    documents the fast path must read itself (``strategy_for`` makes most of them null)."""
    if isinstance(tp, type) and attrs.has(tp):
        cls = tp
        return st.deferred(lambda: _present(cls))
    if get_origin(tp) is list and attrs.has(get_args(tp)[0]):
        md = md or {}
        low = md.get("min_items")
        lo = low if isinstance(low, int) else 0
        return st.lists(_filled(get_args(tp)[0]), min_size=lo, max_size=lo + 2)
    if _typeinfo.is_optional(tp) and attrs.has(_typeinfo.without_none(tp)):
        return st.none() | _filled(_typeinfo.without_none(tp), md)
    return strategy_for(tp, md)


def _present(cls: type) -> st.SearchStrategy[object]:
    attrs.resolve_types(cls)
    fields = {
        a.name: _filled(_typeinfo.without_none(a.type) if a.metadata.get("expected") else a.type, a.metadata)
        for a in attrs.fields(cls)
    }
    return st.builds(cls, **fields)


def test_fast_path_covers_every_response_model_condition_generated() -> None:
    """Every model a resource answers with has a mirror (only free-form payload models are left out)."""
    names = {c.__name__ for c in FAST_MODELS}
    assert {
        "Invoice",
        "InvoiceList",
        "Customer",
        "Quote",
        "Payment",
        "Dashboard",
        "BulkActionResult",
    } <= names
    assert "ValidateRequest" not in names  # a free-form dict: the reference path reads it


@pytest.mark.parametrize("cls", FAST_MODELS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_fast_path_reads_every_complete_document_as_the_reference_does(
    cls: type, data: st.DataObject
) -> None:
    """A document with every x-may-be-absent key present is read fast, as the reference path reads it."""
    raw = _wire(data.draw(_present(cls)))
    for strict in (False, True):
        assert _agree(raw, cls, strict) is not _fast.MISS, "a complete spec-valid document fell back"


@pytest.mark.parametrize("cls", FAST_MODELS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_fast_path_agrees_with_reference_on_spec_valid_documents(cls: type, data: st.DataObject) -> None:
    """Any document generated from the schema decodes the same both ways, in both modes, fast when it can."""
    model = data.draw(model_strategy(cls))
    raw = _wire(model)
    for strict in (False, True):
        fast = _agree(raw, cls, strict)
        if not _null_expected(model):
            assert fast is not _fast.MISS, "a spec-valid document fell back"


@given(rows=st.lists(model_strategy(models.Invoice), max_size=3))
def test_fast_path_agrees_with_reference_on_a_list_of_models(rows: list[models.Invoice]) -> None:
    """A bare JSON array of models (list[Model]) decodes the same both ways."""
    raw = _serde.dumps([_serde.unstructure(r) for r in rows])
    fast = _agree(raw, list[models.Invoice], False)
    if not _null_expected(rows):
        assert fast is not _fast.MISS


# --- off-spec inputs: what the live API sends, and what msgspec alone would read differently


def _objects(doc: JSON) -> list[dict[str, JSON]]:
    """Every JSON object inside ``doc``, outermost first."""
    found: list[dict[str, JSON]] = []
    if isinstance(doc, dict):
        found.append(doc)
        for value in doc.values():
            found += _objects(value)
    elif isinstance(doc, list):
        for value in doc:
            found += _objects(value)
    return found


def _invoice_page(data: st.DataObject) -> dict[str, JSON]:
    page = data.draw(_present(models.InvoiceList))
    wire = _serde.loads(_wire(page))
    assert isinstance(wire, dict)
    return wire


_DATE_KEYS: Final = ("invoice_date", "due_date", "payment_date")


@given(data=st.data())
def test_fast_path_keeps_unknown_keys_on_every_object(data: st.DataObject) -> None:
    """Unknown keys with any JSON value, on any object, land in extra() as the reference path puts them."""
    wire = _invoice_page(data)
    for obj in _objects(wire):
        extras = data.draw(st.dictionaries(st.sampled_from(["__v", "org_id", "irn", "meta"]), json_values()))
        obj.update({k: v for k, v in extras.items() if k not in obj})
    raw = _serde.dumps(wire)
    for strict in (False, True):
        fast = _agree(raw, models.InvoiceList, strict)
        assert fast is not _fast.MISS, "unknown keys sent the document to the reference path"


@given(data=st.data(), offset=st.sampled_from([UTC, IST, timezone(timedelta(hours=-5))]))
def test_fast_path_reads_datetimes_for_dates_as_india_dates(data: st.DataObject, offset: timezone) -> None:
    """ISO date-times where dates are declared: the IST calendar date (tolerant), a miss (strict)."""
    wire = _invoice_page(data)
    for obj in _objects(wire):
        for key in _DATE_KEYS:
            if isinstance(obj.get(key), str):
                moment = data.draw(st.datetimes(timezones=st.just(offset)))
                obj[key] = moment.isoformat().replace("+00:00", "Z")
    raw = _serde.dumps(wire)
    tolerant = _agree(raw, models.InvoiceList, False)
    strict = _agree(raw, models.InvoiceList, True)
    assert tolerant is not _fast.MISS
    if any(isinstance(o.get(k), str) for o in _objects(wire) for k in _DATE_KEYS):
        assert strict is _fast.MISS


_LOOSE_NUMBERS: Final = [
    "NaN",
    "Infinity",
    "-inf",
    "sNaN",
    "1_000",
    "\uff11\uff12",  # full-width digits
    " 12",
    "12.50",
    "1e3",
    "-0",
    "0x10",
    "",
]


@given(data=st.data(), text=st.sampled_from(_LOOSE_NUMBERS) | st.text(max_size=6))
def test_fast_path_never_reads_money_strings(data: st.DataObject, text: str) -> None:
    """A string where money is declared is a miss: the reference path decides ("12.50" yes, "1_000" no)."""
    wire = _invoice_page(data)
    rows = wire["data"]
    assert isinstance(rows, list)
    if not rows:
        return
    row = rows[0]
    assert isinstance(row, dict)
    key = data.draw(st.sampled_from(["subtotal", "total", "round_off", "cess_total"]))
    row[key] = text
    raw = _serde.dumps(wire)
    for strict in (False, True):
        assert _agree(raw, models.InvoiceList, strict) is _fast.MISS


@given(data=st.data(), value=st.text(min_size=1, max_size=12))
def test_fast_path_treats_unknown_enum_values_as_the_reference_does(data: st.DataObject, value: str) -> None:
    """An enum value the spec does not list is a miss in both modes (the reference path keeps it, with its
    note, or refuses it); a listed one is read fast."""
    wire = _invoice_page(data)
    for obj in _objects(wire):
        if "status" in obj:
            obj["status"] = value
        if "item_type" in obj:
            obj["item_type"] = value
    raw = _serde.dumps(wire)
    known = value in {m.value for m in models.InvoiceStatus} and value in {m.value for m in models.ItemType}
    touched = any("status" in o or "item_type" in o for o in _objects(wire))
    for strict in (False, True):
        fast = _agree(raw, models.InvoiceList, strict)
        if touched and not known:
            assert fast is _fast.MISS, "msgspec alone would let an open enum's _missing_ take any value"


@given(data=st.data())
def test_fast_path_misses_on_absent_or_null_expected_keys(data: st.DataObject) -> None:
    """An x-may-be-absent key absent or null goes to the reference path (its None and one warning)."""
    wire = _invoice_page(data)
    rows = wire["data"]
    assert isinstance(rows, list)
    if not rows:
        return
    row = rows[0]
    assert isinstance(row, dict)
    key = data.draw(st.sampled_from(["invoice_date", "status", "total", "line_items", "createdAt"]))
    if data.draw(st.booleans()):
        row.pop(key, None)
    else:
        row[key] = None
    raw = _serde.dumps(wire)
    for strict in (False, True):
        assert _agree(raw, models.InvoiceList, strict) is _fast.MISS


# --- fixed cases: what the fast path must do itself, seen from the public decode


def _live_invoice() -> dict[str, JSON]:
    return {
        "_id": "64f1a2b3c4d5e6f708192a3b",
        "__v": 0,
        "org_id": "64f1a2b3c4d5e6f708192a3c",
        "invoice_number": "INV-1",
        "invoice_date": "2026-03-13T18:30:00.000Z",
        "due_date": "2026-03-27T18:30:00.000Z",
        "customer_id": "64f1a2b3c4d5e6f708192a3c",
        "customer_name": "Asha Traders",
        "place_of_supply": "27",
        "supply_type": "intra_state",
        "status": "unpaid",
        "line_items": [
            {
                "_id": "64f1a2b3c4d5e6f708192a3d",
                "item_type": "product",
                "description": "Laptop",
                "quantity": 1,
                "rate": Decimal("1500.00"),
                "discount": 0,
                "gst_rate": 18,
                "amount": Decimal("1500.00"),
                "taxable_value": Decimal("1500.00"),
                "cgst_amount": Decimal("135.00"),
                "sgst_amount": Decimal("135.00"),
                "igst_amount": 0,
                "tax_amount": Decimal("270.00"),
                "total": Decimal("1770.00"),
            }
        ],
        "subtotal": Decimal("1500.00"),
        "discount_total": 0,
        "taxable_total": Decimal("1500.00"),
        "cgst_total": Decimal("135.00"),
        "sgst_total": Decimal("135.00"),
        "igst_total": 0,
        "tax_total": Decimal("270.00"),
        "round_off": 0,
        "total": Decimal("1770.00"),
        "amount_paid": 0,
        "balance_due": Decimal("1770.00"),
        "payments": [],
        "createdAt": "2026-03-14T06:00:00.000Z",
        "updatedAt": "2026-03-14T06:00:00.000Z",
    }


def test_live_shaped_invoice_is_read_by_the_fast_path(caplog: pytest.LogCaptureFixture) -> None:
    """Extra keys on every object and date-times for dates: read fast, with the reference path's note."""
    wire = _live_invoice()
    wire["status"] = "sent"
    raw = _serde.dumps(wire)
    with caplog.at_level(logging.INFO, logger="books_async"):
        fast = _fast.decode(raw, models.Invoice, False)
    assert isinstance(fast, models.Invoice)
    assert fast.invoice_date == date(2026, 3, 14)
    assert fast.status is models.InvoiceStatus.sent
    assert extra(fast) == {"__v": 0, "org_id": "64f1a2b3c4d5e6f708192a3c"}
    assert fast.line_items is not None
    assert extra(fast.line_items[0]) == {"_id": "64f1a2b3c4d5e6f708192a3d"}
    assert repr(fast.total) == "Decimal('1770.00')"
    notes = [r.getMessage() for r in caplog.records]
    assert sum("date-times where dates are declared" in n for n in notes) == 1
    _hooks.noted.clear()
    _same(fast, _serde.structure(_serde.loads(raw), models.Invoice))


def test_a_new_status_is_kept_by_the_reference_path_with_its_note(caplog: pytest.LogCaptureFixture) -> None:
    """A status the spec does not list sends the answer to the reference path, which keeps it (tolerant)."""
    raw = _serde.dumps(_live_invoice())
    assert _fast.decode(raw, models.Invoice, False) is _fast.MISS
    with caplog.at_level(logging.INFO, logger="books_async"):
        invoice = _serde.decode(raw, models.Invoice)
    assert invoice.status == "unpaid"
    assert invoice.status is not None
    assert not invoice.status.is_known()
    assert extra(invoice) == {"__v": 0, "org_id": "64f1a2b3c4d5e6f708192a3c"}
    assert sum("'unpaid'" in r.getMessage() for r in caplog.records) == 1


def test_money_keeps_its_scale_through_the_fast_path() -> None:
    """1500.00 stays Decimal('1500.00') and 12345678901234567890.123456789 every digit."""
    wire = _live_invoice()
    wire["status"] = "sent"
    wire["subtotal"] = Decimal("12345678901234567890.123456789")
    fast = _fast.decode(_serde.dumps(wire), models.Invoice, False)
    assert isinstance(fast, models.Invoice)
    assert repr(fast.subtotal) == "Decimal('12345678901234567890.123456789')"
    assert fast.line_items is not None
    assert repr(fast.line_items[0].rate) == "Decimal('1500.00')"
    assert repr(fast.line_items[0].quantity) == "Decimal('1')"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda w: w.update(total="NaN"), "$.total"),
        (lambda w: w.update(_id=None), "$._id"),
        (lambda w: w.update(invoice_number=7), "$.invoice_number"),
    ],
)
def test_decode_errors_after_a_miss_are_the_reference_messages(
    mutate: Callable[[dict[str, JSON]], None], message: str
) -> None:
    """What the fast path refuses fails with the reference path's message, naming the wire path."""
    wire = _live_invoice()
    for key in ("__v", "org_id"):
        del wire[key]
    wire.update(invoice_date="2026-03-14", due_date="2026-03-28", status="sent")
    assert isinstance(_fast.decode(_serde.dumps(wire), models.Invoice, True), models.Invoice)
    mutate(wire)
    with pytest.raises(
        ResponseDecodeError, match=r"does not match Invoice: .*" + message.replace("$", r"\$")
    ):
        _serde.decode(_serde.dumps(wire), models.Invoice, strict=True)


def test_importing_the_package_does_not_import_msgspec() -> None:
    """msgspec (and the generated mirrors) load on the first decode, not with `import books_async`."""
    lazy = "'msgspec', 'books_async._generated.fast'"
    probe = f"import sys, books_async; print(*(m in sys.modules for m in ({lazy})))"
    done = subprocess.run(  # noqa: S603  # this interpreter, fixed code
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "False"]


def test_unhashable_or_unknown_types_miss() -> None:
    """A type with no mirror (a hand-written class, a dict) is left to the reference path."""
    assert _fast.decode(b"{}", dict[str, object], False) is _fast.MISS
    assert _fast.decode(b'{"kind": "invoice", "payload": {}}', models.ValidateRequest, False) is _fast.MISS
    assert _fast.decode(b"[]", list[datetime], False) is _fast.MISS


def test_a_bare_array_of_live_shaped_models_keeps_every_objects_unknown_keys() -> None:
    """list[Model] through the open mirrors: the walker pairs each model with its own JSON object."""
    rows = [_live_invoice(), _live_invoice()]
    for i, row in enumerate(rows):
        row["status"] = "sent"
        row["__v"] = i
    raw = _serde.dumps(rows)
    fast = _agree(raw, list[models.Invoice], False)
    assert isinstance(fast, list)
    assert [extra(x)["__v"] for x in fast] == [0, 1]
    assert all(extra(x.line_items[0]) == {"_id": "64f1a2b3c4d5e6f708192a3d"} for x in fast if x.line_items)


_DATETIME_TEXTS: Final = [
    "2026-03-14T06:00:00.1234567Z",  # past microseconds: fromisoformat truncates, msgspec would round
    "2026-03-14T06:00:00.9999995Z",
    "2026-03-14t06:00:00z",  # lower case: fromisoformat refuses, msgspec would read it
    "2026-03-14 06:00:00+05:30",
    "2026-03-14T06:00Z",
    "2026-03-14T06:00:00,5Z",
    "2026-03-14T06:00:00+05:30:10",
    "20260314T060000Z",
    "2026-03-14",
]
_DATE_TEXTS: Final = [
    "20260314",
    "2026-W11-6",
    "2026-03-14T00:00:00",
    "2026-3-14",
    "2026-02-30",
    " 2026-03-14",
]


def _fast_reads_what_the_strict_reference_reads(raw: bytes) -> None:
    # Both paths agree in both modes (_agree); and the fast path itself reads every document the strict
    # reference path reads. What only tolerant reading accepts (a value recovered as None, with a note) is
    # the reference path's work.
    readable = _reference(raw, models.Invoice, True) is not ERROR
    for strict in (False, True):
        fast = _agree(raw, models.Invoice, strict)
        if strict:
            assert (fast is not _fast.MISS) == readable
        elif readable:
            assert fast is not _fast.MISS


@pytest.mark.parametrize("unknown_keys", [False, True], ids=["closed", "open"])
@pytest.mark.parametrize("text", _DATETIME_TEXTS)
def test_date_times_are_read_by_the_reference_hook_not_by_msgspec(text: str, unknown_keys: bool) -> None:
    """msgspec's RFC 3339 reading differs from fromisoformat at the edges: neither mirror uses it."""
    wire = _live_invoice()
    if not unknown_keys:
        for key in ("__v", "org_id"):
            del wire[key]
        lines = wire["line_items"]
        assert isinstance(lines, list)
        for line in lines:
            assert isinstance(line, dict)
            line.pop("_id")
        wire.update(invoice_date="2026-03-14", due_date="2026-03-28")
    wire["status"] = "sent"
    wire["createdAt"] = text
    raw = _serde.dumps(wire)
    _fast_reads_what_the_strict_reference_reads(raw)


@pytest.mark.parametrize("text", _DATE_TEXTS)
def test_dates_msgspec_refuses_are_read_by_the_hook_as_the_reference_does(text: str) -> None:
    """A date msgspec does not read (anything but YYYY-MM-DD) goes to the open mirror and the date hook."""
    wire = _live_invoice()
    for key in ("__v", "org_id"):
        del wire[key]
    wire.update(status="sent", invoice_date=text, due_date="2026-03-28")
    raw = _serde.dumps(wire)
    _fast_reads_what_the_strict_reference_reads(raw)

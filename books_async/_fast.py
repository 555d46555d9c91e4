"""The fast decode path: msgspec checks an answer against generated mirrors, then builds the same models.

:func:`decode` returns :data:`MISS` for anything it does not accept cleanly, and ``_serde.decode`` then takes
the reference path (cattrs, the tolerant hooks), so error messages and tolerance are that path's.
What it accepts it builds as the reference path would, in C but for date-times (and a live answer's dates):

1. msgspec parses the JSON once, numbers with a fraction as exact ``Decimal``s (``1500.00`` keeps its scale);
2. the tree is converted to the generated *closed* mirror, which checks keys and types; money must be a JSON
   number (msgspec alone would read ``"NaN"`` or ``"1_000"`` as a ``Decimal``), an enum a value the spec
   lists, a date ``YYYY-MM-DD`` (read by msgspec, which agrees with ``date.fromisoformat`` there), and
   date-times go through ``dec_hook`` to the reference path's own hook;
3. msgspec builds the attrs models from the mirror (``from_attributes``).

An answer that fails step 2 (the live API's every document: keys the spec does not list, date-times for
dates) is converted to the *open* mirror instead, which allows unknown keys and hands dates to the reference
path's date hook: a date-time for a date is the same India date (tolerant), with the same note. A generated
walker then puts each object's unknown keys into its model's ``extra()``. An ``x-may-be-absent`` key absent
or null, a numeric string, an enum value the spec does not list, a populated reference: each is a miss,
read by the reference path as before.

msgspec and the generated module are imported on the first decode, not with the package. Why msgspec, and
what it measured: ``docs/design/fast-decode.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Final, get_args, get_origin

from books_async import _hooks

__all__ = ["MISS", "decode"]

MISS: Final = object()
"""What :func:`decode` returns when the reference path must decide."""

_Decoder = Callable[[bytes | str], object]
_Table = dict[type, tuple[type, type, Callable[[object, object], None]]]
# Per (type, strict): a decoder, or None when the type has no mirror. Types are the handful a resource names.
_decoders: dict[tuple[object, bool], _Decoder | None] = {}


@functools.cache
def _table() -> _Table:
    from books_async._generated import fast  # imports msgspec: on first use only

    return fast.build()


def _dec_hook(strict: bool) -> Callable[[type, object], object]:
    from books_async._generated.fast import ParsedDate, ParsedDateTime

    read_date = _hooks.structure_date if strict else _hooks.structure_date_tolerant
    read_datetime = _hooks.structure_datetime

    def dec_hook(tp: type, value: object) -> object:
        if tp is ParsedDate:
            return read_date(value, date)
        if tp is ParsedDateTime:
            return read_datetime(value, datetime)
        raise NotImplementedError(tp)

    return dec_hook


def _make(tp: object, strict: bool) -> _Decoder | None:
    import msgspec  # a C extension of ~7 ms import: on first use only

    table = _table()
    many = get_origin(tp) is list
    item = get_args(tp)[0] if many else tp
    if not isinstance(item, type) or item not in table:
        return None
    closed, opened, walk = table[item]
    if many:
        closed = list[closed]  # type: ignore[valid-type]  # a class from the table, at run time
        opened = list[opened]  # type: ignore[valid-type]  # as above
    parse = msgspec.json.Decoder(float_hook=Decimal).decode
    convert = msgspec.convert
    invalid = msgspec.ValidationError
    native = (Decimal,)
    hook = _dec_hook(strict)

    def run(raw: bytes | str) -> object:
        tree = parse(raw)
        try:
            mirror: object = convert(tree, closed, builtin_types=native, dec_hook=hook)
        except invalid:
            mirror = convert(tree, opened, builtin_types=native, dec_hook=hook)
            built = convert(mirror, tp, from_attributes=True)
            if many:
                for model, obj in zip(built, tree, strict=True):
                    walk(model, obj)
            else:
                walk(built, tree)
            return built
        return convert(mirror, tp, from_attributes=True)

    return run


def decode(raw: bytes | str, tp: object, strict: bool) -> object:
    """Build ``tp`` from ``raw`` as the reference path would, or return :data:`MISS` for it to decide."""
    key = (tp, strict)
    try:
        run = _decoders[key]
    except KeyError:
        run = _decoders[key] = _make(tp, strict)
    except TypeError:  # an unhashable type form: not one of ours
        return MISS
    if run is None:
        return MISS
    try:
        return run(raw)
    except Exception:  # any failure: the reference path decides, and words the error
        return MISS

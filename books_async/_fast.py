"""The fast decode path: msgspec checks an answer against generated mirrors, then builds the same models.

:func:`decode` returns :data:`MISS` for anything it does not accept cleanly, and ``_serde.decode`` then takes
the reference path (cattrs, the tolerant hooks), so error messages and tolerance are that path's.
What it accepts it builds as the reference path would. The JSON is parsed once by msgspec, numbers with a
fraction as exact ``Decimal``s (``1500.00`` keeps its scale). A generated guard checks that money is a JSON
number (msgspec alone would read ``"NaN"`` or ``"1_000"`` as a ``Decimal``); a generated mirror checks keys
and types in C; generated converters parse dates, date-times and enum values with the reference path's own
leaf hooks (date-times for dates, unknown enum values: the same results and notes) and keep unknown keys in
``extra()``. An ``x-may-be-absent`` key absent or null, a numeric string, a populated reference: each is a
miss, read by the reference path as before.

msgspec and the generated module are imported on the first decode, not with the package. Why msgspec, and
what it measured: ``docs/design/fast-decode.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final, get_args, get_origin

from books_async import _hooks, _tolerance

__all__ = ["MISS", "decode"]

MISS: Final = object()
"""What :func:`decode` returns when the reference path must decide."""

_Decoder = Callable[[bytes | str], object]
_Table = dict[type, tuple[type, type | None, Callable[[object, object], object]]]
# Per (type, strict): a decoder, or None when the type has no mirror. Types are the handful a resource names.
_decoders: dict[tuple[object, bool], _Decoder | None] = {}
_tables: dict[bool, _Table] = {}


def _table(strict: bool) -> _Table:
    table = _tables.get(strict)
    if table is None:
        from books_async._generated import fast  # imports msgspec: on first use only

        table = _tables[strict] = fast.build(
            _hooks.structure_date if strict else _hooks.structure_date_tolerant,
            _hooks.structure_datetime,
            _hooks.make_enum_hook_factory(open_values=not strict),
            _tolerance.keep_extra,
        )
    return table


def _make(tp: object, strict: bool) -> _Decoder | None:
    import msgspec  # a C extension of ~7 ms import: on first use only

    table = _table(strict)
    parse = msgspec.json.Decoder(float_hook=Decimal).decode
    convert = msgspec.convert
    # Decimal counts as native for the guard: an int or a Decimal passes, a string is refused.
    native = (Decimal,)
    many = get_origin(tp) is list
    item = get_args(tp)[0] if many else tp
    if not isinstance(item, type) or item not in table:
        return None
    mirror, guard, build = table[item]
    if many:
        mirror = list[mirror]  # type: ignore[valid-type]  # a class from the table, at run time
        guard = list[guard] if guard is not None else None  # type: ignore[valid-type]  # as above

    def run(raw: bytes | str) -> object:
        tree = parse(raw)
        if guard is not None:
            convert(tree, guard, builtin_types=native)
        checked: object = convert(tree, mirror)
        if many:
            return [build(s, d) for s, d in zip(checked, tree, strict=True)]  # type: ignore[call-overload]  # lists, as converted
        return build(checked, tree)

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

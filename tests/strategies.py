"""Hypothesis strategies for books-async models, derived from the attrs fields themselves.

:func:`models` builds any model class (generated or hand-written in a test) from its field types
and the wire metadata the generator writes (``pattern``, ``minimum``..., ``min_items``...), so a
new schema in the spec is covered without touching this file; a field type it cannot build fails
loudly instead of being skipped.

Profiles: ``dev`` (the default, quick) and ``ci`` (more examples, derandomized so a red build
replays). Choose with ``HYPOTHESIS_PROFILE=ci``.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping, MutableSequence, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Literal, TypeVar, Union, cast, get_args, get_origin

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from books_async._gstin import gstin_check_char

__all__ = ["MONEY_MAX", "json_values", "models", "money", "strategy_for"]

T = TypeVar("T")

# Shared, noisy machine: no per-example deadline (speed is measured in benchmarks/, never here).
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: Largest amount money strategies draw: ten digits of rupees and two of paise.
MONEY_MAX = Decimal("9999999999.99")
IST = timezone(timedelta(hours=5, minutes=30), "IST")


def money(
    min_value: Decimal = -MONEY_MAX, max_value: Decimal = MONEY_MAX, *, places: int = 2
) -> st.SearchStrategy[Decimal]:
    """Finite Decimals with exactly ``places`` decimal places, always including the classic cases."""
    classics = [Decimal(v) for v in ("0.10", "1500.00", "99999999.99", "0.00")]
    fitting = [d for d in classics if min_value <= d <= max_value and d.as_tuple().exponent == -places]
    drawn = st.decimals(
        min_value=min_value, max_value=max_value, places=places, allow_nan=False, allow_infinity=False
    )
    return st.sampled_from(fitting) | drawn if fitting else drawn


def json_values() -> st.SearchStrategy[object]:
    """Any JSON value as :func:`books_async._serde.loads` returns it (fractions as Decimal)."""
    leaves = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | money()
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
        max_leaves=8,
    )


def _bound(md: Mapping[str, object], key: str) -> Decimal | None:
    value = md.get(key)
    return None if value is None else Decimal(repr(value) if isinstance(value, float) else str(value))


def _numbers(tp: type, md: Mapping[str, object]) -> st.SearchStrategy[object]:
    step = Decimal(1) if tp is int else Decimal("0.01")
    low, high = _bound(md, "minimum"), _bound(md, "maximum")
    if (ex := _bound(md, "exclusive_minimum")) is not None:
        low = ex + step
    if (ex := _bound(md, "exclusive_maximum")) is not None:
        high = ex - step
    if tp is int:
        return st.integers(
            min_value=int(low) if low is not None else -(2**31),
            max_value=int(high) if high is not None else 2**31,
        )
    if tp is float:
        return st.floats(
            min_value=float(low) if low is not None else None,
            max_value=float(high) if high is not None else None,
            allow_nan=False,
            allow_infinity=False,
        )
    return money(low if low is not None else -MONEY_MAX, high if high is not None else MONEY_MAX)


def _strings(md: Mapping[str, object]) -> st.SearchStrategy[str]:
    low = md.get("min_length")
    high = md.get("max_length")
    lo = low if isinstance(low, int) else 0
    hi = high if isinstance(high, int) else None
    if md.get("check") == "gstin":
        return st.from_regex(re.compile("[0-9]{2}[0-9A-Z]{12}"), fullmatch=True).map(
            lambda first14: first14 + gstin_check_char(first14)
        )
    pattern = md.get("pattern")
    if isinstance(pattern, str):
        return st.from_regex(re.compile(pattern), fullmatch=True).filter(
            lambda s: len(s) >= lo and (hi is None or len(s) <= hi)
        )
    return st.text(min_size=lo, max_size=min(hi, lo + 30) if hi is not None else lo + 30)


def strategy_for(tp: object, md: Mapping[str, object] | None = None) -> st.SearchStrategy[object]:
    """Return a strategy for values of annotation ``tp`` honouring field metadata ``md``.

    Raises:
        TypeError: the annotation is of a kind this module does not know; teach it, don't skip it.
    """
    md = md or {}
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        return st.one_of(*(st.none() if a is type(None) else strategy_for(a, md) for a in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (list, Sequence, MutableSequence):
        low = md.get("min_items")
        high = md.get("max_items")
        lo = low if isinstance(low, int) else 0
        hi = min(high, lo + 3) if isinstance(high, int) else lo + 3
        return st.lists(strategy_for(args[0]), min_size=lo, max_size=hi)
    if origin in (dict, Mapping) and args and args[0] is str:
        return st.dictionaries(st.text(max_size=10), strategy_for(args[1]), max_size=3)
    if tp is object:
        return json_values()
    if tp is str:
        return _strings(md)
    if tp is bool:  # before int: bool is an int subclass
        return st.booleans()
    if tp in (int, float, Decimal):
        return _numbers(cast("type", tp), md)
    if tp is datetime:  # before date: datetime is a date subclass
        return st.datetimes(timezones=st.sampled_from([UTC, IST]))
    if tp is date:
        return st.dates()
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        # Deferred so that models referring to each other (or themselves) do not recurse here.
        return st.deferred(lambda: models(tp))
    raise TypeError(f"tests/strategies.py cannot build {tp!r}; add a branch to strategy_for()")


_built: dict[type, st.SearchStrategy[object]] = {}


def models(cls: type[T]) -> st.SearchStrategy[T]:
    """Instances of the attrs class ``cls``, every field drawn within its spec constraints."""
    strategy = _built.get(cls)
    if strategy is None:
        if not attrs.has(cls):
            raise TypeError(f"{cls!r} is not an attrs class")
        attrs.resolve_types(cls)
        fields = {a.name: strategy_for(a.type, a.metadata) for a in attrs.fields(cls) if a.init}
        strategy = st.builds(cls, **fields)
        if cls.__name__ == "CustomerCreate":  # the reference's one cross-field rule: B2B requires gstin
            strategy = strategy.filter(lambda c: c.type != "B2B" or c.gstin is not None)
        _built[cls] = strategy
    return cast("st.SearchStrategy[T]", strategy)

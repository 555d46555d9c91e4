"""books_async.params: each TypedDict agrees with the model it stands for, as the local checks see it."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from types import NoneType, UnionType
from typing import Literal, get_args, get_origin, get_type_hints

import attrs
import pytest

import books_async.models
import books_async.params
from books_async import InvalidRequestError
from books_async._request_checks import validate_request
from books_async._typeinfo import wire_key

PARAMS = books_async.params.__all__


def _model(param: str) -> type:
    return typing.cast("type", getattr(books_async.models, param.removesuffix("Param")))


def _sent(model: type) -> dict[str, attrs.Attribute[object]]:
    return {wire_key(a): a for a in attrs.fields(model) if not a.metadata.get("read_only")}


def _expected(tp: object) -> object:
    """The dict value type the local checks accept for a model field of type ``tp``."""
    args = [a for a in get_args(tp) if a is not NoneType]
    if isinstance(tp, UnionType) and len(args) == 1:
        return _expected(args[0])  # the model's `X | None` is "not set"; a dict leaves the key out instead
    if tp is Decimal:
        return Decimal | int
    if isinstance(tp, type) and issubclass(tp, Enum):
        return Literal[tuple(m.value for m in tp)] | tp
    if isinstance(tp, type) and attrs.has(tp):
        return getattr(books_async.params, f"{tp.__name__}Param")
    if get_origin(tp) is list:
        return Sequence[_expected(get_args(tp)[0])]
    if get_origin(tp) is dict:
        return Mapping[get_args(tp)]  # free-form JSON: any mapping is checked as an object
    return tp


@pytest.mark.parametrize("name", PARAMS)
def test_param_keys_and_value_types_match_the_model(name: str) -> None:
    """Same wire keys, same required keys, and each value type is the strict one the checks accept."""
    param, model = getattr(books_async.params, name), _model(name)
    sent = _sent(model)
    assert set(param.__annotations__) == set(sent)
    required = {key for key, a in sent.items() if a.default is attrs.NOTHING}
    assert param.__required_keys__ == required
    hints = get_type_hints(param)
    model_hints = get_type_hints(model)
    for key, attribute in sent.items():
        assert hints[key] == _expected(model_hints[attribute.name]), f"{name}.{key}"


@pytest.mark.parametrize("name", PARAMS)
def test_a_float_for_a_decimal_key_is_refused(name: str) -> None:
    """Every key typed `Decimal | int` refuses a float at run time, so mypy and the check agree."""
    model = _model(name)
    money = [
        key for key, tp in get_type_hints(getattr(books_async.params, name)).items() if tp == Decimal | int
    ]
    for key in money:
        with pytest.raises(InvalidRequestError) as err:
            validate_request({key: 1.5}, model)
        assert [d.path for d in err.value.details] == [(key,)]
        validate_request({key: 2}, model)  # an int is exact: accepted, as the TypedDict says

"""Generate `books_async/_generated/fast.py`: msgspec mirror structs and converters for the fast decode path.

Input is the text of the freshly generated `models.py` (run in a private namespace), so the mirrors can
never drift from the models: one spec, one run. Each attrs model whose fields msgspec can check gets a
mirror ``Struct`` (wire keys, ``x-may-be-absent`` keys required and non-null, dates, date-times and enums
as strings, money as ``int | Decimal``) and a converter to the model that parses the strings with the
reference path's own leaf hooks and keeps unknown keys. A model with a field it cannot mirror (a free-form
``dict``, an ``object``, a union of models) is left out, and so is every model that contains it; those
always take the reference path. The runtime side is `books_async/_fast.py`.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType
from typing import Literal, get_args, get_origin

import attrs
import jinja2

from books_async._enums import OpenEnum

__all__ = ["render_fast"]

TEMPLATES = Path(__file__).resolve().parent / "templates" / "fast"
_PRIMITIVES = {str: "str", int: "int", bool: "bool"}


class UnsupportedError(Exception):
    """A field msgspec cannot check the way the reference path does; its model keeps that path."""


@dataclass(frozen=True)
class Field:
    name: str
    wire: str
    mirror: str
    optional: bool
    # Statements (in a converter) that turn `v` (the mirror's value, `d` the object's dict) into the model's.
    convert: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[Field, ...]
    known: tuple[str, ...]
    # (attribute, wire key, guard type) of each field holding money, however deep.
    guard: tuple[tuple[str, str, str], ...]
    # Every field a slot its __init__ only stores into: the converter may fill the slots itself.
    plain: bool


def _guard(tp: object, guarded: set[str]) -> str | None:
    """The guard type of a field: money as ``int | Decimal`` only, nested objects by their guards."""
    args = get_args(tp)
    if tp is Decimal:
        return "int | Decimal"
    if isinstance(tp, type) and attrs.has(tp):
        return f"_G_{tp.__name__}" if tp.__name__ in guarded else None
    if get_origin(tp) is list:
        inner = _guard(args[0], guarded)
        return f"list[{inner}]" if inner else None
    if get_origin(tp) in (UnionType, typing.Union):
        guards = [g for a in args if a is not NoneType and (g := _guard(a, guarded))]
        return guards[0] if len(guards) == 1 else None
    return None


def _leaf(tp: object, value: str, raw: str) -> tuple[str, list[str]]:
    """Return the mirror type of ``tp`` and statements converting ``value`` (``raw``: its JSON)."""
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp], []
    if tp is Decimal:
        return "Decimal", []  # strings, which msgspec would take ("NaN", "1_000"), are refused by the guard
    if tp is date:
        return "str", [f"{value} = date_({value}, date)"]
    if tp is datetime:
        return "str", [f"{value} = datetime_({value}, datetime)"]
    if isinstance(tp, type) and issubclass(tp, OpenEnum):
        return "str", [f"{value} = e_{tp.__name__}({value}, {tp.__name__})"]
    if get_origin(tp) is Literal:
        return repr(tp).replace("typing.", ""), []
    if isinstance(tp, type) and attrs.has(tp):
        return f"_M_{tp.__name__}", [f"{value} = _c_{tp.__name__}({value}, {raw})"]
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        if get_origin(item) in (UnionType, typing.Union) and all(a in _PRIMITIVES for a in get_args(item)):
            return "list[" + " | ".join(_PRIMITIVES[a] for a in get_args(item)) + "]", []
        mirror, steps = _leaf(item, "x", "y")
        if not steps:
            return f"list[{mirror}]", []
        if attrs.has(item):
            return f"list[{mirror}]", [
                f"{value} = [_c_{item.__name__}(x, y) for x, y in zip({value}, {raw})]"
            ]
        if len(steps) == 1 and steps[0].startswith("x = "):
            return f"list[{mirror}]", [f"{value} = [{steps[0][4:]} for x in {value}]"]
    raise UnsupportedError(repr(tp))


def _field(a: attrs.Attribute[object]) -> Field:
    tp = a.type
    args = get_args(tp)
    optional = get_origin(tp) in (UnionType, typing.Union) and NoneType in args
    if optional:
        inner = [x for x in args if x is not NoneType]
        if len(inner) != 1:
            raise UnsupportedError(repr(tp))
        tp = inner[0]
    if a.default is not attrs.NOTHING and a.default is not None:
        raise UnsupportedError(f"default {a.default!r}")
    wire = str(a.metadata.get("json", a.name))
    mirror, steps = _leaf(tp, "v", f"d[{wire!r}]")
    # An `x-may-be-absent` key is required and non-null here: absent or null, the object takes the reference
    # path, which reads it as None with its one warning (or refuses it, in strict mode).
    nullable = optional and not a.metadata.get("expected")
    if nullable and steps:
        steps = ["if v is not None:", *("    " + s for s in steps)]
    return Field(a.name, wire, mirror, nullable, tuple(steps))


def _models(namespace: dict[str, object]) -> list[Model]:
    classes = {n: c for n, c in namespace.items() if isinstance(c, type) and attrs.has(c)}
    for cls in classes.values():
        attrs.resolve_types(cls, globalns=namespace)
    done: dict[str, Model | None] = {}

    def visit(name: str) -> Model | None:
        if name in done:
            return done[name]
        done[name] = None  # a cycle reads as unsupported until proven otherwise
        cls = classes[name]
        try:
            fields = tuple(_field(a) for a in attrs.fields(cls) if a.init)
        except UnsupportedError:
            return None
        for nested in _nested(cls):
            if visit(nested) is None:
                return None
        guard = tuple(
            (a.name, str(a.metadata.get("json", a.name)), g)
            for a in attrs.fields(cls)
            if a.init and (g := _guard(a.type, guarded))
        )
        if guard:
            guarded.add(name)
        plain = (
            "__slots__" in vars(cls)
            and all(a.init and a.validator is None and a.converter is None for a in attrs.fields(cls))
            and not hasattr(cls, "__attrs_post_init__")
            and not hasattr(cls, "__attrs_pre_init__")
        )
        model = Model(name, fields, tuple(f.wire for f in fields), guard, plain)
        order.append(model)
        done[name] = model
        return model

    order: list[Model] = []
    guarded: set[str] = set()
    for name in sorted(classes):
        visit(name)
    return order


def _nested(cls: type) -> list[str]:
    names: list[str] = []

    def walk(tp: object) -> None:
        if isinstance(tp, type) and attrs.has(tp):
            names.append(tp.__name__)
        for arg in get_args(tp):
            walk(arg)

    for a in attrs.fields(cls):
        walk(a.type)
    return names


def render_fast(models_text: str, header: str) -> str:
    """Return `fast.py`'s text for the models defined by ``models_text`` (the generated `models.py`)."""
    module = types.ModuleType("books_async._generated.models")
    exec(compile(models_text, "models.py", "exec"), module.__dict__)  # noqa: S102  # our own generated code
    namespace = module.__dict__
    models = _models(namespace)
    enums = sorted(
        n
        for n, c in namespace.items()
        if isinstance(c, type) and issubclass(c, OpenEnum) and c is not OpenEnum
    )
    env = jinja2.Environment(  # noqa: S701  # renders Python source, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pyrepr"] = repr
    return env.get_template("fast.py.jinja2").render(header=header, models=models, enums=enums)

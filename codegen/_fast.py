"""Generate `books_async/_generated/fast.py`: msgspec mirrors and unknown-key walkers for the fast decode.

Input is the text of the freshly generated `models.py` (run in a private namespace), so the mirrors can
never drift from the models: one spec, one run. Each attrs model whose fields msgspec can check the way the
reference path does gets two mirror ``Struct``s, closed (unknown keys refused) and open (allowed), with
wire keys, ``x-may-be-absent`` keys required and non-null, money as ``int | Decimal`` (the tree's
``Decimal``s native, so a string is refused), enums as ``Literal``s of their values, date-times as a marker
type the caller's hook parses, and dates read by msgspec (closed: ``YYYY-MM-DD`` only, where it and
``date.fromisoformat`` agree) or by the hook (open: a date-time may stand for a date). A walker puts the
keys the spec does not list into each model's ``extra()`` after an open decode. A model with a field it
cannot mirror (a free-form ``dict``, an ``object``, a union of models, a float) is left out, and so is
every model that contains it; those always take the reference path. The runtime side is
`books_async/_fast.py`.
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
from books_async._extra import BooksModel

__all__ = ["render_fast"]

TEMPLATES = Path(__file__).resolve().parent / "templates" / "fast"
_PRIMITIVES = {str: "str", int: "int", bool: "bool"}


class UnsupportedError(Exception):
    """A field msgspec cannot check the way the reference path does; its model keeps that path."""


@dataclass(frozen=True)
class Field:
    name: str
    wire: str
    # The mirror's type, nested mirrors named `_M_<Model>` and dates `@date@` (the template fills both in
    # per variant).
    mirror: str
    optional: bool


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[Field, ...]
    known: tuple[str, ...]
    # Statements (in a walker; `m` the model, `d` its JSON object) that walk nested models' objects.
    walk: tuple[str, ...]


def _leaf(tp: object) -> str:
    """Return the mirror type of ``tp``."""
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp]
    if tp is Decimal:
        # With builtin_types=(Decimal,), the parsed tree's Decimals pass as they are and a string is refused:
        # msgspec alone would read "NaN" or "1_000" as a Decimal, which the reference path does not.
        return "int | Decimal"
    if tp is date:
        return "@date@"  # the template writes `date` in closed mirrors, `ParsedDate` in open ones
    if tp is datetime:
        return "ParsedDateTime"
    if isinstance(tp, type) and issubclass(tp, OpenEnum):
        # Known values only: a value the spec does not list goes to the reference path and its note.
        return "Literal[" + ", ".join(repr(m.value) for m in tp) + "]"
    if get_origin(tp) is Literal:
        return repr(tp).replace("typing.", "")
    if isinstance(tp, type) and attrs.has(tp):
        return f"_M_{tp.__name__}"
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        if get_origin(item) in (UnionType, typing.Union) and all(a in _PRIMITIVES for a in get_args(item)):
            return "list[" + " | ".join(_PRIMITIVES[a] for a in get_args(item)) + "]"
        return f"list[{_leaf(item)}]"
    raise UnsupportedError(repr(tp))


def _walk(tp: object, attribute: str, wire: str, optional: bool) -> list[str]:
    """Statements walking the nested models of one field into their JSON objects (none for a leaf)."""
    value, raw = f"m.{attribute}", f"d[{wire!r}]"
    if isinstance(tp, type) and attrs.has(tp):
        steps = [f"_x_{tp.__name__}(v, {raw})"]
    elif get_origin(tp) is list and attrs.has(get_args(tp)[0]):
        steps = [f"for x, y in zip(v, {raw}):", f"    _x_{get_args(tp)[0].__name__}(x, y)"]
    else:
        return []
    if optional:
        return [f"v = {value}", "if v is not None:", *("    " + s for s in steps)]
    return [f"v = {value}", *steps]


def _field(a: attrs.Attribute[object]) -> tuple[Field, list[str]]:
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
    # An `x-may-be-absent` key is required and non-null here: absent or null, the object takes the reference
    # path, which reads it as None with its one warning (or refuses it, in strict mode).
    nullable = optional and not a.metadata.get("expected")
    return Field(a.name, wire, _leaf(tp), nullable), _walk(tp, a.name, wire, nullable)


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
        # The walker fills BooksModel's slot; msgspec builds through __init__, so validators would still run.
        if not issubclass(cls, BooksModel):
            return None
        try:
            made = [_field(a) for a in attrs.fields(cls) if a.init]
        except UnsupportedError:
            return None
        for nested in _nested(cls):
            if visit(nested) is None:
                return None
        fields = tuple(f for f, _ in made)
        walk = tuple(line for _, steps in made for line in steps)
        model = Model(name, fields, tuple(f.wire for f in fields), walk)
        order.append(model)
        done[name] = model
        return model

    order: list[Model] = []
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
    models = _models(module.__dict__)
    env = jinja2.Environment(  # noqa: S701  # renders Python source, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pyrepr"] = repr
    return env.get_template("fast.py.jinja2").render(header=header, models=models)

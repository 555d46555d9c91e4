"""The models as pydantic types: what ``BooksModel.__get_pydantic_core_schema__`` hands pydantic.

Imported only when pydantic asks (a FastAPI route names a model), so ``import books_async`` never loads
pydantic. pydantic does no work of its own on our models:

- **validation** accepts an instance as is, or builds one from a JSON object with the SDK's converter (the
  tolerant reading answers get, so whatever ``to_dict()`` or the serialisation below wrote reads back); a
  value the converter could not read is an error naming its path, where answers would read ``None``;
- **serialisation** is ``to_dict()`` (wire keys unless ``by_alias=False``), with every ``Decimal`` as a
  string of its exact digits in JSON mode: pydantic cannot write a JSON number from a ``Decimal`` without
  going through a float, so ``"1500.00"`` it is;
- **JSON schema** is the spec's own (``books_async._generated.schemas``), told the truth about the above:
  money is a decimal string when serialising (a number or a decimal string when validating), a key the
  server may leave out (``x-may-be-absent``) may be null, and unknown keys are allowed (they are kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Final

import attrs
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from books_async import _serde
from books_async._extra import BooksModel, extra
from books_async._generated import models
from books_async._generated.schemas import SCHEMAS
from books_async._travel import money_as_strings
from books_async._typeinfo import received, wire_key

__all__ = ["core_schema_for", "json_schema_for"]

_PREFIX: Final = "#/components/schemas/"
# Where the nested models' names are kept in a model's core schema, in the order of its input schema's items.
_NESTED: Final = "books_async_nested"
_DECIMAL_STRING: Final = r"^[+-]?(?:\d+\.?\d*|\.\d+)$"


def core_schema_for(cls: type[BooksModel], handler: GetCoreSchemaHandler) -> CoreSchema:
    """Return ``cls``'s core schema: our validator and serialiser, and its nested models' schemas."""
    names = sorted(set(_refs(_spec_schema(cls))))
    nested = [handler.generate_schema(getattr(models, name)) for name in names]
    return core_schema.no_info_plain_validator_function(
        _validator(cls),
        # Never used to validate: it keeps the nested models' definitions in the schema pydantic builds, so
        # json_schema_for() can refer to them as pydantic's own definitions.
        json_schema_input_schema=core_schema.tuple_schema(nested) if nested else None,
        ref=f"{cls.__module__}.{cls.__qualname__}:{id(cls)}",
        metadata={_NESTED: names},
        serialization=core_schema.plain_serializer_function_ser_schema(_serialise, info_arg=True),
    )


def json_schema_for(
    cls: type[BooksModel], schema: CoreSchema, handler: GetJsonSchemaHandler
) -> JsonSchemaValue:
    """Return ``cls``'s JSON schema for ``handler.mode`` (module docstring), nested models as references."""
    names: list[str] = (schema.get("metadata") or {}).get(_NESTED, [])
    input_schema = schema.get("json_schema_input_schema")
    items: list[CoreSchema] = input_schema.get("items_schema", []) if input_schema else []
    # The handler we are given renders one schema without its own hooks; the generator's generate_inner
    # applies each nested model's hook and returns a reference to its definition.
    generator = handler.generate_json_schema  # type: ignore[attr-defined]
    refs = {name: generator.generate_inner(item) for name, item in zip(names, items, strict=True)}
    rewritten = _rewrite(_spec_schema(cls), refs, serialising=handler.mode == "serialization")
    return {"title": cls.__name__, **rewritten}


def _spec_schema(cls: type[BooksModel]) -> Mapping[str, object]:
    # By identity, not name: a subclass (or a hand-written model) may share a generated model's name.
    if getattr(models, cls.__name__, None) is cls:
        return SCHEMAS[cls.__name__]
    return {"type": "object"}


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref[len(_PREFIX) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _rewrite(
    node: Mapping[str, object], refs: Mapping[str, JsonSchemaValue], *, serialising: bool
) -> JsonSchemaValue:
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _property(prop, refs, serialising=serialising) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _rewrite(value, refs, serialising=serialising)
        elif key in ("oneOf", "anyOf", "allOf") and isinstance(value, list):
            out[key] = [
                _rewrite(v, refs, serialising=serialising) if isinstance(v, Mapping) else v for v in value
            ]
        elif key == "additionalProperties" and value is False:
            continue  # keys the schema does not list are read, kept and written back
        else:
            out[key] = value
    ref = out.pop("$ref", None)
    if isinstance(ref, str):
        target = refs[ref[len(_PREFIX) :]]
        return {**target, **out} if out else target
    if out.get("type") == "number" and out.get("format") == "decimal":
        return _money(out, serialising=serialising)
    return out


def _property(prop: object, refs: Mapping[str, JsonSchemaValue], *, serialising: bool) -> object:
    if not isinstance(prop, Mapping):
        return prop  # a `true` or `false` schema
    may_be_absent = bool(prop.get("x-may-be-absent"))
    rewritten = _rewrite(
        {k: v for k, v in prop.items() if k != "x-may-be-absent"}, refs, serialising=serialising
    )
    if not may_be_absent:
        return rewritten
    # The key is written as null when the server left it out: say so, keeping the description outside.
    outer: dict[str, object] = {k: rewritten.pop(k) for k in ("description", "readOnly") if k in rewritten}
    return {"anyOf": [rewritten, {"type": "null"}], **outer}


def _money(node: dict[str, object], *, serialising: bool) -> JsonSchemaValue:
    outer: dict[str, object] = {k: node.pop(k) for k in ("description", "readOnly") if k in node}
    as_string: dict[str, object] = {"type": "string", "format": "decimal", "pattern": _DECIMAL_STRING}
    if serialising:
        return {**as_string, **outer}
    return {"anyOf": [node, as_string], **outer}


def _validator(cls: type[BooksModel]) -> Callable[[object], BooksModel]:
    def validate(value: object) -> BooksModel:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            # A ValueError, not a TypeError: pydantic turns only ValueErrors into a validation error (a 422).
            raise ValueError(f"expected {cls.__name__} or a JSON object, received {received(value)}")
        try:
            model = _serde.structure(value, cls)
        except Exception as exc:  # cattrs' groups and our hooks' errors alike, described by path
            raise ValueError(f"not a valid {cls.__name__}: {_serde.explain(exc)}") from None
        unread = list(_unread(model, "$"))
        if unread:
            raise ValueError(f"not a valid {cls.__name__}: " + "; ".join(unread[:3]))
        return model

    return validate


def _unread(model: object, path: str) -> Iterator[str]:
    """Where tolerant reading gave ``None`` for a value it could not read (kept in ``extra()``)."""
    cls = type(model)
    if not isinstance(model, BooksModel) or not attrs.has(cls):
        return
    fields = attrs.fields(cls)
    found = extra(model)
    for field in fields:
        key = wire_key(field)
        if key in found:
            yield f"a value that could not be read as its type at {path}.{key}"
        value = getattr(model, field.name)
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _unread(item, f"{path}.{key}[{i}]")
        else:
            yield from _unread(value, f"{path}.{key}")


def _serialise(model: BooksModel, info: core_schema.SerializationInfo[object]) -> object:
    data = model.to_dict(by_alias=info.by_alias is not False)
    return money_as_strings(data) if info.mode_is_json() else data

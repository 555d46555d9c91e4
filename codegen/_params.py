"""Render `params.py`: a `TypedDict` per request body schema and every object schema those bodies use.

A dict body is checked locally exactly like the model it stands for (`books_async._request_checks`), so a
key's value type here is what those checks accept, no wider: money and other `format: decimal` numbers are
`Decimal | int` (a float is refused), dates are `date`, enums are `Literal[...]` of the spec's values or the
generated enum. Keys are the wire names; the schema's `required` keys are `Required[...]`.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from codegen._common import CodegenError, docstring, param_name
from codegen._reader import PRIMITIVES, SpecReader

__all__ = ["ParamClass", "param_classes"]

# The reader's Python types, as a dict's values may be given: the local checks accept an int for a Decimal.
VALUE_TYPES: Mapping[tuple[str, str | None], str] = {
    key: "Decimal | int" if python == "Decimal" else python for key, python in PRIMITIVES.items()
}
SCHEMAS = "#/components/schemas/"


@dataclass(frozen=True)
class ParamKey:
    """One key of a TypedDict: wire name, annotation (with `Required[...]` when required) and its doc."""

    name: str
    annotation: str
    doc: str | None


@dataclass
class ParamClass:
    """One TypedDict, with the generated names its annotations use."""

    name: str
    model: str
    doc: str
    keys: list[ParamKey] = field(default_factory=list)


class _Builder:
    def __init__(self, reader: SpecReader) -> None:
        self.reader = reader
        self.classes: dict[str, ParamClass] = {}
        self.needs: set[str] = set()
        self.enums: set[str] = set()

    def add(self, schema_name: str) -> None:
        """Add the TypedDict for `schema_name`, after those its keys name (so no forward references)."""
        if schema_name in self.classes:
            return
        schema = self.reader.schemas[schema_name]
        where = f"components/schemas/{schema_name}"
        cls = ParamClass(
            name=param_name(schema_name),
            model=schema_name,
            doc=docstring(
                f"`{schema_name}` as a dict: checked like the model before it is sent.",
                str(schema.get("description") or ""),
                4,
            ),
        )
        self.classes[schema_name] = cls  # claimed first: a schema that names itself would recurse
        required = set(cast("list[str]", schema.get("required") or []))
        properties = cast("Mapping[str, Mapping[str, object]]", schema.get("properties") or {})
        keys: list[ParamKey] = []
        for wire, prop in properties.items():
            if prop.get("readOnly"):
                continue  # never sent, so not a key a request dict may have
            if not wire.isidentifier() or keyword.iskeyword(wire):
                raise CodegenError(f"{where}: key {wire!r} cannot be a TypedDict class attribute")
            annotation = self.value_type(prop, f"{where}.{wire}")
            if wire in required:
                annotation = f"Required[{annotation}]"
                self.needs.add("Required")
            description = str(prop.get("description") or "").strip()
            keys.append(ParamKey(wire, annotation, docstring(description, "", 4) if description else None))
        # Re-inserted so a class comes after every class it names.
        del self.classes[schema_name]
        cls.keys = keys
        self.classes[schema_name] = cls

    def value_type(self, schema: Mapping[str, object], where: str) -> str:
        """Return the annotation of a value, adding the TypedDicts of the object schemas it names."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(SCHEMAS) or ref[len(SCHEMAS) :] not in self.reader.schemas:
                raise CodegenError(f"{where}: $ref {ref!r} is not a component schema")
            name = ref[len(SCHEMAS) :]
            target = self.reader.schemas[name]
            if "enum" in target:
                values = cast("list[object]", target["enum"])
                self.enums.add(name)
                self.needs.add("Literal")
                return f"Literal[{', '.join(repr(v) for v in values)}] | {name}"
            if target.get("type") == "object" or "properties" in target:
                self.add(name)
                return param_name(name)
            return self.value_type(target, f"{where} ({name})")
        for key in ("oneOf", "anyOf"):
            variants = schema.get(key)
            if isinstance(variants, list):
                parts: list[str] = []
                for i, variant in enumerate(variants):
                    text = self.value_type(variant, f"{where}.{key}[{i}]")
                    if text not in parts:
                        parts.append(text)
                return " | ".join(parts)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            if len(non_null) != 1:
                raise CodegenError(f"{where}: type {kind!r} has more than one non-null type")
            inner = self.value_type({**schema, "type": non_null[0]}, where)
            return f"{inner} | None" if "null" in kind else inner
        if "const" in schema:
            self.needs.add("Literal")
            return f"Literal[{schema['const']!r}]"
        if kind == "array":
            items = schema.get("items")
            if not isinstance(items, Mapping):
                raise CodegenError(f"{where}: array without items")
            self.needs.add("Sequence")
            return f"Sequence[{self.value_type(items, f'{where}[]')}]"
        if kind == "object":
            if schema.get("properties"):
                raise CodegenError(
                    f"{where}: inline object schema; move it to components/schemas and $ref it"
                )
            self.needs.add("Mapping")
            return "Mapping[str, object]"  # free-form JSON, as the model types it
        fmt = schema.get("format")
        value = VALUE_TYPES.get((str(kind), str(fmt) if fmt is not None else None))
        value = value or VALUE_TYPES.get((str(kind), None))
        if value is None:
            raise CodegenError(f"{where}: cannot type schema {dict(schema)!r}")
        for name in ("date", "datetime", "Decimal"):
            if name in value.split(" | "):
                self.needs.add(name)
        return value


def param_classes(reader: SpecReader, body_models: list[str]) -> tuple[list[ParamClass], set[str], set[str]]:
    """Return the TypedDicts for `body_models` (in order, dependencies first), the imports they need and
    the enums they name."""
    builder = _Builder(reader)
    for name in body_models:
        builder.add(name)
    return list(builder.classes.values()), builder.needs, builder.enums

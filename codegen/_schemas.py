"""Render `books_async/_generated/schemas.py`: each model's JSON schema, taken from the spec's components.

A model is a component the model generator turns into a class (an object schema). In what is written, a
`$ref` to another model stays a `$ref` (`#/components/schemas/<name>`, which `books_async._pydantic` turns
into pydantic's own reference), while a `$ref` to a scalar alias or an enum is replaced by that schema, so
the runtime never needs the rest of the spec. Sibling keys of a `$ref` (a description, `x-may-be-absent`)
are kept beside it, or win over the inlined schema's own.
"""

from __future__ import annotations

import pprint
from collections.abc import Mapping
from typing import cast

import jinja2

from codegen._common import TEMPLATES, CodegenError, header

__all__ = ["component_schemas", "render_schemas"]

_PREFIX = "#/components/schemas/"


def _is_model(schema: Mapping[str, object]) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def _rewrite(node: object, components: Mapping[str, Mapping[str, object]], seen: tuple[str, ...]) -> object:
    if isinstance(node, list):
        return [_rewrite(item, components, seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    siblings = {str(k): _rewrite(v, components, seen) for k, v in node.items() if k != "$ref"}
    if ref is None:
        return siblings
    if not isinstance(ref, str) or not ref.startswith(_PREFIX) or ref[len(_PREFIX) :] not in components:
        raise CodegenError(f"$ref {ref!r} is not a component schema")
    name = ref[len(_PREFIX) :]
    target = components[name]
    if _is_model(target):
        return {"$ref": ref, **siblings}
    if name in seen:
        raise CodegenError(f"$ref {ref!r} is circular")
    inlined = cast("dict[str, object]", _rewrite(target, components, (*seen, name)))
    return {**inlined, **siblings}


def component_schemas(spec: Mapping[str, object]) -> dict[str, object]:
    """Return each model component's schema, `$ref`s rewritten (module docstring), in spec order."""
    components = cast("Mapping[str, object]", spec.get("components") or {})
    schemas = cast("Mapping[str, Mapping[str, object]]", components.get("schemas") or {})
    return {name: _rewrite(schema, schemas, (name,)) for name, schema in schemas.items() if _is_model(schema)}


def render_schemas(spec: Mapping[str, object], spec_bytes: bytes) -> str:
    """Return `schemas.py`'s text, before formatting."""
    env = jinja2.Environment(  # noqa: S701  # renders Python source, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES / "schemas"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    # pprint sorts nothing away: sort_dicts=False keeps the spec's order, so a diff reads like the spec's.
    literal = pprint.pformat(component_schemas(spec), sort_dicts=False, width=10_000)
    return env.get_template("schemas.py.jinja2").render(header=header(spec_bytes), schemas=literal)

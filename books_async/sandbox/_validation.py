"""Request validation straight from ``openapi/books.yaml``: no second, hand-written copy of any schema.

The spec is read once per process. Every ``$ref`` is inlined (the spec has no recursive schema), and each
operation gets a JSON Schema 2020-12 validator for its body and one per query parameter. Failures become
Zod-style issues (``path``, ``message``, ``code``), every one of them, as the live API's strict Zod
schemas report them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias, cast

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from books_async._typeinfo import json_type

__all__ = [
    "Issue",
    "Operation",
    "QueryParam",
    "SchemaChecker",
    "Spec",
    "load_spec",
    "locate_spec",
]

Issue: TypeAlias = dict[str, object]
"""One Zod-style issue: ``{"path": [...], "message": str, "code": str}`` (sometimes more keys)."""
Schema: TypeAlias = dict[str, object]

_HTTP_METHODS: Final = ("get", "put", "post", "patch", "delete")
_FORMAT_CHECKER: Final = Draft202012Validator.FORMAT_CHECKER


def locate_spec() -> str:
    """Return the path of ``books.yaml`` (the repo's copy in a checkout, else the wheel's)."""
    from books_async._spec import spec_path

    return str(spec_path())


def _deref(node: object, root: Mapping[str, object], stack: tuple[str, ...] = ()) -> object:
    """Return ``node`` with every local ``$ref`` replaced by a copy of its target."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise ValueError(f"only local $refs are supported, not {ref!r}")
            if ref in stack:
                raise ValueError(f"recursive $ref {ref!r} cannot be inlined")
            target: object = root
            for part in ref[2:].split("/"):
                target = cast("Mapping[str, object]", target)[part.replace("~1", "/").replace("~0", "~")]
            resolved = _deref(target, root, (*stack, ref))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(resolved, dict):
                # 3.1 allows keywords beside $ref (e.g. a description): keep the target's, add the rest.
                return {**resolved, **{k: _deref(v, root, stack) for k, v in siblings.items()}}
            return resolved
        return {k: _deref(v, root, stack) for k, v in node.items()}
    if isinstance(node, list):
        return [_deref(v, root, stack) for v in node]
    return node


def _json_type(value: object) -> str:
    # Zod, which the API validates with, has one number type: a whole number is a "number" to it.
    kind = json_type(value)
    return "number" if kind == "integer" else kind


def _issue(path: Iterable[object], message: str, code: str, **extra: object) -> Issue:
    return {"path": list(path), "message": message, "code": code, **extra}


def _quoted(values: Iterable[object]) -> str:
    return " | ".join(f"'{v}'" for v in values)


def _convert(err: SchemaError) -> Iterator[Issue]:
    """Turn one jsonschema error into Zod-style issues."""
    path = list(err.absolute_path)
    kind = err.validator
    value = err.validator_value
    instance = err.instance
    if kind == "required":
        present = instance if isinstance(instance, dict) else {}
        for key in cast("list[str]", value):
            if key not in present:
                yield _issue(
                    [*path, key], "Required", "invalid_type", expected="defined", received="undefined"
                )
    elif kind == "additionalProperties":
        schema = err.schema if isinstance(err.schema, dict) else {}
        known = schema.get("properties", {})
        patterns = [re.compile(p) for p in cast("dict[str, object]", schema.get("patternProperties", {}))]
        extra = sorted(
            k
            for k in cast("dict[str, object]", instance)
            if k not in cast("dict[str, object]", known) and not any(p.search(k) for p in patterns)
        )
        yield _issue(
            path,
            "Unrecognized key(s) in object: " + ", ".join(f"'{k}'" for k in extra),
            "unrecognized_keys",
            keys=extra,
        )
    elif kind == "type":
        expected = value if isinstance(value, str) else " | ".join(cast("list[str]", value))
        received = _json_type(instance)
        yield _issue(
            path,
            f"Expected {expected}, received {received}",
            "invalid_type",
            expected=expected,
            received=received,
        )
    elif kind in ("minimum", "exclusiveMinimum"):
        op = "greater than or equal to" if kind == "minimum" else "greater than"
        yield _issue(
            path,
            f"Number must be {op} {value}",
            "too_small",
            minimum=value,
            inclusive=kind == "minimum",
            type="number",
        )
    elif kind in ("maximum", "exclusiveMaximum"):
        op = "less than or equal to" if kind == "maximum" else "less than"
        yield _issue(
            path,
            f"Number must be {op} {value}",
            "too_big",
            maximum=value,
            inclusive=kind == "maximum",
            type="number",
        )
    elif kind == "minLength":
        yield _issue(
            path,
            f"String must contain at least {value} character(s)",
            "too_small",
            minimum=value,
            inclusive=True,
            type="string",
        )
    elif kind == "maxLength":
        yield _issue(
            path,
            f"String must contain at most {value} character(s)",
            "too_big",
            maximum=value,
            inclusive=True,
            type="string",
        )
    elif kind == "minItems":
        yield _issue(
            path,
            f"Array must contain at least {value} element(s)",
            "too_small",
            minimum=value,
            inclusive=True,
            type="array",
        )
    elif kind == "maxItems":
        yield _issue(
            path,
            f"Array must contain at most {value} element(s)",
            "too_big",
            maximum=value,
            inclusive=True,
            type="array",
        )
    elif kind == "minProperties":
        yield _issue(
            path,
            f"Object must have at least {value} key(s)",
            "too_small",
            minimum=value,
            inclusive=True,
            type="object",
        )
    elif kind == "maxProperties":
        yield _issue(
            path,
            f"Object must have at most {value} key(s)",
            "too_big",
            maximum=value,
            inclusive=True,
            type="object",
        )
    elif kind == "pattern":
        yield _issue(path, f"Invalid: must match {value}", "invalid_string", validation="regex")
    elif kind == "format":
        yield _issue(path, f"Invalid {value}", "invalid_string", validation=value)
    elif kind == "enum":
        options = list(cast("list[object]", value))
        yield _issue(
            path,
            f"Invalid enum value. Expected {_quoted(options)}, received '{instance}'",
            "invalid_enum_value",
            options=options,
            received=instance,
        )
    elif kind == "not" and value == {}:
        # `{not: {}}` is how the spec forbids a key in one case (bulk-action's status with delete).
        yield _issue(path, "Not allowed here", "unrecognized_keys", keys=path[-1:])
    elif kind == "const":
        yield _issue(path, f"Invalid literal value, expected {value!r}", "invalid_literal", expected=value)
    else:
        yield _issue(path, err.message, "custom")


class SchemaChecker:
    """Validates instances against one (dereferenced) schema and reports every Zod-style issue.

    A top-level ``oneOf`` of an object schema and an array schema (the bulk bodies) is split by the
    instance's JSON type, so that a bad invoice in a bulk array reports its own fields instead of one
    opaque "not valid under any of the given schemas".
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._branches: dict[str, Draft202012Validator] = {}
        self._whole: Draft202012Validator | None = None
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and all(
            isinstance(b, dict) and isinstance(b.get("type"), str) for b in one_of
        ):
            for branch in cast("list[Schema]", one_of):
                self._branches[cast("str", branch["type"])] = Draft202012Validator(
                    branch, format_checker=_FORMAT_CHECKER
                )
        else:
            self._whole = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)

    def issues(self, instance: object) -> list[Issue]:
        """Return every issue of ``instance``; empty when it is valid."""
        if self._whole is not None:
            validator = self._whole
        else:
            found = self._branches.get(_json_type(instance))
            if found is None:
                expected = " | ".join(self._branches)
                received = _json_type(instance)
                return [
                    _issue(
                        [],
                        f"Expected {expected}, received {received}",
                        "invalid_type",
                        expected=expected,
                        received=received,
                    )
                ]
            validator = found
        issues: list[Issue] = []
        seen: set[tuple[str, str]] = set()
        type_paths: set[str] = set()
        for err in validator.iter_errors(instance):
            for issue in _convert(err):
                key = repr(issue["path"])
                if issue["code"] == "invalid_type":
                    type_paths.add(key)
                if (key, str(issue["message"])) in seen:
                    continue
                seen.add((key, str(issue["message"])))
                issues.append(issue)
        if type_paths:
            # Zod reports only the type of a value of the wrong type, not also its enum or pattern.
            issues = [i for i in issues if i["code"] == "invalid_type" or repr(i["path"]) not in type_paths]
        return issues


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One query (or path) parameter with its schema."""

    name: str
    location: str
    required: bool
    schema: Schema
    checker: SchemaChecker

    def parse(self, raw: str) -> tuple[object, list[Issue]]:
        """Convert the raw string by the schema's type, then validate it; returns (value, issues)."""
        kind = self.schema.get("type")
        value: object = raw
        if kind == "integer":
            try:
                value = int(raw, 10)
            except ValueError:
                received = "number" if re.fullmatch(r"-?\d+(\.\d+)?", raw) else "string"
                expected = "integer"
                return raw, [
                    _issue(
                        [self.name],
                        f"Expected {expected}, received {received}",
                        "invalid_type",
                        expected=expected,
                        received=received,
                    )
                ]
        issues = self.checker.issues(value)
        for issue in issues:
            issue["path"] = [self.name, *cast("list[object]", issue["path"])]
        return value, issues


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the spec, with what is needed to validate its requests."""

    operation_id: str
    method: str
    path: str
    params: tuple[QueryParam, ...]
    body: SchemaChecker | None
    body_required: bool

    def parse_query(self, query: Mapping[str, str]) -> tuple[dict[str, object], list[Issue]]:
        """Return the validated query parameters (defaults applied) and every issue found."""
        values: dict[str, object] = {}
        issues: list[Issue] = []
        for param in self.params:
            if param.location != "query":
                continue
            raw = query.get(param.name)
            if raw is None:
                if param.required:
                    issues.append(_issue([param.name], "Required", "invalid_type"))
                elif "default" in param.schema:
                    values[param.name] = param.schema["default"]
                continue
            value, found = param.parse(raw)
            issues.extend(found)
            values[param.name] = value
        return values, issues

    def check_path(self, match_info: Mapping[str, str]) -> list[Issue]:
        """Return the issues of the path parameters (an id that is not an ObjectId)."""
        issues: list[Issue] = []
        for param in self.params:
            if param.location == "path":
                issues.extend(param.parse(match_info.get(param.name, ""))[1])
        return issues


class Spec:
    """The dereferenced spec and a validator for every operation and component schema."""

    def __init__(self, document: Mapping[str, object]) -> None:
        self.document = cast("dict[str, object]", _deref(document, document))
        self.operations: dict[str, Operation] = {}
        paths = cast("dict[str, dict[str, object]]", self.document.get("paths", {}))
        for path, item in paths.items():
            shared = cast("list[Schema]", item.get("parameters", []))
            for method in _HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                op_id = cast("str", op["operationId"])
                params = [*shared, *cast("list[Schema]", op.get("parameters", []))]
                self.operations[op_id] = Operation(
                    operation_id=op_id,
                    method=method.upper(),
                    path=path,
                    params=tuple(self._param(p) for p in params),
                    body=self._body(op),
                    body_required=bool(cast("Schema", op.get("requestBody", {})).get("required", False)),
                )
        self._schemas: dict[str, SchemaChecker] = {}

    @staticmethod
    def _param(raw: Schema) -> QueryParam:
        schema = cast("Schema", raw.get("schema", {}))
        return QueryParam(
            name=cast("str", raw["name"]),
            location=cast("str", raw["in"]),
            required=bool(raw.get("required", False)),
            schema=schema,
            checker=SchemaChecker(schema),
        )

    @staticmethod
    def _body(op: Schema) -> SchemaChecker | None:
        body = op.get("requestBody")
        if not isinstance(body, dict):
            return None
        content = cast("dict[str, Schema]", body.get("content", {}))
        media = content.get("application/json")
        if media is None or "schema" not in media:
            return None
        return SchemaChecker(cast("Schema", media["schema"]))

    def component(self, name: str) -> Schema:
        """Return the dereferenced component schema ``name``."""
        components = cast("dict[str, dict[str, Schema]]", self.document["components"])
        return components["schemas"][name]

    def checker(self, name: str) -> SchemaChecker:
        """Return a (cached) checker for the component schema ``name``."""
        found = self._schemas.get(name)
        if found is None:
            found = self._schemas[name] = SchemaChecker(self.component(name))
        return found


@functools.cache
def _load(path: str) -> Spec:
    with open(path, encoding="utf-8") as fh:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader, C-accelerated where available
    return Spec(document)


def load_spec(path: str | None = None) -> Spec:
    """Return the compiled spec, read once per process (``path`` defaults to the package's spec)."""
    return _load(path or locate_spec())

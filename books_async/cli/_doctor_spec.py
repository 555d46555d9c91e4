"""How a response body differs from ``openapi/books.yaml``: every difference by kind and collapsed JSON path.

Bodies are checked with jsonschema (2020-12, with a format checker for ``date`` and ``date-time``, as the
sandbox checks requests) for missing keys, types, enums, formats and constraints. Response schemas do not
forbid extra keys, so unknown keys are found by walking the body along the schema: a key that is not among
an object's ``properties``. Paths collapse array indexes (``$.data[].round_off``) and each difference counts
how many of the objects seen at its place have it, so a 100-row page gives one line, not 100.

Only key names, JSON types and enum values leave this module (enum values capped in length): never a value
of the body, which is the account's data (names, GSTINs, amounts).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal, TypeAlias, cast

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from books_async._typeinfo import json_type

__all__ = [
    "MAY_BE_ABSENT",
    "Difference",
    "Effect",
    "Kind",
    "ResponseChecker",
    "SpecDocument",
    "Tally",
    "enum_value",
    "load_spec_document",
    "safe_token",
]

Kind: TypeAlias = Literal["missing_key", "unknown_key", "type", "enum", "format", "constraint", "answer"]
Effect: TypeAlias = Literal["breaks", "tolerated"]
Schema: TypeAlias = Mapping[str, object]

MAY_BE_ABSENT: Final = "x-may-be-absent"
"""The vendor extension on a property the SDK reads as absent without failing."""

_METHODS: Final = ("get", "put", "post", "patch", "delete")
# No "." or brackets: a key printed in a path must not look like more path.
_TOKEN: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_IST_MIDNIGHT: Final = re.compile(r"T18:30:00(?:\.0+)?Z$")
_NUMERIC: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_MAX_TOKEN: Final = 40


def safe_token(value: object) -> str:
    """Return a key name fit for a path: a word of at most 40 characters, else only its length.

    Key names are the API's vocabulary; one that is not word-like (spaces, digits first, very long) might
    be someone's data, as a GSTIN used as a map key would be, so only its length is shown.
    """
    if isinstance(value, str) and _TOKEN.fullmatch(value) and len(value) <= _MAX_TOKEN:
        return value
    if isinstance(value, str):
        return f"<a key of {len(value)} characters>"
    return f"<{json_type(value)}>"


def enum_value(value: object) -> str:
    """Return a value found where the spec has an enum, printable and cut to 40 characters.

    Values of an enum field are vocabulary (``unpaid``, ``SEZ``), safe in a bug report; the cut bounds
    what a field holding free text instead could show.
    """
    if not isinstance(value, str):
        return f"<{json_type(value)}>"
    shown = "".join(c if c.isprintable() else "?" for c in value)
    return shown if len(shown) <= _MAX_TOKEN else shown[: _MAX_TOKEN - 1] + "…"


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only apply to strings; the type check reports the rest
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _format_checker() -> FormatChecker:
    # Our own two formats rather than jsonschema's defaults: those depend on optional packages (date-time
    # needs rfc3339-validator) and would silently stop checking where they are missing.
    checker = FormatChecker(formats=())
    checker.checks("date")(_is_date)
    checker.checks("date-time")(_is_date_time)
    return checker


def _shape(value: object) -> str:
    """Describe a string's format without its content."""
    if not isinstance(value, str):
        return json_type(value)
    if _DATE_TIME.fullmatch(value):
        return "a date-time"
    if _DATE.fullmatch(value):
        return "a date"
    return "another string"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a body differs from the spec, at one collapsed path."""

    kind: Kind
    path: str
    detail: str
    effect: Effect
    value: str | None = None
    """The enum value outside the spec (vocabulary, capped), for ``enum`` differences only."""


@dataclass(slots=True)
class Tally:
    """What the bodies of one operation held: objects seen per path, and each difference's count."""

    seen: Counter[str] = field(default_factory=Counter)
    found: Counter[Difference] = field(default_factory=Counter)

    def add(self, difference: Difference) -> None:
        """Count one occurrence of ``difference``."""
        self.found[difference] += 1

    def out_of(self, difference: Difference) -> int:
        """How many places could have had ``difference``: the objects that lack or carry its key, else the
        values seen at its path."""
        if difference.kind in ("missing_key", "unknown_key"):
            return self.seen[difference.path.rsplit(".", 1)[0]]
        return self.seen[difference.path]


class SpecDocument:
    """``books.yaml`` as loaded, with each operation's JSON success schema."""

    def __init__(self, document: Mapping[str, object], digest: str = "") -> None:
        self.document = document
        self.digest = digest
        """The first 12 hex digits of the spec file's sha256, as the generated code's headers show it."""
        self.format_checker = _format_checker()
        self._checkers: dict[tuple[str, str], ResponseChecker | None] = {}

    def operation(self, method: str, path: str) -> Schema | None:
        """Return the operation object of ``method path`` (a template such as ``/books/invoices/{id}``)."""
        paths = cast("Mapping[str, Mapping[str, object]]", self.document.get("paths", {}))
        item = paths.get(path, {})
        op = item.get(method.lower()) if method.lower() in _METHODS else None
        return cast("Schema", op) if isinstance(op, Mapping) else None

    def operation_id(self, method: str, path: str) -> str | None:
        """Return the spec's ``operationId`` of ``method path``, if the spec has the operation."""
        op = self.operation(method, path)
        found = op.get("operationId") if op is not None else None
        return found if isinstance(found, str) else None

    def response_schema(self, method: str, path: str) -> Schema | None:
        """Return the schema of the operation's 2xx JSON answer, or None when it has none."""
        op = self.operation(method, path)
        if op is None:
            return None
        responses = cast("Mapping[str, Mapping[str, object]]", op.get("responses", {}))
        for status, response in sorted(responses.items()):
            if not status.startswith("2"):
                continue
            content = cast("Mapping[str, Mapping[str, object]]", response.get("content", {}))
            media = content.get("application/json")
            if media is not None and isinstance(media.get("schema"), Mapping):
                return cast("Schema", media["schema"])
        return None

    def schema_name(self, method: str, path: str) -> str | None:
        """Return the component name of the operation's answer (``InvoiceList``), when it is a plain $ref."""
        schema = self.response_schema(method, path)
        ref = schema.get("$ref") if schema is not None else None
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return ref.rsplit("/", 1)[1]
        return None

    def checker(self, method: str, path: str) -> ResponseChecker | None:
        """Return the (cached) checker of the operation's JSON answer; None when it has no JSON answer."""
        key = (method, path)
        if key not in self._checkers:
            schema = self.response_schema(method, path)
            self._checkers[key] = None if schema is None else ResponseChecker(self, schema)
        return self._checkers[key]

    def resolve(self, schema: Schema) -> Schema:
        """Follow local ``$ref`` s until a schema without one."""
        seen: set[str] = set()
        while True:
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                return schema
            seen.add(ref)
            target: object = self.document
            for part in ref[2:].split("/"):
                target = cast("Mapping[str, object]", target)[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**cast("Schema", target), **siblings}


class ResponseChecker:
    """Finds every difference between a parsed answer and one response schema."""

    def __init__(self, spec: SpecDocument, schema: Schema) -> None:
        self._spec = spec
        self._schema = schema
        # The whole document travels with the schema, so its "#/components/..." refs resolve in place.
        root = {**schema, "components": spec.document.get("components", {})}
        self._validator = Draft202012Validator(root, format_checker=spec.format_checker)

    def check(self, body: object, tally: Tally) -> None:
        """Add every difference of ``body`` to ``tally``."""
        optional: set[str] = set()
        self._walk(body, self._schema, "$", tally, optional)
        # jsonschema reports `required` once per missing key, each error naming them all: count each once.
        missing: set[tuple[int, str]] = set()
        for error in self._validator.iter_errors(body):
            for difference in self._differences(error, optional):
                if difference.kind == "missing_key":
                    key = (id(error.instance), difference.path)
                    if key in missing:
                        continue
                    missing.add(key)
                tally.add(difference)

    # ---- unknown keys, and how many objects each path holds

    def _branch(self, schema: Schema, node: object) -> Schema:
        schema = self._spec.resolve(schema)
        for keyword in ("oneOf", "anyOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list):
                kind = json_type(node)
                for branch in branches:
                    resolved = self._spec.resolve(cast("Schema", branch))
                    declared = resolved.get("type")
                    if declared == kind or (declared == "number" and kind == "integer"):
                        return resolved
        return schema

    def _walk(self, node: object, schema: Schema, path: str, tally: Tally, optional: set[str]) -> None:
        schema = self._branch(schema, node)
        tally.seen[path] += 1
        if isinstance(node, dict):
            properties = schema.get("properties")
            if not isinstance(properties, Mapping):
                return
            required = schema.get("required", [])
            for key, value in node.items():
                child = f"{path}.{safe_token(key)}"
                if key not in properties:
                    tally.add(Difference("unknown_key", child, "", "tolerated"))
                    continue
                if key not in cast("list[str]", required):
                    optional.add(child)
                self._walk(value, cast("Schema", properties[key]), child, tally, optional)
        elif isinstance(node, list):
            items = schema.get("items")
            if isinstance(items, Mapping):
                for item in node:
                    self._walk(item, cast("Schema", items), f"{path}[]", tally, optional)

    # ---- what jsonschema finds

    def _differences(self, error: SchemaError, optional: set[str]) -> Iterator[Difference]:
        path = _collapse(error.absolute_path)
        keyword = error.validator
        schema = cast("Schema", error.schema) if isinstance(error.schema, Mapping) else {}
        instance: object = error.instance
        if keyword == "required":
            properties = cast("Mapping[str, Schema]", schema.get("properties", {}))
            present = instance if isinstance(instance, dict) else {}
            for key in cast("list[str]", error.validator_value):
                if key in present:
                    continue
                prop = properties.get(key, {})
                if prop.get(MAY_BE_ABSENT) is True:
                    yield Difference(
                        "missing_key", f"{path}.{key}", f"missing ({MAY_BE_ABSENT})", "tolerated"
                    )
                else:
                    yield Difference("missing_key", f"{path}.{key}", "", "breaks")
        elif keyword == "additionalProperties":
            return  # the walk reports unknown keys, with the same paths as everywhere else
        elif keyword == "type":
            yield self._type_difference(path, schema, instance, optional)
        elif keyword == "enum":
            yield Difference("enum", path, "", "tolerated", enum_value(instance))
        elif keyword == "const":
            yield Difference("constraint", path, "not the spec's constant", "breaks", enum_value(instance))
        elif keyword == "format":
            yield self._format_difference(path, cast("str", error.validator_value), instance)
        else:
            # Patterns, bounds, lengths: the SDK does not check them in answers.
            yield Difference("constraint", path, f"fails `{keyword}` of the spec", "tolerated")

    @staticmethod
    def _type_difference(path: str, schema: Schema, instance: object, optional: set[str]) -> Difference:
        expected = schema.get("type")
        wanted = expected if isinstance(expected, str) else " | ".join(cast("list[str]", expected))
        received = json_type(instance)
        if isinstance(instance, str) and _NUMERIC.fullmatch(instance):
            detail = f"expected {wanted}, got a numeric string"
            # Decimal fields read numeric strings exactly; plain numbers and integers do not.
            tolerated = schema.get("format") == "decimal"
            return Difference("type", path, detail, "tolerated" if tolerated else "breaks")
        if isinstance(instance, dict):
            keys = ", ".join(safe_token(k) for k in list(instance)[:6])
            if "_id" in instance and wanted == "string":
                # The SDK reads a populated reference as its `_id`.
                detail = f"expected {wanted}, got object {{{keys}}} (a populated reference)"
                return Difference("type", path, detail, "tolerated")
            return Difference("type", path, f"expected {wanted}, got object {{{keys}}}", "breaks")
        if instance is None and path in optional:
            # An optional field sent as null reads as absent.
            return Difference("type", path, f"expected {wanted}, got null", "tolerated")
        return Difference("type", path, f"expected {wanted}, got {received}", "breaks")

    @staticmethod
    def _format_difference(path: str, wanted: str, instance: object) -> Difference:
        spelled = "YYYY-MM-DD" if wanted == "date" else "ISO 8601"
        detail = f"expected {wanted} ({spelled}), got {_shape(instance)}"
        if wanted == "date" and isinstance(instance, str) and _IST_MIDNIGHT.search(instance):
            detail += " at 18:30 UTC (midnight in India: its UTC date is the day before)"
        if wanted == "date" and isinstance(instance, str) and _is_date_time(instance):
            # The SDK reads a date-time where a date is declared as its calendar date in India.
            return Difference("format", path, detail, "tolerated")
        return Difference("format", path, detail, "breaks")


def _collapse(parts: Iterable[object]) -> str:
    path = "$"
    for part in parts:
        path += "[]" if isinstance(part, int) else f".{safe_token(part)}"
    return path


@functools.cache
def _load(path: str) -> SpecDocument:
    with open(path, "rb") as fh:
        raw = fh.read()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader, C-accelerated where available
    return SpecDocument(document, hashlib.sha256(raw).hexdigest()[:12])


def load_spec_document(path: str | None = None) -> SpecDocument:
    """Return the spec the SDK was generated from (read once per process)."""
    if path is None:
        from books_async._spec import spec_path

        path = str(spec_path())
    return _load(path)

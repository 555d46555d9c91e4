"""`python -m codegen`: the committed `books_async/_generated/` is what the spec and templates give."""

from __future__ import annotations

import ast
import enum
import hashlib
import importlib
import inspect
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast, get_type_hints

import attrs
import pytest
import yaml

from books_async._extra import BooksModel
from books_async._types import NOT_GIVEN

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "books.yaml"
GENERATED = ROOT / "books_async" / "_generated"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Node = Mapping[str, object]


def run_codegen(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m codegen` from the repo root, as nox and developers do."""
    return subprocess.run(  # noqa: S603  # our own module, fixed arguments
        [sys.executable, "-m", "codegen", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def spec() -> Node:
    return cast("Node", yaml.safe_load(SPEC_PATH.read_bytes()))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    done = run_codegen("--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def operations(spec: Node) -> Iterator[tuple[str, str, Node]]:
    for path, item in cast("Mapping[str, Node]", spec["paths"]).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, cast("Node", item[method])


def test_codegen_output_matches_the_committed_files(regenerated: Path) -> None:
    """Regenerating from the committed spec gives the committed files, byte for byte, and no others."""
    committed = tree(GENERATED)
    fresh = tree(regenerated)
    assert sorted(fresh) == sorted(committed)
    drifted = [rel for rel in fresh if fresh[rel] != committed[rel]]
    assert drifted == [], "run `python -m codegen` and commit"


def test_codegen_twice_is_byte_identical(regenerated: Path, tmp_path: Path) -> None:
    """A second run into a fresh directory, and over its own output, changes nothing."""
    done = run_codegen("--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert tree(tmp_path) == tree(regenerated)
    again = run_codegen("--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "wrote" not in again.stdout
    assert tree(tmp_path) == tree(regenerated)


def test_codegen_check_passes_on_the_committed_tree() -> None:
    """`--check` exits 0 when nothing drifted."""
    done = run_codegen("--check")
    assert done.returncode == 0, done.stderr


def test_codegen_check_names_the_drifted_models_after_a_schema_change(tmp_path: Path) -> None:
    """A schema changed in a copy of the spec makes `--check` fail and name models.py."""
    data = cast("dict[str, dict[str, dict[str, dict[str, object]]]]", yaml.safe_load(SPEC_PATH.read_bytes()))
    pagination = cast("dict[str, dict[str, object]]", data["components"]["schemas"]["Pagination"])
    pagination["properties"]["codegen_probe"] = {"type": "string", "maxLength": 3}
    copy = tmp_path / "openapi" / "books.yaml"
    copy.parent.mkdir()
    copy.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    done = run_codegen("--check", "--spec", str(copy))
    assert done.returncode == 1
    assert "books_async/_generated/models.py" in done.stderr
    assert tree(GENERATED)  # --check wrote nothing: the committed tree is still there...
    assert run_codegen("--check").returncode == 0  # ...and still matches the real spec.


def test_codegen_check_names_missing_and_extra_files(tmp_path: Path) -> None:
    """A removed generated file is reported missing, a stray one extra."""
    out = tmp_path / "_generated"
    shutil.copytree(GENERATED, out, ignore=shutil.ignore_patterns("__pycache__"))
    (out / "resources" / "mobile.py").unlink()
    (out / "resources" / "stray.py").write_text("", encoding="utf-8")
    done = run_codegen("--check", "--out", str(out))
    assert done.returncode == 1
    assert re.search(r"missing: .*resources/mobile\.py", done.stderr)
    assert re.search(r"extra: .*resources/stray\.py", done.stderr)


def test_generated_files_start_with_the_spec_hash_header() -> None:
    """Line 1 of every generated file marks it generated and names the spec's hash."""
    digest = hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()[:12]
    expected = f"# GENERATED by `python -m codegen` from openapi/books.yaml (sha256 {digest}). DO NOT EDIT."
    for rel, data in tree(GENERATED).items():
        assert data.decode("utf-8").splitlines()[0] == expected, rel


def test_generated_modules_import() -> None:
    """Every generated module imports (annotations included: no forward reference is left unresolved)."""
    for rel in tree(GENERATED):
        parts = [p for p in Path(rel).with_suffix("").parts if p != "__init__"]
        module = importlib.import_module(".".join(["books_async", "_generated", *parts]))
        for obj in vars(module).values():
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and attrs.has(obj):
                get_type_hints(obj)


def test_generated_models_are_frozen_kw_only_attrs_classes() -> None:
    """Every class in models.py is a str Enum or `@attrs.define(frozen=True, kw_only=True)` attrs class."""
    source = (GENERATED / "models.py").read_text(encoding="utf-8")
    models = importlib.import_module("books_async._generated.models")
    classes = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]
    assert classes
    for node in classes:
        cls = getattr(models, node.name)
        if issubclass(cls, enum.Enum):
            assert [b.id for b in node.bases if isinstance(b, ast.Name)] == ["OpenEnum"], node.name
            assert all(isinstance(m.value, str) for m in cls), node.name
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        assert decorators == ["attrs.define(frozen=True, kw_only=True)"], node.name
        assert attrs.has(cls), node.name
        assert all(a.kw_only for a in attrs.fields(cls)), node.name


def test_generated_models_export_every_model_and_nothing_else() -> None:
    """`__all__` names every class and alias of models.py, so `import *` re-exports no imported helper."""
    models = importlib.import_module("books_async._generated.models")
    tree_ = ast.parse((GENERATED / "models.py").read_text(encoding="utf-8"))
    defined = {node.name for node in tree_.body if isinstance(node, ast.ClassDef)}
    defined |= {
        node.target.id
        for node in tree_.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert sorted(models.__all__) == sorted(defined)
    assert "dataclasses" not in (GENERATED / "models.py").read_text(encoding="utf-8")


def test_generated_models_have_no_any_or_float() -> None:
    """Money and rates are Decimal and free-form JSON is `object`: no `Any`, no `float` in any annotation."""
    source = (GENERATED / "models.py").read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign):
            annotation = ast.unparse(node.annotation)
            assert not re.search(r"\b(Any|float)\b", annotation), ast.unparse(node)


def _python_type(spec: Node, schema: Node) -> object:
    """The runtime class a scalar property schema should be annotated with, or None for non-scalars."""
    while "$ref" in schema:
        schema = cast(
            "Node",
            cast("Node", cast("Node", spec["components"])["schemas"])[str(schema["$ref"]).rsplit("/")[-1]],
        )
    kind, fmt = schema.get("type"), schema.get("format")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if "enum" in schema:
        return None
    if kind == "number":
        return Decimal
    if kind == "string" and fmt == "date":
        return date
    if kind == "string" and fmt == "date-time":
        return datetime
    return None


def test_generated_models_follow_the_spec_field_by_field(spec: Node) -> None:
    """Each object schema gives a class with a field per property: wire key, flags, pattern, bounds, type."""
    models = importlib.import_module("books_async._generated.models")
    schemas = cast("Mapping[str, Node]", cast("Node", spec["components"])["schemas"])
    seen_wire_renames: set[str] = set()
    checked = 0
    for name, schema in schemas.items():
        if schema.get("type") != "object" or "properties" not in schema:
            continue
        cls = getattr(models, name)
        hints = get_type_hints(cls)
        by_wire = {a.metadata.get("json", a.name): a for a in attrs.fields(cls)}
        assert issubclass(cls, BooksModel), name
        properties = cast("Mapping[str, Node]", schema["properties"])
        assert set(by_wire) == set(properties), name
        required = set(cast("list[str]", schema.get("required", [])))
        for wire, prop in properties.items():
            field = by_wire[wire]
            where = f"{name}.{wire}"
            if wire != field.name:
                assert field.metadata["json"] == wire, where
                seen_wire_renames.add(wire)
            target = prop
            if "$ref" in prop or "allOf" in prop:
                ref = prop.get("$ref") or cast("list[Node]", prop["allOf"])[0].get("$ref")
                target = {
                    **schemas[str(ref).rsplit("/")[-1]],
                    **{k: v for k, v in prop.items() if k != "allOf"},
                }
            assert field.metadata.get("read_only", False) is bool(prop.get("readOnly")), where
            assert field.metadata.get("write_only", False) is bool(prop.get("writeOnly")), where
            for key, meta in (
                ("pattern", "pattern"),
                ("minimum", "minimum"),
                ("maximum", "maximum"),
                ("exclusiveMinimum", "exclusive_minimum"),
                ("exclusiveMaximum", "exclusive_maximum"),
                ("minLength", "min_length"),
                ("maxLength", "max_length"),
                ("minItems", "min_items"),
                ("maxItems", "max_items"),
            ):
                if key in target:
                    assert field.metadata.get(meta) == target[key], f"{where} {meta}"
            expected = _python_type(spec, prop)
            if expected is not None:
                annotation = hints[field.name]
                assert expected in (annotation, *getattr(annotation, "__args__", ())), where
            assert field.metadata.get("expected", False) is bool(prop.get("x-may-be-absent")), where
            if prop.get("x-may-be-absent"):
                # Required in __init__ (so decoding can tell absent from sent), typed `X | None`.
                assert type(None) in getattr(hints[field.name], "__args__", ()), where
            if wire in required:
                assert field.default is attrs.NOTHING, f"{where} is required but has a default"
            else:
                assert field.default is not attrs.NOTHING, f"{where} is optional but has no default"
            checked += 1
    assert checked > 50
    # The wire names CONTEXT.md promises to rename, where the spec has them.
    assert {"_id", "createdAt"} <= seen_wire_renames


def test_generated_resources_have_one_async_method_per_operation(spec: Node) -> None:
    """Each operation is an async method named by its operationId on its tag's resource class."""
    resources = importlib.import_module("books_async._generated.resources")
    count = 0
    for method, path, op in operations(spec):
        tag = cast("list[str]", op["tags"])[0]
        cls = getattr(
            resources, "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", tag)) + "Resource"
        )
        name = str(op.get("x-method-name") or str(op["operationId"]).rsplit(".", 1)[-1])
        func = cls.__dict__.get(name)
        assert func is not None, f"{method} {path}: no {name}()"
        assert inspect.iscoroutinefunction(func), f"{method} {path}: {name}() is not async"
        params = list(inspect.signature(func).parameters.values())
        assert params[0].name == "self"
        assert params[-1].name == "max_retries"
        assert params[-1].kind is inspect.Parameter.KEYWORD_ONLY
        path_names = re.findall(r"{([^}]+)}", path)
        positional = [p.name for p in params[1:] if p.kind is inspect.Parameter.POSITIONAL_ONLY]
        assert positional == path_names + (["body"] if "requestBody" in op else []), f"{method} {path}"
        query = [
            str(resolved["name"])
            for raw in cast("list[Node]", op.get("parameters", []))
            if (resolved := _resolve(spec, raw))["in"] == "query"
        ]
        keyword = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        extras = {"extra_headers", "extra_query"} | ({"extra_body"} if "requestBody" in op else set())
        assert set(keyword) == {*query, *extras, "timeout", "max_retries"}, f"{method} {path}"
        assert all(p.default is None for p in params if p.name in extras)
        assert all(p.default is NOT_GIVEN for p in params if p.name in query and p.default is not p.empty)
        if "requestBody" in op:
            # The model a dict body is checked against: for a bulk `X | X[]` body, the item model X.
            body_schema = _resolve(spec, cast("Node", op["requestBody"]))["content"]["application/json"]
            refs = re.findall(r"#/components/schemas/(\w+)", str(body_schema))
            assert f"body_model={refs[0]}," in inspect.getsource(func), f"{method} {path}"
        count += 1
    assert count == 34


def _resolve(spec: Node, node: Node) -> Node:
    while "$ref" in node:
        target: object = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = cast("Node", target)[part]
        node = cast("Node", target)
    return node


def test_every_paged_list_gets_a_generated_iter_with_the_same_filters(spec: Node) -> None:
    """A GET with `page` and `limit` gets `iter()` taking its other query parameters, so a filter added to the
    spec reaches iter() too; nothing hand-written in books_async/resources/ defines one."""
    resources = importlib.import_module("books_async._generated.resources")
    hand_written = importlib.import_module("books_async.resources")
    paged = 0
    for method, _path, op in operations(spec):
        query = [
            str(resolved["name"])
            for raw in cast("list[Node]", op.get("parameters", []))
            if (resolved := _resolve(spec, raw))["in"] == "query"
        ]
        if method != "GET" or not {"page", "limit"} <= set(query):
            continue
        tag = cast("list[str]", op["tags"])[0]
        name = "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", tag))
        iter_fn = getattr(resources, name + "Resource").__dict__["iter"]
        keyword = [p.name for p in inspect.signature(iter_fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
        assert keyword == [
            *(q for q in query if q not in ("page", "limit")),
            "extra_headers",
            "extra_query",
            "timeout",
            "max_retries",
        ]
        assert "iter" not in getattr(hand_written, name).__dict__
        paged += 1
    assert paged == 6

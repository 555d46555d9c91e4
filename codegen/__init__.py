"""Generate `books_async/_generated/` from `openapi/books.yaml`.

Models come from datamodel-code-generator's dataclass output rendered through our attrs template
(`templates/models/dataclass.jinja2`); endpoint stubs come from our own Jinja2 templates
(`templates/resources/`), rendered straight from the spec. Ruff then removes unused imports, sorts
imports and formats everything, so the output is byte-identical for the same spec and tool versions.

`python -m codegen` writes the files; `python -m codegen --check` regenerates into a temporary
directory and names every file that drifted, is missing or is extra.
"""

from __future__ import annotations

import hashlib
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "openapi" / "books.yaml"
DEFAULT_OUT = ROOT / "books_async" / "_generated"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# What the header names: the spec's place in the repo, never the path we were handed, so a copy of
# the spec in a temporary tree (as `--check` tests use) produces the same text.
SPEC_NAME = "openapi/books.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Scalar parameter types in stub signatures (path parameters must come out as `str`). `format: decimal`
# numbers are money, quantities or rates, and are Decimal like in the models.
PRIMITIVES: Mapping[tuple[str, str | None], str] = {
    ("string", None): "str",
    ("string", "date"): "date",
    ("string", "date-time"): "datetime",
    ("string", "decimal"): "Decimal",
    ("number", "decimal"): "Decimal",
    ("number", None): "float",
    ("number", "float"): "float",
    ("number", "double"): "float",
    ("integer", None): "int",
    ("integer", "int32"): "int",
    ("integer", "int64"): "int",
    ("boolean", None): "bool",
}
DATAMODEL_CODEGEN_FLAGS = (
    "--input-file-type=openapi",
    "--output-model-type=dataclasses.dataclass",
    "--additional-imports=attrs,books_async._enums.OpenEnum,books_async._extra.BooksModel",
    # Vendor extensions the model template reads from `field.extras` (as x_may_be_absent, x_check).
    "--field-extra-keys",
    "x-may-be-absent",
    "x-check",
    "--frozen-dataclasses",
    "--keyword-only",
    "--target-python-version=3.11",
    "--snake-case-field",
    "--remove-special-field-name-prefix",
    "--output-datetime-class=datetime",
    "--use-union-operator",
    "--strict-nullable",
    "--deserialize-default-values",
    "enum",
    "decimal",
    "--field-constraints",
    "--use-schema-description",
    "--use-field-description",
    # The generator's plain `Enum`; templates/models/Enum.jinja2 makes each an OpenEnum (a StrEnum).
    "--no-use-specialized-enum",
    "--enum-field-as-literal=none",
    # `object`, not `Any`, for free-form JSON (STYLE.md §3: no Any; `disallow_any_explicit` is on).
    "--use-object-type",
    # Real annotations at run time: cattrs and the serde hooks read `attrs.fields(cls)[i].type`.
    "--disable-future-imports",
    "--disable-timestamp",
    # Explicit, because the default is changing; ruff runs afterwards on every generated file.
    "--formatters=builtin",
    # Drops the unused dataclasses import and adds __all__, by AST (codegen/_formatter.py).
    "--custom-formatters=codegen._formatter",
)
RUFF_CONFIG = (
    "--isolated",
    "--no-cache",
    "--target-version=py311",
    "--line-length=110",
    # Without this ruff decides first- vs third-party by looking for books_async next to the output,
    # which differs between the repo and a temporary directory.
    "--config=lint.isort.known-first-party=['books_async']",
)


class CodegenError(Exception):
    """The spec has a construct the generator will not guess about; the message names it."""


@dataclass(frozen=True)
class Param:
    """One path or query parameter, as a stub signature needs it."""

    wire: str
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Operation:
    """One spec operation, reduced to what a stub needs."""

    method_name: str
    http_method: str
    path: str
    doc: str
    path_params: list[Param]
    query_params: list[Param]
    body_type: str | None
    body_required: bool
    body_model: str | None
    return_type: str
    response_type: str | None
    returns_bytes: bool
    union_response: bool
    operation_id: str
    overloads: list[tuple[str, str]] = field(default_factory=list)
    """(body type, return type) per overload of a one-or-many operation (one in one out, many in many out)."""
    page_item: str | None = None
    """The item model of a paged list (a GET with `page` and `limit` answering `{"data": [X]}`): it gets an
    `iter()` that walks every page."""
    filters: list[Param] = field(default_factory=list)
    """A paged list's query parameters other than `page` and `limit`: what its `iter()` takes."""


@dataclass
class Resource:
    """One tag: a generated module holding one class."""

    tag: str
    module: str
    class_name: str
    description: str
    operations: list[Operation] = field(default_factory=list)
    model_names: set[str] = field(default_factory=set)
    needs: set[str] = field(default_factory=set)


def spec_digest(spec_bytes: bytes) -> str:
    """Return the first 12 hex digits of the spec's sha256, as every header shows it."""
    return hashlib.sha256(spec_bytes).hexdigest()[:12]


def header(spec_bytes: bytes) -> str:
    """Return the first line of every generated file."""
    digest = spec_digest(spec_bytes)
    return f"# GENERATED by `python -m codegen` from {SPEC_NAME} (sha256 {digest}). DO NOT EDIT."


def snake(name: str) -> str:
    """Turn `customerId`, `Customer-Id` or `customer id` into `customer_id`."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = name.strip("_").lower()
    if not name or name[0].isdigit():
        name = f"p_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def pascal(name: str) -> str:
    """Turn `invoices` or `bulk-action` into `Invoices` / `BulkAction`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)


def docstring(summary: str, description: str, indent: int) -> str:
    """Return a triple-quoted docstring literal, escaped, with continuation lines indented."""
    text = summary.strip()
    if description.strip():
        text = f"{text}\n\n{description.strip()}" if text else description.strip()
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    pad = " " * indent
    lines = [line.rstrip() for line in text.splitlines()]
    body = "\n".join(f"{pad}{line}" if line and i else line for i, line in enumerate(lines))
    if len(lines) > 1:
        body += f"\n{pad}"
    return f'"""{body}"""'


class SpecReader:
    """Read the operations out of an OpenAPI 3.1 document and type them with the generated model names."""

    def __init__(self, spec: Mapping[str, object]) -> None:
        self.spec = spec
        components = cast("Mapping[str, object]", spec.get("components") or {})
        self.schemas = cast("Mapping[str, Mapping[str, object]]", components.get("schemas") or {})

    def resolve(self, node: Mapping[str, object]) -> Mapping[str, object]:
        """Follow local `$ref`s (to responses, parameters, request bodies, ...) to the object itself."""
        seen: set[str] = set()
        while "$ref" in node:
            ref = str(node["$ref"])
            if not ref.startswith("#/") or ref in seen:
                raise CodegenError(f"unsupported or circular $ref {ref!r}")
            seen.add(ref)
            target: object = self.spec
            for part in ref[2:].split("/"):
                target = cast("Mapping[str, object]", target)[part.replace("~1", "/").replace("~0", "~")]
            node = cast("Mapping[str, object]", target)
        return node

    def py_type(self, schema: Mapping[str, object], where: str, res: Resource, *, list_name: str) -> str:
        """Return the Python annotation for a schema, naming generated models for `$ref`s to components."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            prefix = "#/components/schemas/"
            if not ref.startswith(prefix):
                raise CodegenError(f"{where}: $ref {ref!r} is not a component schema")
            name = ref[len(prefix) :]
            target = self.schemas.get(name)
            if target is None:
                raise CodegenError(f"{where}: $ref {ref!r} does not exist")
            if not name.isidentifier() or keyword.iskeyword(name):
                raise CodegenError(f"{where}: schema name {name!r} is not a Python class name; rename it")
            # A scalar alias such as ObjectId is `str` in a signature; models and enums keep their name.
            kinds = target.get("type")
            kinds = set(kinds) if isinstance(kinds, list) else {kinds}
            if (
                "enum" not in target
                and kinds
                and kinds <= {"string", "number", "integer", "boolean", "array", "null"}
            ):
                return self.py_type(target, where, res, list_name=list_name)
            res.model_names.add(name)
            return name
        for key in ("oneOf", "anyOf"):
            variants = schema.get(key)
            if isinstance(variants, list):
                parts: list[str] = []
                for i, variant in enumerate(variants):
                    text = self.py_type(variant, f"{where}.{key}[{i}]", res, list_name=list_name)
                    if text not in parts:
                        parts.append(text)
                return " | ".join(parts)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            return self.py_type(all_of[0], f"{where}.allOf[0]", res, list_name=list_name)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            if len(non_null) != 1:
                raise CodegenError(f"{where}: type {kind!r} has more than one non-null type")
            inner = self.py_type({**schema, "type": non_null[0]}, where, res, list_name=list_name)
            return f"{inner} | None" if "null" in kind else inner
        if kind == "array":
            items = schema.get("items")
            if not isinstance(items, Mapping):
                raise CodegenError(f"{where}: array without items")
            return f"{list_name}[{self.py_type(items, f'{where}.items', res, list_name=list_name)}]"
        if kind == "object" or "properties" in schema:
            raise CodegenError(f"{where}: inline object schema; move it to components/schemas and $ref it")
        if "enum" in schema:
            raise CodegenError(f"{where}: inline enum; move it to components/schemas and $ref it")
        fmt = schema.get("format")
        kind_format = (str(kind), str(fmt) if fmt is not None else None)
        py = PRIMITIVES.get(kind_format) or PRIMITIVES.get((str(kind), None))
        if py is None:
            raise CodegenError(f"{where}: cannot type schema {dict(schema)!r}")
        if py in ("date", "datetime", "Decimal"):
            res.needs.add(py)
        return py

    def body_model(self, schema: Mapping[str, object], res: Resource) -> str | None:
        """Return the model a request body is checked against: the body's model, or a bulk body's item.

        `None` when the body names no model, or several (a dict body then has nothing to be checked by).
        """
        names: set[str] = set()
        pending = [schema]
        while pending:
            node = pending.pop()
            ref = node.get("$ref")
            if isinstance(ref, str):
                names.add(ref.rsplit("/", 1)[-1])
            for key in ("oneOf", "anyOf", "allOf"):
                pending.extend(cast("list[Mapping[str, object]]", node.get(key) or []))
            items = node.get("items")
            if isinstance(items, Mapping):
                pending.append(items)
        # A $ref to a scalar alias (typed `str` in signatures) is not a model.
        models = names & res.model_names
        return models.pop() if len(names) == 1 and models else None

    def page_item(self, schema: Mapping[str, object], res: Resource) -> str | None:
        """Return X when ``schema`` is (a $ref to) an object whose `data` is an array of the model X."""
        resolved = self.resolve(schema)
        properties = cast("Mapping[str, Mapping[str, object]]", resolved.get("properties") or {})
        items = cast("Mapping[str, object]", (properties.get("data") or {}).get("items") or {})
        ref = items.get("$ref")
        if not isinstance(ref, str):
            return None
        name = ref.rsplit("/", 1)[-1]
        res.model_names.add(name)  # iter()'s annotation imports it
        return name

    @staticmethod
    def one_or_many(schema: Mapping[str, object]) -> Mapping[str, object] | None:
        """Return X when ``schema`` is `X` or an array of X (a bulk body or answer), else None."""
        variants = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(variants, list) or len(variants) != 2:
            return None
        for one, many in (variants, variants[::-1]):
            if isinstance(many, Mapping) and many.get("type") == "array" and many.get("items") == one:
                return cast("Mapping[str, object]", one)
        return None

    def operations(self) -> Iterator[tuple[str, str, Mapping[str, object], list[object]]]:
        """Yield (method, path, operation, path-level parameters) in spec order."""
        paths = cast("Mapping[str, Mapping[str, object]]", self.spec.get("paths") or {})
        for path, item in paths.items():
            shared = cast("list[object]", item.get("parameters") or [])
            for method in HTTP_METHODS:
                if method in item:
                    yield method, path, cast("Mapping[str, object]", item[method]), shared

    def resources(self) -> list[Resource]:
        """Group the operations by their first tag into resources, in spec order."""
        tag_docs = {
            str(t["name"]): str(t.get("description") or "")
            for t in cast("list[Mapping[str, object]]", self.spec.get("tags") or [])
        }
        by_tag: dict[str, Resource] = {}
        # Which builtins a tag's method names shadow inside its class body, known before typing any of them.
        self.shadowing: dict[str, set[str]] = {}
        for _method, _path, op, _shared in self.operations():
            tags = cast("list[str]", op.get("tags") or [""])
            self.shadowing.setdefault(tags[0], set()).add(self.method_name(op))
        for method, path, op, shared in self.operations():
            where = f"{method.upper()} {path}"
            tags = cast("list[str]", op.get("tags") or [])
            if not tags:
                raise CodegenError(f"{where}: no tags; the first tag names the resource")
            tag = tags[0]
            res = by_tag.get(tag)
            if res is None:
                res = by_tag[tag] = Resource(
                    tag=tag,
                    module=snake(tag),
                    class_name=f"{pascal(tag)}Resource",
                    description=tag_docs.get(tag, ""),
                )
            res.operations.append(self.operation(method, path, op, shared, res))
        for res in by_tag.values():
            names = [o.method_name for o in res.operations]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise CodegenError(f"tag {res.tag!r}: method names {dupes} are used twice; set x-method-name")
        return list(by_tag.values())

    @staticmethod
    def method_name(op: Mapping[str, object]) -> str:
        """Return `x-method-name`, else the operationId's last dotted segment (`invoices.list` -> `list`)."""
        return str(op.get("x-method-name") or str(op.get("operationId") or "").rsplit(".", 1)[-1])

    def operation(
        self, method: str, path: str, op: Mapping[str, object], shared: list[object], res: Resource
    ) -> Operation:
        """Reduce one operation to a stub's signature and call."""
        where = f"{method.upper()} {path}"
        op_id = str(op.get("operationId") or "")
        name = self.method_name(op)
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise CodegenError(f"{where}: operationId {op_id!r} gives no usable method name")
        # Annotations inside a class that defines `list` would name the method, not the builtin.
        list_name = "builtins.list" if "list" in self.shadowing[res.tag] else "list"
        if list_name != "list":
            res.needs.add("builtins")
        params: dict[tuple[str, str], Mapping[str, object]] = {}
        for raw in [*shared, *cast("list[object]", op.get("parameters") or [])]:
            param = self.resolve(cast("Mapping[str, object]", raw))
            params[(str(param["in"]), str(param["name"]))] = param
        path_params: list[Param] = []
        query_params: list[Param] = []
        for (location, wire), param in params.items():
            schema = cast("Mapping[str, object]", param.get("schema") or {})
            py_name = snake(wire)
            if py_name in ("self", "body", "timeout"):
                raise CodegenError(f"{where}: parameter {wire!r} collides with a stub argument")
            if location == "path":
                if not wire.isidentifier() or keyword.iskeyword(wire):
                    raise CodegenError(f"{where}: path parameter {wire!r} must be a Python identifier")
                py = self.py_type(schema, f"{where} path {wire}", res, list_name=list_name)
                if py != "str":
                    raise CodegenError(f"{where}: path parameter {wire!r} must be a string, not {py}")
                path_params.append(Param(wire, py_name, py, required=True))
            elif location == "query":
                py = self.py_type(schema, f"{where} query {wire}", res, list_name=list_name)
                query_params.append(Param(wire, py_name, py, required=bool(param.get("required"))))
            # Header and cookie parameters (the API key) are the transport's business, not a stub's.
        in_path = re.findall(r"{([^}]+)}", path)
        if sorted(in_path) != sorted(p.wire for p in path_params):
            raise CodegenError(f"{where}: path template names {in_path}, parameters declare others")
        path_params.sort(key=lambda p: in_path.index(p.wire))

        body_type: str | None = None
        body_required = False
        body_model: str | None = None
        body_schema: Mapping[str, object] = {}
        if "requestBody" in op:
            body = self.resolve(cast("Mapping[str, object]", op["requestBody"]))
            content = cast("Mapping[str, Mapping[str, object]]", body.get("content") or {})
            if list(content) != ["application/json"]:
                raise CodegenError(
                    f"{where}: request body must be application/json only, got {list(content)}"
                )
            body_schema = schema = cast(
                "Mapping[str, object]", content["application/json"].get("schema") or {}
            )
            body_type = self.py_type(schema, f"{where} body", res, list_name="Sequence")
            if "Sequence[" in body_type:
                res.needs.add("Sequence")
            body_required = bool(body.get("required"))
            body_model = self.body_model(schema, res)

        responses = cast("Mapping[str, object]", op.get("responses") or {})
        ok = sorted(code for code in map(str, responses) if code.startswith("2"))
        if not ok:
            raise CodegenError(f"{where}: no 2xx response")
        response = self.resolve(cast("Mapping[str, object]", responses[ok[0]]))
        content = cast("Mapping[str, Mapping[str, object]]", response.get("content") or {})
        returns_bytes = False
        overloads: list[tuple[str, str]] = []
        if not content:
            return_type, response_type = "None", "None"
        elif list(content) == ["application/json"]:
            schema = cast("Mapping[str, object]", content["application/json"].get("schema") or {})
            return_type = self.py_type(schema, f"{where} {ok[0]} response", res, list_name=list_name)
            response_type = return_type
            one_in, one_out = self.one_or_many(body_schema), self.one_or_many(schema)
            if one_in is not None and one_out is not None:
                # One in gives one out, a list in a list out: worth an overload, so callers need no cast.
                body_one = self.py_type(one_in, f"{where} body", res, list_name="Sequence")
                answer_one = self.py_type(one_out, f"{where} {ok[0]} response", res, list_name=list_name)
                overloads = [(body_one, answer_one), (f"Sequence[{body_one}]", f"{list_name}[{answer_one}]")]
                res.needs.add("overload")
        elif all(kind in ("application/pdf", "application/octet-stream") for kind in content):
            return_type, response_type, returns_bytes = "bytes", None, True
            if query_params:
                raise CodegenError(f"{where}: a PDF operation with query parameters has no `_stream` twin")
            res.needs.add("stream")
        else:
            raise CodegenError(f"{where}: {ok[0]} response content {list(content)} is not JSON or PDF")

        union_response = response_type is not None and " | " in response_type
        if union_response:
            res.needs.add("cast")
        page_item: str | None = None
        filters: list[Param] = []
        if method == "get" and {"page", "limit"} <= {p.wire for p in query_params} and content:
            answer_schema = cast("Mapping[str, object]", content["application/json"].get("schema"))
            page_item = self.page_item(answer_schema, res)
            filters = [p for p in query_params if p.wire not in ("page", "limit")]
            if page_item is not None:
                res.needs.add("iter")
        summary = str(op.get("summary") or "")
        description = str(op.get("description") or "")
        return Operation(
            method_name=name,
            http_method=method.upper(),
            path=path,
            doc=docstring(summary or op_id, description, 8),
            path_params=path_params,
            query_params=query_params,
            body_type=body_type,
            body_required=body_required,
            body_model=body_model,
            return_type=return_type,
            response_type=response_type,
            returns_bytes=returns_bytes,
            union_response=union_response,
            operation_id=op_id,
            overloads=overloads,
            page_item=page_item,
            filters=filters,
        )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(  # noqa: S701  # renders Python source, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES / "resources"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pyrepr"] = repr
    env.filters["kwarg"] = lambda wire: f"{wire}={snake(wire)}"
    env.filters["param_item"] = lambda p: f"{p.wire!r}: {p.name}"
    env.filters["pydoc"] = lambda text, indent: docstring(str(text), "", indent)
    return env


def render_resources(spec: Mapping[str, object], spec_bytes: bytes) -> dict[str, str]:
    """Render `resources/__init__.py` and one module per tag."""
    resources = SpecReader(spec).resources()
    env = _environment()
    files: dict[str, str] = {}
    for res in resources:
        files[f"resources/{res.module}.py"] = env.get_template("resource.py.jinja2").render(
            header=header(spec_bytes), res=res, models=sorted(res.model_names), needs=sorted(res.needs)
        )
    files["resources/__init__.py"] = env.get_template("__init__.py.jinja2").render(
        header=header(spec_bytes), resources=sorted(resources, key=lambda r: r.module)
    )
    files["__init__.py"] = env.get_template("package.py.jinja2").render(header=header(spec_bytes))
    return files


def render_models(spec_bytes: bytes, workdir: Path) -> str:
    """Run datamodel-code-generator with our attrs template and return models.py's text."""
    output = workdir / "models.py"
    # A private copy: the generator may read config next to its input, and must not see the repo's.
    spec_copy = workdir / "books.yaml"
    spec_copy.write_bytes(spec_bytes)
    cmd = [
        sys.executable,
        "-m",
        "datamodel_code_generator",
        f"--input={spec_copy}",
        f"--output={output}",
        f"--custom-template-dir={TEMPLATES / 'models'}",
        f"--custom-file-header={header(spec_bytes)}",
        *DATAMODEL_CODEGEN_FLAGS,
    ]
    # The custom formatter is imported by module name, so the repo root must be importable (pitfall 7).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not output.exists():
        raise CodegenError(f"datamodel-codegen failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    # Its warnings are about the spec (e.g. a construct it could not type): pass them on, never hide them.
    sys.stderr.write(done.stderr)
    text = output.read_text(encoding="utf-8")
    # The generator only warns when a template renders unparsable code, so prove it parses here.
    compile(text, "models.py", "exec")
    return text


def ruff(directory: Path) -> None:
    """Drop unused imports, sort imports and format every file under `directory`, ignoring any config."""
    base = [sys.executable, "-m", "ruff"]
    steps = (
        [*base, "check", "--fix", "--select=F401,I", "--quiet", "--exit-zero", *RUFF_CONFIG, str(directory)],
        [*base, "format", "--quiet", *RUFF_CONFIG, str(directory)],
    )
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CodegenError(f"{' '.join(cmd[2:4])} failed:\n{done.stderr}{done.stdout}")


def generate(spec_path: Path) -> dict[str, bytes]:
    """Return every generated file, keyed by its path relative to `books_async/_generated/`."""
    spec_bytes = spec_path.read_bytes()
    spec = yaml.safe_load(spec_bytes)
    if not isinstance(spec, Mapping):
        raise CodegenError(f"{spec_path}: not an OpenAPI document")
    with tempfile.TemporaryDirectory(prefix="books-codegen-") as tmp:
        work = Path(tmp) / "work"
        out = Path(tmp) / "out"
        work.mkdir()
        (out / "resources").mkdir(parents=True)
        (out / "models.py").write_text(render_models(spec_bytes, work), encoding="utf-8")
        # --- fast decode path (codegen/fast_decode.py): mirrors generated from the models just written.
        from codegen.fast_decode import render_fast  # keeps the hook to these lines

        models_text = (out / "models.py").read_text(encoding="utf-8")
        (out / "fast.py").write_text(render_fast(models_text, header(spec_bytes)), encoding="utf-8")
        # --- end fast decode path
        for rel, text in render_resources(spec, spec_bytes).items():
            (out / rel).write_text(text, encoding="utf-8")
        ruff(out)
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.py"))}


def existing(out: Path) -> dict[str, bytes]:
    """Return the generated-looking files now under `out` (every .py outside caches)."""
    if not out.is_dir():
        return {}
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def write(files: Mapping[str, bytes], out: Path) -> list[str]:
    """Make `out` hold exactly `files`; return the relative paths changed, added or removed."""
    current = existing(out)
    changed: list[str] = []
    for rel in sorted(set(current) - set(files)):
        (out / rel).unlink()
        changed.append(rel)
    for rel, data in files.items():
        if current.get(rel) != data:
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            changed.append(rel)
    for cache in sorted(out.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return sorted(changed)


def drift(files: Mapping[str, bytes], out: Path) -> list[tuple[str, str]]:
    """Compare `files` with what is under `out`: (relative path, "drifted" | "missing" | "extra")."""
    current = existing(out)
    report = [(rel, "missing") for rel in files if rel not in current]
    report += [(rel, "drifted") for rel in files if rel in current and current[rel] != files[rel]]
    report += [(rel, "extra") for rel in current if rel not in files]
    return sorted(report)

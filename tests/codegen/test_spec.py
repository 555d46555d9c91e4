"""The spec itself: valid OpenAPI 3.1, the API's 34 operations, the promised errors, readable by others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from openapi_spec_validator import validate

from tests.codegen.walk import SPEC_PATH, Node, operations, resolve

# From the vendor's reference (shared/reference/books-api-reference.txt), base URL /api/v1.
EXPECTED_OPERATIONS = {
    # invoices (9)
    ("GET", "/books/invoices"),
    ("POST", "/books/invoices"),
    ("POST", "/books/invoices/bulk-action"),
    ("GET", "/books/invoices/{id}"),
    ("PATCH", "/books/invoices/{id}"),
    ("DELETE", "/books/invoices/{id}"),
    ("GET", "/books/invoices/{id}/pdf"),
    ("POST", "/books/invoices/{id}/send"),
    ("POST", "/books/invoices/{id}/payments"),
    # quotes (6)
    ("GET", "/books/quotes"),
    ("POST", "/books/quotes"),
    ("GET", "/books/quotes/{id}"),
    ("GET", "/books/quotes/{id}/pdf"),
    ("POST", "/books/quotes/{id}/send"),
    ("POST", "/books/quotes/{id}/convert"),
    # customers (3)
    ("GET", "/books/customers"),
    ("POST", "/books/customers"),
    ("GET", "/books/customers/{id}"),
    # products (5)
    ("GET", "/books/products"),
    ("POST", "/books/products"),
    ("GET", "/books/products/{id}"),
    ("PATCH", "/books/products/{id}"),
    ("DELETE", "/books/products/{id}"),
    # services (5)
    ("GET", "/books/services"),
    ("POST", "/books/services"),
    ("GET", "/books/services/{id}"),
    ("PATCH", "/books/services/{id}"),
    ("DELETE", "/books/services/{id}"),
    # orgs (3)
    ("GET", "/orgs"),
    ("GET", "/orgs/{id}"),
    ("PATCH", "/orgs/{id}"),
    # validate (2)
    ("GET", "/books/validate"),
    ("POST", "/books/validate"),
    # mobile (1)
    ("GET", "/books/mobile/dashboard"),
}


def test_spec_is_valid_openapi_3_1(spec: Node) -> None:
    """openapi-spec-validator accepts the document, and it declares OpenAPI 3.1."""
    assert str(spec["openapi"]).startswith("3.1")
    validate(spec)


def test_spec_has_exactly_the_34_reference_operations(spec: Node) -> None:
    """Every endpoint of the vendor's reference is described once, and nothing else is."""
    found = [(method, path) for method, path, _ in operations(spec)]
    assert len(found) == len(set(found))
    assert set(found) - EXPECTED_OPERATIONS == set(), "operations the reference does not list"
    assert EXPECTED_OPERATIONS - set(found) == set(), "reference operations missing from the spec"
    assert len(found) == 34


def test_spec_operation_ids_are_unique_and_name_their_tag(spec: Node) -> None:
    """operationIds are `<tag>.<method>`: the tag names the resource class, the rest its method."""
    ids = [str(op.get("operationId")) for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(spec):
        tags = cast("list[str]", op.get("tags"))
        assert tags, f"{method} {path} has no tag"
        tag, _, name = str(op["operationId"]).rpartition(".")
        assert tag == tags[0], (
            f"{method} {path}: operationId {op['operationId']!r} is not under tag {tags[0]!r}"
        )
        assert name.isidentifier(), f"{method} {path}: {name!r} is no Python method name"


def test_spec_every_operation_declares_auth_and_rate_limit_errors(spec: Node) -> None:
    """401, 403 and 429 can happen on any call, so every operation says so."""
    for method, path, op in operations(spec):
        responses = cast("Node", op["responses"])
        missing = {"401", "403", "429"} - set(map(str, responses))
        assert not missing, f"{method} {path} lacks {sorted(missing)}"


def test_spec_every_write_declares_validation_and_size_errors(spec: Node) -> None:
    """Every POST/PATCH can fail validation (400); every request body can be too large (413)."""
    for method, path, op in operations(spec):
        codes = set(map(str, cast("Node", op["responses"])))
        if method in ("POST", "PATCH"):
            assert "400" in codes, f"{method} {path} lacks 400"
        if "requestBody" in op:
            assert "413" in codes, f"{method} {path} has a body but lacks 413"


def test_spec_every_operation_on_an_id_declares_not_found(spec: Node) -> None:
    """An operation addressed by `{id}` answers 404 for an id that does not exist."""
    for method, path, op in operations(spec):
        if "{id}" in path:
            assert "404" in set(map(str, cast("Node", op["responses"]))), f"{method} {path} lacks 404"


def _json_schema(spec: Node, response: Node) -> Node:
    content = cast("Mapping[str, Node]", resolve(spec, response)["content"])
    return resolve(spec, cast("Node", content["application/json"]["schema"]))


def test_spec_error_bodies_carry_details_and_retry_after(spec: Node) -> None:
    """400 bodies carry `details` (Zod issues); 429 bodies carry `retryAfter` seconds."""
    for method, path, op in operations(spec):
        responses = cast("Mapping[str, Node]", op["responses"])
        limited = _json_schema(spec, responses["429"])
        assert "retryAfter" in cast("list[str]", limited["required"]), (
            f"{method} {path}: 429 lacks retryAfter"
        )
        for code in ("401", "403", "404", "413"):
            if code in responses:
                body = _json_schema(spec, responses[code])
                assert {"error", "message"} <= set(cast("list[str]", body["required"])), (
                    f"{method} {path} {code}"
                )
        if "400" in responses:
            invalid = _json_schema(spec, responses["400"])
            assert "details" in cast("Node", invalid["properties"]), f"{method} {path}: 400 lacks details"


def test_spec_generates_cleanly_with_openapi_python_client(tmp_path: Path) -> None:
    """A third-party generator reads the whole spec without a warning, so nothing in it is exotic."""
    bindir = str(Path(sys.executable).parent)
    exe = shutil.which("openapi-python-client", path=bindir) or shutil.which("openapi-python-client")
    assert exe is not None, "openapi-python-client is in the test dependency group"
    # It has no PDF response type of its own; this maps PDFs onto its binary (`File`) support.
    config = tmp_path / "opc.yaml"
    config.write_text(
        "content_type_overrides:\n  application/pdf: application/octet-stream\n", encoding="utf-8"
    )
    out = tmp_path / "client"
    # Its ruff post-hook must find the ruff of this environment, or it prints that it skipped it.
    env = {**os.environ, "PATH": os.pathsep.join([bindir, os.environ.get("PATH", "")])}
    done = subprocess.run(  # noqa: S603  # fixed arguments
        [
            exe,
            "generate",
            "--path",
            str(SPEC_PATH),
            "--output-path",
            str(out),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    assert (out / "api").is_dir()

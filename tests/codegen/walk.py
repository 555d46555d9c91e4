"""The spec as the codegen tests read it: where it is, its operations in document order, and `$ref`s."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "books.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Node = Mapping[str, object]


def load_spec() -> Node:
    """The committed spec, parsed."""
    return cast("Node", yaml.safe_load(SPEC_PATH.read_bytes()))


def operations(spec: Node) -> Iterator[tuple[str, str, Node]]:
    """(METHOD, path, operation) of every operation of ``spec``."""
    for path, item in cast("Mapping[str, Node]", spec["paths"]).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, cast("Node", item[method])


def resolve(spec: Node, node: Node) -> Node:
    """Follow local `$ref`s to the object they name."""
    while "$ref" in node:
        target: object = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = cast("Node", target)[part]
        node = cast("Node", target)
    return node

"""The spec as the codegen tests read it: where it is, and its operations walked in document order."""

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

"""Fixtures of the spec and generator tests."""

from __future__ import annotations

import pytest

from tests.codegen.walk import Node, load_spec


@pytest.fixture(scope="module")
def spec() -> Node:
    """The committed spec, parsed once per module."""
    return load_spec()

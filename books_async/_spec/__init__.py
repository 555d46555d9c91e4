"""Where the OpenAPI spec is: the repo's `openapi/books.yaml` in a checkout, else the copy in the wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["spec_path"]

_CHECKOUT_SPEC = Path(__file__).resolve().parents[2] / "openapi" / "books.yaml"


def spec_path() -> Path:
    """Return the path of `books.yaml`, the one source of truth for wire shapes and operations.

    A checkout (editable install or tests run from the repo) reads the spec being edited, so a
    change shows up without a rebuild. An installed wheel reads the copy hatch force-includes
    as `books_async/_spec/books.yaml`.

    Raises:
        FileNotFoundError: neither copy exists (a wheel built without the spec).
    """
    if _CHECKOUT_SPEC.is_file() and (_CHECKOUT_SPEC.parents[1] / "pyproject.toml").is_file():
        return _CHECKOUT_SPEC
    packaged = Path(str(resources.files(__package__ or __name__) / "books.yaml"))
    if not packaged.is_file():
        raise FileNotFoundError(f"books.yaml is neither at {_CHECKOUT_SPEC} nor at {packaged}")
    return packaged

"""Module docstrings state the job and the invariant, in at most 30 lines; rationale lives in docs/design/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "books_async"
MAX_LINES = 30


def _hand_written() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_generated" not in p.relative_to(PACKAGE).parts)


def _docstring_lines(path: Path) -> int:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    return len(doc.splitlines()) if doc else 0


@pytest.mark.parametrize("path", _hand_written(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_module_docstring_is_at_most_30_lines(path: Path) -> None:
    """A hand-written module's docstring fits in 30 lines; rationale and measurements live in docs/design/."""
    name = path.relative_to(PACKAGE).as_posix()
    lines = _docstring_lines(path)
    assert lines <= MAX_LINES, f"{name}: {lines} docstring lines; move the rationale to docs/design/"

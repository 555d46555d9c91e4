"""A datamodel-code-generator `--custom-formatters` module: finishes models.py by looking at its AST.

- Removes the `from dataclasses import ...` line the dataclass output type always writes (our template
  turns every class into attrs, so nothing uses it).
- Adds a sorted `__all__` of the module's classes and type aliases, so `books_async/models.py` can
  re-export them with `import *` without also exporting `attrs`, `Decimal` and the like.

Edits are made at the line positions the AST reports, never by pattern-matching source text.
"""

from __future__ import annotations

import ast

from datamodel_code_generator.format import CustomCodeFormatter

__all__ = ["CodeFormatter", "finish_models"]


def finish_models(code: str) -> str:
    """Return `code` without its dataclasses import and with an `__all__` after the imports."""
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    drop: set[int] = set()
    exported: list[str] = []
    last_import = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last_import = node.end_lineno or node.lineno
            if isinstance(node, ast.ImportFrom) and node.module == "dataclasses":
                drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.ClassDef):
            exported.append(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            exported.append(node.target.id)  # `ObjectId: TypeAlias = str`
        elif isinstance(node, ast.Assign):
            exported.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    names = sorted(name for name in exported if not name.startswith("_"))
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number not in drop:
            out.append(line)
        if number == last_import:
            out.append(f"\n__all__ = {names!r}\n")
    return "".join(out)


class CodeFormatter(CustomCodeFormatter):
    """The hook datamodel-code-generator loads by module name (`--custom-formatters codegen._formatter`)."""

    def apply(self, code: str) -> str:
        return finish_models(code)

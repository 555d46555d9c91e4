"""Generate `books_async/_generated/` from `openapi/books.yaml`.

Models come from datamodel-code-generator's dataclass output rendered through our attrs template
(`templates/models/dataclass.jinja2`); endpoint stubs come from our own Jinja2 templates
(`templates/resources/`), rendered straight from the spec, and so do `params.py`, a TypedDict per
request body (`templates/params/`), `schemas.py`, each model's JSON schema (`templates/schemas/`), and
`fast.py`, msgspec mirrors of the models for the fast decode path (`templates/fast/`).
Ruff then removes unused imports, sorts imports and formats everything, so the output is
byte-identical for the same spec and tool versions.

The parts: `_common` (paths, header, names), `_reader` (spec → resources and operations), `_models`
(the datamodel-code-generator run), `_stubs`, `_params`, `_schemas` and `_fast` (Jinja2 rendering), `_files`
(ruff, write, drift), `__main__` (the CLI).

`python -m codegen` writes the files; `python -m codegen --check` regenerates into a temporary
directory and names every file that drifted, is missing or is extra.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from codegen._common import DEFAULT_OUT, DEFAULT_SPEC, CodegenError, header
from codegen._fast import render_fast
from codegen._files import drift, ruff, write
from codegen._models import render_models
from codegen._schemas import render_schemas
from codegen._stubs import render_resources

__all__ = ["DEFAULT_OUT", "DEFAULT_SPEC", "CodegenError", "drift", "generate", "write"]


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
        (out / "schemas.py").write_text(render_schemas(spec, spec_bytes), encoding="utf-8")
        # The fast decode path's mirrors are generated from the models just written, so they cannot drift.
        models_text = (out / "models.py").read_text(encoding="utf-8")
        (out / "fast.py").write_text(render_fast(models_text, header(spec_bytes)), encoding="utf-8")
        for rel, text in render_resources(spec, spec_bytes).items():
            (out / rel).write_text(text, encoding="utf-8")
        ruff(out)
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.py"))}

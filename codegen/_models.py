"""Run datamodel-code-generator with our attrs template (`templates/models/`) to produce `models.py`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from codegen._common import ROOT, TEMPLATES, CodegenError, header

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

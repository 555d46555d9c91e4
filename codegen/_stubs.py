"""Render the endpoint stubs (`resources/<tag>.py`, both `__init__.py`s) and `params.py` with Jinja2."""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from codegen._common import TEMPLATES, docstring, header, param_name, snake
from codegen._params import param_classes
from codegen._reader import SpecReader


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(  # noqa: S701  # renders Python source, not HTML
        loader=jinja2.FileSystemLoader([TEMPLATES / "resources", TEMPLATES / "params"]),
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
    """Render `resources/__init__.py`, one module per tag, and `params.py` (the bodies' TypedDicts)."""
    reader = SpecReader(spec)
    resources = reader.resources()
    env = _environment()
    files: dict[str, str] = {}
    for res in resources:
        files[f"resources/{res.module}.py"] = env.get_template("resource.py.jinja2").render(
            header=header(spec_bytes),
            res=res,
            models=sorted(res.model_names),
            params=sorted(param_name(name) for name in res.param_names),
            needs=sorted(res.needs),
        )
    classes, needs, enums = param_classes(reader, reader.body_models)
    files["params.py"] = env.get_template("params.py.jinja2").render(
        header=header(spec_bytes), classes=classes, needs=sorted(needs), enums=sorted(enums)
    )
    files["resources/__init__.py"] = env.get_template("__init__.py.jinja2").render(
        header=header(spec_bytes), resources=sorted(resources, key=lambda r: r.module)
    )
    files["__init__.py"] = env.get_template("package.py.jinja2").render(header=header(spec_bytes))
    return files

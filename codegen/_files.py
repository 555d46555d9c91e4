"""Finish and place the output: ruff over the generated tree, then write it or report drift against `out`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from codegen._common import CodegenError

RUFF_CONFIG = (
    "--isolated",
    "--no-cache",
    "--target-version=py311",
    "--line-length=110",
    # Without this ruff decides first- vs third-party by looking for books_async next to the output,
    # which differs between the repo and a temporary directory.
    "--config=lint.isort.known-first-party=['books_async']",
)


def ruff(directory: Path) -> None:
    """Drop unused imports, sort imports and format every file under `directory`, ignoring any config."""
    base = [sys.executable, "-m", "ruff"]
    steps = (
        [*base, "check", "--fix", "--select=F401,I", "--quiet", "--exit-zero", *RUFF_CONFIG, str(directory)],
        [*base, "format", "--quiet", *RUFF_CONFIG, str(directory)],
    )
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CodegenError(f"{' '.join(cmd[2:4])} failed:\n{done.stderr}{done.stdout}")


def existing(out: Path) -> dict[str, bytes]:
    """Return the generated-looking files now under `out` (every .py outside caches)."""
    if not out.is_dir():
        return {}
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def write(files: Mapping[str, bytes], out: Path) -> list[str]:
    """Make `out` hold exactly `files`; return the relative paths changed, added or removed."""
    current = existing(out)
    changed: list[str] = []
    for rel in sorted(set(current) - set(files)):
        (out / rel).unlink()
        changed.append(rel)
    for rel, data in files.items():
        if current.get(rel) != data:
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            changed.append(rel)
    for cache in sorted(out.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return sorted(changed)


def drift(files: Mapping[str, bytes], out: Path) -> list[tuple[str, str]]:
    """Compare `files` with what is under `out`: (relative path, "drifted" | "missing" | "extra")."""
    current = existing(out)
    report = [(rel, "missing") for rel in files if rel not in current]
    report += [(rel, "drifted") for rel in files if rel in current and current[rel] != files[rel]]
    report += [(rel, "extra") for rel in current if rel not in files]
    return sorted(report)

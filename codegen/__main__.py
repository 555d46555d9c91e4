"""`python -m codegen [--check] [--spec PATH] [--out DIR]`: write or verify `books_async/_generated/`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from codegen import DEFAULT_OUT, DEFAULT_SPEC, CodegenError, drift, generate, write
from codegen._schemas import generate_schemas


def _shown(path: Path) -> str:
    """Name a file relative to the working directory when it lies below it (as CI logs read best)."""
    try:
        return Path(os.path.relpath(path)).as_posix() if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    """Run the generator; return 0 when the output is (or now is) up to date, 1 on drift or error."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming every drifted file"
    )
    parser.add_argument(
        "--spec", type=Path, default=DEFAULT_SPEC, help="OpenAPI document (openapi/books.yaml)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="package to fill (books_async/_generated)"
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    try:
        files = generate(args.spec.resolve())
        # The models' JSON schemas (books_async._pydantic reads them); lives in codegen._schemas.
        files = {**files, **generate_schemas(args.spec.resolve())}
    except (CodegenError, OSError) as exc:
        print(f"codegen: {exc}", file=sys.stderr)  # a CLI's one line of output
        return 1
    if args.check:
        problems = drift(files, out)
        for rel, what in problems:
            print(f"{what}: {_shown(out / rel)}", file=sys.stderr)
        if problems:
            print(
                "codegen: generated code is out of date; run `python -m codegen` and commit.", file=sys.stderr
            )
            return 1
        print(f"codegen: {len(files)} files up to date.")
        return 0
    for rel in write(files, out):
        print(f"wrote {_shown(out / rel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The only entry point for checks: `nox` runs tests, lint, typecheck and codegen_check (what CI runs)."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "codegen_check"]
# Plain venv + pip: uv may not be installed on a developer's machine or in CI.
nox.options.default_venv_backend = "venv"
nox.options.error_on_external_run = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
ROOT = Path(__file__).resolve().parent
# The supported Pythons come from one place, the `Programming Language :: Python :: 3.x` classifiers.
PYTHONS = nox.project.python_versions(PYPROJECT)
# The oldest runs everything else: the full suite with coverage, lint, typecheck and codegen.
PYTHON = PYTHONS[0]
# On the newer Pythons, the SDK's tests only: not the spec and generator tests (their tools' output does not
# depend on our Python), the fake server's own tests, nor the multi-process and long job tests, which exercise
# the same SDK code as the rest and would push CI past its time budget.
NOT_SDK_TESTS = (
    "tests/codegen",
    "tests/sandbox",
    "tests/limiters/test_redis.py",
    "tests/bulk/test_queue_worker.py",
    "tests/cli/test_demo.py",
    "tests/test_readme.py",
    "tests/cli/test_doctor.py",
)


def groups(*names: str) -> list[str]:
    """Requirement strings of the named `[dependency-groups]`, includes expanded (works with any pip)."""
    return list(nox.project.dependency_groups(PYPROJECT, *names))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The installed package with every extra: the full suite with coverage on the oldest Python, the SDK's
    tests on the newer ones. Two workers (CI has two cores); posargs go to pytest instead of the defaults."""
    if session.python == PYTHON:
        session.install(".[sandbox,cli,redis]", *groups("test"))
        # Coverage by module name, reported in the terminal (files at 100 % are left out).
        options = ["--cov=books_async", "--cov-report=term:skip-covered"]
    else:
        session.install(".[sandbox,cli,redis]", *groups("test-sdk"))
        options = [f"--ignore={path}" for path in NOT_SDK_TESTS]
    session.run("pytest", "-n", "2", *(session.posargs or options))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (the generated package is excluded in pyproject.toml)."""
    session.install(*groups("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (configured in pyproject.toml), plus tests/typing when it exists."""
    session.install(".[sandbox,cli,redis]", *groups("typecheck"))
    targets = ["books_async"]
    if (ROOT / "tests" / "typing").is_dir():
        targets.append("tests/typing")
    session.run("mypy", *targets)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate books_async/_generated/ from openapi/books.yaml."""
    # The package too: codegen/_fast.py reads the freshly generated models, which import it.
    session.install(".", *groups("codegen"))
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(python=PYTHON)
def codegen_check(session: nox.Session) -> None:
    """Fail, naming each file, when books_async/_generated/ is not what the spec and templates give."""
    session.install(".", *groups("codegen"))  # as in `codegen`
    session.run("python", "-m", "codegen", "--check")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (speed is measured here, never asserted in tests)."""
    script = ROOT / "benchmarks" / "run.py"
    if not script.is_file():
        session.error(f"No benchmarks yet: {script.relative_to(ROOT)} does not exist.")
    session.install(".[sandbox,redis]", *groups("bench"))  # B9 also needs a redis-server on PATH
    session.run("python", str(script.relative_to(ROOT)), *session.posargs)

"""Every Python example in README.md runs against the sandbox, in order, as a reader would paste them."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from books_async import BooksClient
from books_async.models import CustomerType, InvoiceCreate, ItemType, LineItemCreate
from books_async.sandbox import Sandbox
from tests.redis_server import redis_server

# A quota the tour never meets, so none of its examples waits for a window.
pytestmark = pytest.mark.sandbox(rate_limit=(100_000, 60.0))
README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A block whose first line names a file ("# conftest.py") is that file of a reader's project.
_FILE = re.compile(r"^```(?:python|toml)\n# ([\w.]+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    """The README's ```python blocks, in order."""
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def project_files() -> dict[str, str]:
    """The README's blocks that are files of a reader's project (conftest.py, test_*.py, app.py), by name."""
    return dict(_FILE.findall(README.read_text(encoding="utf-8")))


def _is_a_test_file(code: str) -> bool:
    first = code.partition("\n")[0]
    return first.startswith("# test_") or first == "# conftest.py"


@pytest.fixture
def sandbox_env(sandbox_thread: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """A threaded sandbox, BOOKS_API_KEY and BOOKS_BASE_URL set to it, and a scratch working directory."""
    monkeypatch.setenv("BOOKS_API_KEY", sandbox_thread.api_key)
    monkeypatch.setenv("BOOKS_BASE_URL", sandbox_thread.base_url)
    monkeypatch.chdir(tmp_path)
    return sandbox_thread


async def _run_block(code: str, namespace: dict[str, object]) -> None:
    async with BooksClient() as books:
        namespace["books"] = books
        compiled = compile(code, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)  # noqa: S307  # our own README, the point of the test
        if asyncio.iscoroutine(result):
            await result


def test_readme_has_examples_for_every_part_of_the_tour() -> None:
    """The tour shows the client, models, errors, bulk helpers, the sandbox, FastAPI and shared limits."""
    text = "\n".join(python_blocks())
    for needle in (
        "BooksClient()",
        "InvoiceCreate(",
        "ValidationError",
        "books.bulk.",
        "serve()",
        "FastAPI(",
    ):
        assert needle in text


def test_every_readme_example_runs_against_the_sandbox(sandbox_env: Sandbox) -> None:
    """Each block runs, in order, in one namespace (like a reader's session); none raises."""
    namespace: dict[str, object] = {"__name__": "readme"}
    ran = 0
    for code in python_blocks():
        if "RedisRateLimiter(" in code or "FastAPI(" in code or _is_a_test_file(code):
            continue  # run by their own tests below
        if "asyncio.run(" in code:
            exec(compile(code, str(README), "exec"), namespace)  # noqa: S102  # see _run_block
        else:
            asyncio.run(_run_block(code, namespace))
        ran += 1
    assert ran >= 5
    # The bulk examples must do their work, not only run: a failed item is a result, not an exception.
    for name in ("result", "rerun", "made", "mailed"):
        assert namespace[name].ok, name  # type: ignore[attr-defined]
    assert set(namespace["rerun"].existing) == set(range(20))  # type: ignore[attr-defined]
    assert os.listdir(".")  # the bulk example wrote its PDFs here


async def _an_overdue_invoice() -> str:
    async with BooksClient() as books:
        customer = (await books.customers.list(type=CustomerType.B2B)).data[0]
        line = LineItemCreate(
            item_type=ItemType.service,
            description="Audit",
            hsn_sac="998222",
            quantity=Decimal(1),
            rate=Decimal("20000.00"),
            gst_rate=Decimal(18),
        )
        invoice = await books.invoices.create(
            InvoiceCreate(
                customer_id=customer.id,
                invoice_number="OVERDUE-1",
                invoice_date=date(2026, 1, 1),
                due_date=date(2026, 1, 31),
                line_items=[line],
            )
        )
        await books.invoices.send(invoice.id)
        return invoice.invoice_number


def test_fastapi_example_serves_from_the_sandbox(sandbox_env: Sandbox) -> None:
    """The README's FastAPI app, lifespan and all, answers a request with data from the sandbox."""
    number = asyncio.run(_an_overdue_invoice())
    (code,) = [c for c in python_blocks() if "FastAPI(" in c]
    namespace: dict[str, object] = {"__name__": "readme_fastapi"}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102  # our own README
    app = namespace["app"]

    async def call() -> httpx.Response:
        async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                return await client.get("/overdue")

    response = asyncio.run(call())
    assert response.status_code == 200
    assert number in response.json()


def test_redis_example_shares_a_limiter_through_a_real_redis(
    sandbox_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's Redis lines build a working client whose calls are admitted through Redis."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on this machine (apt-get install redis-server)")
    (code,) = [c for c in python_blocks() if "RedisRateLimiter(" in c]
    with redis_server(tmp_path) as redis:
        monkeypatch.setenv("REDIS_URL", redis.url)
        monkeypatch.setenv("BOOKS_ORG_ID", sandbox_env.org_id)
        namespace: dict[str, object] = {"__name__": "readme_redis"}
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102  # our own README

        async def use() -> str:
            books, limiter = namespace["shared_books"], namespace["limiter"]
            assert isinstance(books, BooksClient)
            try:
                return (await books.validate.context()).org_id
            finally:
                await books.aclose()
                await limiter.aclose()  # type: ignore[attr-defined]

        assert asyncio.run(use()) == sandbox_env.org_id


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_readme_pytest_examples_pass_in_either_asyncio_mode(mode: str, tmp_path: Path) -> None:
    """The README's conftest.py, test files and app.py, as a reader's project, pass under pytest-asyncio's
    strict and auto modes, the sync FastAPI test (sandbox_thread) included."""
    files = project_files()
    assert {"conftest.py", "pyproject.toml", "test_invoices.py", "test_app.py", "app.py"} <= set(files)
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    tests = sum(code.count("\ndef test_") + code.count("\nasync def test_") for code in files.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKS_", "PYTEST_", "PYTHONPATH"))}
    result = subprocess.run(  # noqa: S603  # this interpreter's own pytest, on files we just wrote
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", f"asyncio_mode={mode}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{tests} passed" in result.stdout, result.stdout

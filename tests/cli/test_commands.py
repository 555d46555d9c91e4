"""The ``books-async`` resource commands as a shell user runs them: subprocesses against the sandbox."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdf

from books_async import BooksClient, __version__
from books_async.models import InvoiceCreate, ItemType, LineItemCreate
from books_async.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "books_async.cli")


@dataclass(frozen=True)
class Ran:
    """What one run of the CLI left: exit status and both streams, decoded."""

    status: int | None
    out: str
    err: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any BOOKS_* setting of the machine running the tests, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKS_")}
    return {**env, **extra}


def account_env(sandbox: Sandbox) -> dict[str, str]:
    """The environment of a user whose account is the sandbox."""
    return clean_env(BOOKS_API_KEY=sandbox.api_key, BOOKS_BASE_URL=sandbox.base_url)


async def cli(*argv: str, env: dict[str, str]) -> Ran:
    """Run ``books-async ARGV`` in a subprocess (the sandbox keeps serving on this loop meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        *CLI, *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    return Ran(process.returncode, out.decode(), err.decode())


def names_in(directory: Path) -> list[str]:
    """The names of the files in ``directory``; a plain function, for async tests."""
    return sorted(p.name for p in directory.iterdir())


async def make_invoices(books: BooksClient, sandbox: Sandbox, count: int) -> list[str]:
    """Create ``count`` draft invoices (one bulk request); return their ids."""
    assert sandbox.seed is not None
    drafts = [
        InvoiceCreate(
            customer_id=sandbox.seed.customer_b2b_inter,
            invoice_number=f"CMD/{n}",
            invoice_date=date(2099, 11, 2),  # due in the future: sent, not overdue
            line_items=[
                LineItemCreate(
                    item_type=ItemType.service,
                    description="Consulting",
                    quantity=Decimal(1),
                    rate=Decimal("2500.10"),
                    gst_rate=Decimal(18),
                    hsn_sac="998311",
                )
            ],
        )
        for n in range(count)
    ]
    created = await books.bulk.create_invoices(drafts)
    assert created.ok
    return [invoice.id for invoice in created.values]


async def test_list_json_piped_to_head_ends_quietly_with_status_141(
    books: BooksClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """`invoices list --json | head -n 1`: head gets its line; the CLI exits 141, nothing on stderr."""
    await make_invoices(books, sandbox, 100)  # about 150 kB of JSON: more than a pipe holds
    status = tmp_path / "status"
    listing = shlex.join([*CLI, "invoices", "list", "--json", "--limit", "100"])
    command = f"({listing}; echo $? > {shlex.quote(str(status))}) | head -n 1"
    process = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        command,
        cwd=ROOT,
        env=account_env(sandbox),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert (process.returncode, out, err) == (0, b"{\n", b"")
    assert status.read_text().strip() == "141"


async def test_version_prints_the_package_version() -> None:
    """`--version` prints the program's name and version and exits 0, needing no key."""
    ran = await cli("--version", env=clean_env())
    assert (ran.status, ran.out, ran.err) == (0, f"books-async {__version__}\n", "")


async def test_list_all_returns_every_item_and_the_total(books: BooksClient, sandbox: Sandbox) -> None:
    """`--all` follows every page: 130 invoices in pages of 50 are 130 distinct rows, and the total is 130."""
    ids = await make_invoices(books, sandbox, 130)
    ran = await cli("invoices", "list", "--all", "--limit", "50", "--json", env=account_env(sandbox))
    assert ran.status == 0, ran.err
    document = json.loads(ran.out, parse_float=Decimal)
    assert sorted(row["_id"] for row in document["data"]) == sorted(ids)
    assert document["pagination"]["total"] == 130
    assert ran.err == ""


async def test_jsonl_prints_one_parsable_object_per_line(books: BooksClient, sandbox: Sandbox) -> None:
    """`--jsonl` with `--all`: each line is one invoice's wire form, money exact, every page followed."""
    ids = await make_invoices(books, sandbox, 60)
    ran = await cli("invoices", "list", "--all", "--limit", "25", "--jsonl", env=account_env(sandbox))
    assert ran.status == 0, ran.err
    rows = [json.loads(line, parse_float=Decimal) for line in ran.out.splitlines()]
    assert sorted(row["_id"] for row in rows) == sorted(ids)
    assert {str(row["line_items"][0]["rate"]) for row in rows} == {"2500.10"}


async def test_flags_after_the_command_work_with_no_environment(books: BooksClient, sandbox: Sandbox) -> None:
    """`--api-key`, `--base-url` and `--json` after the command (and one before) replace the environment."""
    await make_invoices(books, sandbox, 3)
    ran = await cli(
        "--api-key",
        sandbox.api_key,
        "invoices",
        "list",
        "--limit",
        "2",
        "--base-url",
        sandbox.base_url,
        "--json",
        env=clean_env(),
    )
    assert ran.status == 0, ran.err
    document = json.loads(ran.out)
    assert len(document["data"]) == 2
    assert document["pagination"]["total"] == 3


async def test_get_prints_the_invoice_with_exact_money(books: BooksClient, sandbox: Sandbox) -> None:
    """`invoices get ID --json` is the API's document: the same id, and money with every digit."""
    (invoice_id,) = await make_invoices(books, sandbox, 1)
    expected = await books.invoices.get(invoice_id)
    ran = await cli("invoices", "get", invoice_id, "--json", env=account_env(sandbox))
    assert ran.status == 0, ran.err
    document = json.loads(ran.out, parse_float=Decimal)
    assert document["_id"] == invoice_id
    assert document["invoice_number"] == expected.invoice_number
    assert expected.total is not None
    assert str(document["total"]) == str(expected.total)


async def test_pdf_writes_a_real_pdf_file_or_stdout(
    books: BooksClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """`invoices pdf ID -o FILE` writes a PDF that opens and says where; `-o -` sends the same to stdout."""
    (invoice_id,) = await make_invoices(books, sandbox, 1)
    target = tmp_path / "invoice.pdf"
    ran = await cli("invoices", "pdf", invoice_id, "-o", str(target), env=account_env(sandbox))
    assert ran.status == 0, ran.err
    assert str(target) in ran.out
    assert len(pypdf.PdfReader(target).pages) >= 1
    assert names_in(tmp_path) == ["invoice.pdf"]  # no temp file left behind
    process = await asyncio.create_subprocess_exec(
        *CLI,
        "invoices",
        "pdf",
        invoice_id,
        "-o",
        "-",
        cwd=ROOT,
        env=account_env(sandbox),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert (process.returncode, err) == (0, b"")
    assert len(pypdf.PdfReader(io.BytesIO(out)).pages) >= 1


async def test_send_emails_the_invoice_to_the_address_given(books: BooksClient, sandbox: Sandbox) -> None:
    """`invoices send ID --to EMAIL` sends it there (the sandbox's outbox), and the draft becomes sent."""
    (invoice_id,) = await make_invoices(books, sandbox, 1)
    ran = await cli(
        "invoices", "send", invoice_id, "--to", "ap@example.com", "--json", env=account_env(sandbox)
    )
    assert ran.status == 0, ran.err
    assert json.loads(ran.out)["to"] == ["ap@example.com"]
    assert [mail["to"] for mail in sandbox.outbox()] == [["ap@example.com"]]
    assert (await books.invoices.get(invoice_id)).status == "sent"


async def test_missing_key_exits_2_with_the_flag_and_variable_to_use() -> None:
    """No key anywhere: exit 2, one line naming --api-key and BOOKS_API_KEY, no traceback, no Python."""
    ran = await cli("customers", "list", env=clean_env())
    assert ran.status == 2
    assert ran.out == ""
    assert ran.err.count("\n") == 1
    assert "--api-key" in ran.err
    assert "BOOKS_API_KEY" in ran.err
    assert "Traceback" not in ran.err
    assert "BooksClient" not in ran.err


async def test_key_never_appears_in_verbose_output(books: BooksClient, sandbox: Sandbox) -> None:
    """With -vv the requests are logged, and neither the key given by flag nor a refused one is shown."""
    await make_invoices(books, sandbox, 2)
    ran = await cli(
        "-vv",
        "invoices",
        "list",
        "--api-key",
        sandbox.api_key,
        "-v",
        env=clean_env(BOOKS_BASE_URL=sandbox.base_url),
    )
    assert ran.status == 0, ran.err
    assert "GET /books/invoices -> 200" in ran.err
    assert "CMD/1" in ran.out
    assert sandbox.api_key not in ran.out + ran.err
    refused = await cli(
        "quotes",
        "list",
        "-v",
        env=clean_env(BOOKS_BASE_URL=sandbox.base_url, BOOKS_API_KEY="bsk_wrong_key_123"),
    )
    assert refused.status == 1
    assert "401" in refused.err
    assert "bsk_wrong_key_123" not in refused.out + refused.err

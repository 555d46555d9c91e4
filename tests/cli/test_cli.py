"""The ``books-async`` command line: real-account commands against the sandbox, errors as one line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from books_async import BooksClient
from books_async.cli import main
from books_async.models import InvoiceCreate, ItemType, LineItemCreate
from books_async.sandbox import Sandbox, serve


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    """A sandbox with three invoices, and the environment pointing at it as a real account would."""
    async with serve(rate_limit=None) as sb:
        assert sb.seed is not None
        monkeypatch.setenv("BOOKS_API_KEY", sb.api_key)
        monkeypatch.setenv("BOOKS_BASE_URL", sb.base_url)
        items = [
            InvoiceCreate(
                customer_id=sb.seed.customer_b2b_inter,
                invoice_number=f"CLI/{i}",
                invoice_date=date(2026, 11, 2),
                line_items=[
                    LineItemCreate(
                        item_type=ItemType.service,
                        description="Consulting",
                        quantity=Decimal(i + 1),
                        rate=Decimal("2500.00"),
                        gst_rate=Decimal(18),
                        hsn_sac="998311",
                    )
                ],
            )
            for i in range(3)
        ]
        async with BooksClient(rate_limit=None) as books:
            created = await books.bulk.create_invoices(items)
            assert created.ok
            await books.invoices.send(created.values[0].id)
        yield sb


def pdfs_in(directory: Path) -> list[str]:
    """The complete PDFs in ``directory``, by name; a plain function, for async tests."""
    return sorted(p.name for p in directory.iterdir() if p.read_bytes().startswith(b"%PDF-"))


async def run(*argv: str) -> int:
    # main() calls asyncio.run, so it runs in a thread while this loop serves the sandbox.
    return await asyncio.to_thread(main, list(argv))


async def test_invoices_list_prints_a_table(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """`invoices list` shows the account's invoices, newest first."""
    assert await run("invoices", "list") == 0
    out = capsys.readouterr().out
    assert out.index("CLI/2") < out.index("CLI/1") < out.index("CLI/0")
    assert "Bangalore Tech Solutions" in out


async def test_invoices_list_filters_and_prints_json_lines(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--status draft --jsonl` prints one wire-form JSON object per matching invoice."""
    assert await run("invoices", "list", "--status", "draft", "--jsonl") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [orjson.loads(line)["invoice_number"] for line in lines] == ["CLI/2", "CLI/1"]
    assert "_id" in orjson.loads(lines[0])


async def test_invoices_download_pdfs_writes_files_and_skips_complete_ones(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`download-pdfs` writes one PDF per invoice; `--no-overwrite` keeps them without downloading again."""
    assert await run("invoices", "download-pdfs", "--out", str(tmp_path)) == 0
    assert pdfs_in(tmp_path) == [f"invoice-CLI-{i}.pdf" for i in range(3)]
    assert "3 downloaded" in capsys.readouterr().out
    assert await run("invoices", "download-pdfs", "--out", str(tmp_path), "--no-overwrite") == 0
    assert "0 downloaded, 3 already there" in capsys.readouterr().out


def test_missing_key_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without BOOKS_API_KEY the command says how to fix it in one line (a usage error), with no traceback."""
    monkeypatch.delenv("BOOKS_API_KEY", raising=False)
    assert main(["invoices", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "BOOKS_API_KEY" in err
    assert "Traceback" not in err


async def test_bad_key_is_one_line_and_exit_1(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused key (401) is one line on stderr and exit status 1."""
    monkeypatch.setenv("BOOKS_API_KEY", "not-a-real-key")
    assert await run("invoices", "list") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "401" in err
    assert "not-a-real-key" not in err


async def test_connection_failure_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening at the base URL is one line on stderr and exit status 1."""
    async with serve() as sb:
        url = sb.base_url
    monkeypatch.setenv("BOOKS_API_KEY", "k")
    assert await run("invoices", "list", "--base-url", url) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "could not connect" in err


async def test_spent_quota_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 asking for a longer wait than the client will sleep is one line on stderr and exit status 1."""
    async with serve(rate_limit=(1, 3600.0)) as sb:
        monkeypatch.setenv("BOOKS_API_KEY", sb.api_key)
        monkeypatch.setenv("BOOKS_BASE_URL", sb.base_url)
        assert await run("invoices", "list") == 0
        capsys.readouterr()
        assert await run("invoices", "list") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "429" in err


def test_sandbox_command_hands_its_arguments_to_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """`books-async sandbox --help` is the sandbox's own help."""
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "--help"])
    assert exit_info.value.code == 0
    assert "--faults" in capsys.readouterr().out


def test_unknown_arguments_are_refused() -> None:
    """An option no command knows is a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["invoices", "list", "--colour"])
    assert exit_info.value.code == 2

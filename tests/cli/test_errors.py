"""How the resource commands report the API's refusals: one line with what to do, the right exit status."""

from __future__ import annotations

import asyncio

import pytest

from books_async.cli import main
from books_async.sandbox import Sandbox


@pytest.fixture
def account(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The environment pointing at the sandbox, as a user's account would."""
    monkeypatch.setenv("BOOKS_API_KEY", sandbox.api_key)
    monkeypatch.setenv("BOOKS_BASE_URL", sandbox.base_url)
    return sandbox


async def run(*argv: str) -> int:
    # main() calls asyncio.run, so it runs in a thread while this loop serves the sandbox.
    return await asyncio.to_thread(main, list(argv))


async def test_get_of_an_unknown_id_names_the_list_command(
    account: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 404 on `quotes get ID` is exit 1 and one line naming the quote and how to find ids."""
    assert await run("quotes", "get", "0123456789abcdef01234567") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "books-async: no quote 0123456789abcdef01234567 in this organisation (404): "
        "`books-async quotes list` shows their ids.\n"
    )


async def test_send_refused_by_the_api_names_the_field(
    account: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 400 on `invoices send --to` with a bad address is exit 1 and one line naming the field path."""
    assert await run("invoices", "send", "0123456789abcdef01234567", "--to", "not-an-address") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("books-async: the API refused the request (400): to.0: ")

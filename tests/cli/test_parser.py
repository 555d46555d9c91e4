"""The ``books-async`` parser, in-process: the command table against the SDK, help texts, usage errors."""

from __future__ import annotations

import argparse
import inspect

import pytest

from books_async import BooksClient
from books_async.cli import build_parser, main
from books_async.cli._resources import RESOURCES

# Keywords of every list() that are not filters: paging (flags of their own) and the escape hatches.
NOT_FILTERS = {"self", "page", "limit", "extra_headers", "extra_query", "timeout", "max_retries"}


def parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser below ``parser`` that has its own help, by its program name."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if child.add_help:
                    found.append((child.prog, child))
                found.extend(parsers(child))
    return found


def test_every_list_filter_of_the_sdk_has_a_flag() -> None:
    """Each resource's flags are exactly its list() operation's filters, so a spec change shows here."""
    books = BooksClient(api_key="k")
    for resource in RESOURCES:
        operation = getattr(books, resource.name).list
        params = set(inspect.signature(operation).parameters) - NOT_FILTERS
        assert {f.param for f in resource.filters} == params, resource.name


def test_every_command_help_has_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command's --help ends with examples; the commands that run also list the exit statuses."""
    found = parsers(build_parser())
    assert len(found) > 20
    for prog, parser in found:
        text = parser.format_help()
        assert "examples:\n  books-async" in text, prog
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            assert "exit status: 0 " in text, prog
            assert "130 interrupted" in text, prog


def test_help_never_shows_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--help` names BOOKS_API_KEY as the default but never prints its value."""
    monkeypatch.setenv("BOOKS_API_KEY", "bsk_secret_in_env_42")
    with pytest.raises(SystemExit) as exit_info:
        main(["invoices", "list", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "$BOOKS_API_KEY" in out
    assert "bsk_secret_in_env_42" not in out


def test_mistyped_flag_is_a_usage_error_that_hides_its_value(capsys: pytest.CaptureFixture[str]) -> None:
    """`--apikey KEY` (a typo) exits 2 naming the flag, without echoing what may be the key."""
    with pytest.raises(SystemExit) as exit_info:
        main(["invoices", "list", "--apikey", "bsk_typed_key_77"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--apikey" in err
    assert "bsk_typed_key_77" not in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["invoices", "list", "--json", "--jsonl"], "not both"),
        (["--jsonl", "doctor"], "--jsonl does not apply"),
        (["--api-key", "k", "demo"], "--api-key/--base-url does not apply"),
        (["invoices", "list", "--limit", "101"], "over 100"),
        (["invoices", "list", "--all", "--page", "2"], "not allowed with"),
        (["invoices", "list", "--status", "unpaid"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_before_anything_is_sent(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Conflicting or out-of-range flags are refused by the parser with exit status 2 and the reason."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert complaint in capsys.readouterr().err


def test_bad_base_url_exits_2_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """A base URL the client refuses is a settings error (2) that names --base-url and BOOKS_BASE_URL."""
    assert main(["orgs", "list", "--api-key", "k", "--base-url", "ftp://books.example"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--base-url or BOOKS_BASE_URL" in err

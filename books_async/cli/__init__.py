"""The ``books-async`` command line: ``main(argv) -> int`` behind the console script.

Commands (``books-async COMMAND --help`` shows each one's flags and examples)::

    books-async demo [--invoices N] [--out DIR] [--rate-limit 100/60]   bulk job on the embedded sandbox
    books-async sandbox [...]                                           run the sandbox (its own options)
    books-async doctor [--validate]                                     the account against the spec
    books-async {invoices,quotes} {list,get,pdf,send} ...               documents of a real account
    books-async {customers,products,services,orgs} {list,get} ...
    books-async invoices download-pdfs --out DIR [--status S] [--concurrency N] [--no-overwrite]

Global flags, before or after the command: ``-v``, ``--api-key`` (default ``BOOKS_API_KEY``), ``--base-url``
(default ``BOOKS_BASE_URL``), ``--json`` and ``--jsonl``. Exit status: 0 done, 1 the API refused or could not
be reached, 2 bad usage or settings (no key), 130 interrupted, 141 the reader of stdout went away (as a
shell reports for ``yes | head``; nothing is printed). ``doctor`` keeps its own: 0 matches, 1 drift, 2 could
not run. An error is one line on stderr, in flags and environment variables, never a traceback. This package
is the only place ``asyncio.run`` and ``logging.basicConfig`` are called.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence

from books_async import BooksClient, BooksError
from books_async.cli._errors import EXIT_INTERRUPTED, EXIT_USAGE, NO_KEY, UsageError, explain
from books_async.cli._output import Output
from books_async.cli._parser import ACCOUNT, JSON, JSONL, PROG, build_parser
from books_async.cli._pipe import reader_gone
from books_async.cli._render import Mode

__all__ = ["build_parser", "main"]

_log = logging.getLogger("books_async.cli")
_GLOBALS = ((ACCOUNT, ("api_key", "base_url"), "--api-key/--base-url"), (JSON, ("json",), "--json"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``books-async`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "sandbox":
        try:
            from books_async.sandbox.__main__ import main as sandbox_main
        except ImportError as exc:
            return _fail(
                f"the sandbox needs the sandbox extra ({exc.name} is missing): "
                "pip install 'books-async[sandbox]'"
            )
        return sandbox_main([*extra])
    if extra:
        # Only the flags: a mistyped option's value could be the key (`--apikey KEY`).
        shown = [word for word in extra if word.startswith("-")] or ["(a value)"]
        parser.error(f"unrecognized arguments: {' '.join(shown)}")
    mode = _checked_mode(parser, args)
    _configure_logging(args.verbose + getattr(args, "verbose_after", 0))
    output = Output()
    try:
        return _dispatch(args, output, mode)
    except BrokenPipeError:
        return reader_gone()
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except BooksError as exc:
        return _fail(*_explained(exc, args))
    except OSError as exc:  # the local disk (full, read-only, a missing directory)
        return _fail(_first_line(exc))
    except ExceptionGroup as group:
        # Bulk workers failing on the disk (full, read-only) arrive grouped; bugs keep their traceback.
        expected, bugs = group.split((BooksError, OSError))
        if bugs is not None or expected is None:
            raise
        leaf = _first_leaf(expected)
        if isinstance(leaf, BrokenPipeError):
            return reader_gone()
        if isinstance(leaf, BooksError):
            return _fail(*_explained(leaf, args))
        return _fail(_first_line(leaf))


def _checked_mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Mode:
    """The output mode; a global flag given before a command that has no use for it is a usage error."""
    accepts: frozenset[str] = getattr(args, "accepts", frozenset())
    for kind, dests, flags in (*_GLOBALS, (JSONL, ("jsonl",), "--jsonl")):
        if kind not in accepts and any(getattr(args, dest) for dest in dests):
            parser.error(f"{flags} does not apply to `{PROG} {args.command}`")
    if args.json and args.jsonl:
        parser.error("pass --json (one document) or --jsonl (a line per item), not both")
    return "json" if args.json else "jsonl" if args.jsonl else "table"


def _dispatch(args: argparse.Namespace, output: Output, mode: Mode) -> int:
    if args.command == "doctor":
        return _doctor_command(args, output)
    if args.command == "demo":
        from books_async.cli._demo import run_demo

        return _run(
            run_demo(invoices=args.invoices, out_dir=args.out, rate_limit=args.rate_limit, output=output)
        )
    key = args.api_key if args.api_key is not None else os.environ.get("BOOKS_API_KEY", "")
    if not key.strip():
        raise UsageError(NO_KEY)
    books = BooksClient(api_key=key, base_url=args.base_url)
    del key  # a traceback printer shows frame locals: from here on the key is only in the redacting client
    return _run(_account_command(books, args, output, mode))


async def _account_command(books: BooksClient, args: argparse.Namespace, output: Output, mode: Mode) -> int:
    from books_async.cli._actions import run_action

    async with books:
        _log.info("%s %s on %s", args.command, args.action, books.base_url)
        return await run_action(books, args, output, mode)


def _configure_logging(verbosity: int) -> None:
    if not verbosity:
        return
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("books_async").setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def _run(coro: Coroutine[object, object, int]) -> int:
    try:
        return asyncio.run(coro)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # The second Ctrl-C of a bulk command cancels its task; a first one elsewhere interrupts asyncio.run.
        sys.stderr.write("Interrupted.\n")
        return EXIT_INTERRUPTED


def _doctor_command(args: argparse.Namespace, output: Output) -> int:
    try:
        from books_async.cli._doctor import run_doctor
    except ImportError as exc:
        return _fail(f"doctor needs the cli extra ({exc.name} is missing): pip install 'books-async[cli]'", 2)
    return _run(
        run_doctor(
            api_key=args.api_key,
            base_url=args.base_url,
            validate=args.validate,
            as_json=args.json,
            output=output,
        )
    )


def _explained(exc: BooksError, args: argparse.Namespace) -> tuple[str, int]:
    """The line and exit status for ``exc``; the demo's own sandbox needs no hint about flags."""
    if args.command == "demo":
        return _first_line(exc), 1
    from books_async._client import DEFAULT_BASE_URL
    from books_async._logging import redact_url

    url = redact_url(args.base_url or os.environ.get("BOOKS_BASE_URL") or DEFAULT_BASE_URL)
    missing = ""
    if getattr(args, "id", None) is not None:
        missing = (
            f"no {args.resource.noun} {args.id} in this organisation (404): "
            f"`{PROG} {args.resource.name} list` shows their ids."
        )
    return explain(exc, base_url=url, missing=missing)


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str, status: int = 1) -> int:
    sys.stderr.write(f"{PROG}: {message}\n")
    return status

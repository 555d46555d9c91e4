"""The ``books-async`` command line: ``main(argv) -> int`` behind the console script.

Commands::

    books-async demo [--invoices N] [--out DIR] [--rate-limit 100/60]   bulk job on the embedded sandbox
    books-async sandbox [...]                                           run the sandbox (its own options)
    books-async invoices list [--status S] [--search Q] [--limit N] [--json]
    books-async invoices download-pdfs [--status S] --out DIR [--concurrency N] [--no-overwrite]
    books-async doctor [--api-key KEY] [--base-url URL] [--json] [--validate]

The ``invoices`` commands work on a real account: the key comes from ``BOOKS_API_KEY``, the address from
``--base-url`` or ``BOOKS_BASE_URL``. A :class:`~books_async.BooksError` (no key, a refused key, the quota
spent, no connection) is one line on stderr and exit status 1; Ctrl-C is 130. ``doctor`` reads the account
with GET requests only and compares its answers with the spec: 0 when they match, 1 when they drift, and 2
(one line on stderr) when it cannot run. This package is the only place ``asyncio.run`` and
``logging.basicConfig`` are called.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path

from books_async import BooksClient, BooksError
from books_async.cli._output import Output
from books_async.models import InvoiceStatus

__all__ = ["main"]

_PROG = "books-async"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _rate_limit(text: str) -> tuple[int, float] | None:
    if text.strip().lower() in ("off", "none"):
        return None
    count, _, period = text.partition("/")
    try:
        parsed = (int(count), float(period or 60))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not REQUESTS/SECONDS, e.g. 100/60") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} needs at least 1 request over a positive period")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    from books_async.cli._demo import DEFAULT_INVOICES

    parser = argparse.ArgumentParser(prog=_PROG, description="Async SDK for the techlift Books API: tools.")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log what the SDK does (-vv: more)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run a bulk invoicing job on the embedded sandbox (no key, no network)"
    )
    demo.add_argument(
        "--invoices",
        type=_positive,
        default=DEFAULT_INVOICES,
        metavar="N",
        help="invoices to create (default: %(default)s, which fits in one minute's quota)",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("books-demo-out"),
        metavar="DIR",
        help="where to write the PDFs (default: ./%(default)s)",
    )
    demo.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=(100, 60.0),
        metavar="N/SECONDS",
        help='the sandbox\'s quota, or "off" (default: 100/60, as the live API)',
    )

    # The sandbox has its own parser: everything after `sandbox` is handed to it, --help included.
    commands.add_parser(
        "sandbox", help="run the local sandbox API (see books-async sandbox --help)", add_help=False
    )

    invoices = commands.add_parser("invoices", help="work with the invoices of your account (BOOKS_API_KEY)")
    actions = invoices.add_subparsers(dest="action", required=True, metavar="ACTION")
    account = argparse.ArgumentParser(add_help=False)
    account.add_argument(
        "--base-url", default=None, help="API address (default: BOOKS_BASE_URL, else production)"
    )
    account.add_argument("--status", choices=[s.value for s in InvoiceStatus])
    account.add_argument("--search", help="match the invoice number or the customer's name")

    listing = actions.add_parser("list", parents=[account], help="list invoices, newest first")
    listing.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N (default: %(default)s)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line, as the API sends it")

    pdfs = actions.add_parser(
        "download-pdfs", parents=[account], help="download the PDF of every matching invoice"
    )
    pdfs.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write into")
    pdfs.add_argument(
        "--concurrency", type=_positive, default=8, metavar="N", help="parallel downloads (default: 8)"
    )
    pdfs.add_argument(
        "--no-overwrite", dest="overwrite", action="store_false", help="keep PDFs already complete in DIR"
    )

    doctor = commands.add_parser(
        "doctor",
        help="compare your account's answers with the spec, reading only (exit 0 same, 1 drift, 2 failed)",
    )
    doctor.add_argument(
        "--api-key",
        default=None,
        help="the key (default: BOOKS_API_KEY, which is safer: arguments show in process lists)",
    )
    doctor.add_argument(
        "--base-url", default=None, help="API address (default: BOOKS_BASE_URL, else production)"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument(
        "--validate",
        action="store_true",
        help="also pre-validate one sample body per kind with POST /books/validate (it writes nothing)",
    )
    return parser


def _configure_logging(verbosity: int) -> None:
    if not verbosity:
        return
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("books_async").setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


async def _invoice_command(args: argparse.Namespace, output: Output) -> int:
    from books_async.cli._invoices import download_pdfs, list_invoices

    async with BooksClient(base_url=args.base_url) as books:
        if args.action == "list":
            return await list_invoices(
                books, output, status=args.status, search=args.search, limit=args.limit, as_json=args.json
            )
        return await download_pdfs(
            books,
            output,
            status=args.status,
            search=args.search,
            directory=args.out,
            concurrency=args.concurrency,
            overwrite=args.overwrite,
        )


def _run(coro: Coroutine[object, object, int]) -> int:
    try:
        return asyncio.run(coro)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # The second Ctrl-C of a bulk command cancels its task; a first one elsewhere interrupts asyncio.run.
        sys.stderr.write("Interrupted.\n")
        return 130


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
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _configure_logging(args.verbose)
    output = Output()
    try:
        if args.command == "doctor":
            return _doctor_command(args, output)
        if args.command == "demo":
            from books_async.cli._demo import run_demo

            return _run(
                run_demo(invoices=args.invoices, out_dir=args.out, rate_limit=args.rate_limit, output=output)
            )
        return _run(_invoice_command(args, output))
    except (BooksError, OSError) as exc:
        # One line, no traceback: our messages say what happened and what to do; OSError is the local disk.
        return _fail(_first_line(exc))
    except ExceptionGroup as group:
        # Bulk workers failing on the disk (full, read-only) arrive grouped; bugs keep their traceback.
        expected, bugs = group.split((BooksError, OSError))
        if bugs is not None or expected is None:
            raise
        return _fail(_first_line(_first_leaf(expected)))


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


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str, status: int = 1) -> int:
    sys.stderr.write(f"{_PROG}: {message}\n")
    return status

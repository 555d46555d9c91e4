"""The ``books-async`` argument parser: global flags, ``demo``, ``sandbox``, ``doctor`` and a command group
per resource, built from :data:`~books_async.cli._resources.RESOURCES`.

Global flags are accepted before or after the command: each command's parser takes them again, with
``SUPPRESS`` defaults so that one given before the command is not reset by the command's parser. ``-v``
after the command counts apart (``verbose_after``) and the two counts are added.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from books_async._pagination import MAX_PAGE_SIZE
from books_async._version import __version__
from books_async.cli._resources import RESOURCES, Resource

__all__ = ["ACCOUNT", "JSON", "JSONL", "PROG", "build_parser", "positive"]

PROG: Final = "books-async"
# What a command accepts of the global flags (besides -v): the account's settings, and the output modes.
ACCOUNT: Final = "account"
JSON: Final = "json"
JSONL: Final = "jsonl"

_EXIT_CODES = """exit status: 0 done, 1 the API refused or could not be reached, 2 bad usage or settings
(no key), 130 interrupted, 141 the reader of the output went away (e.g. `| head`)."""


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _page_size(text: str) -> int:
    value = positive(text)
    if value > MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} is over {MAX_PAGE_SIZE}, the most the API sends a page")
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


def _add_globals(parser: argparse.ArgumentParser, *, top: bool, accepts: frozenset[str]) -> None:
    """Add the global flags a command accepts; at the top every one, with their real defaults."""
    default = None if top else argparse.SUPPRESS
    flags = parser.add_argument_group("global options (before or after the command)")
    flags.add_argument(
        "-v",
        "--verbose",
        dest="verbose" if top else "verbose_after",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="log what the SDK does on stderr (-vv: every request); the key is never logged",
    )
    if top or ACCOUNT in accepts:
        flags.add_argument(
            "--api-key",
            default=default,
            metavar="KEY",
            help="the API key (default: $BOOKS_API_KEY, which is safer: arguments show in process lists)",
        )
        flags.add_argument(
            "--base-url",
            default=default,
            metavar="URL",
            help="API address (default: $BOOKS_BASE_URL, else production)",
        )
    if top or JSON in accepts:
        flags.add_argument(
            "--json",
            action="store_true",
            default=False if top else argparse.SUPPRESS,
            help="print one JSON document, as the API sends it (exact decimals)",
        )
    if top or JSONL in accepts:
        flags.add_argument(
            "--jsonl",
            action="store_true",
            default=False if top else argparse.SUPPRESS,
            help="print one JSON object per line (one per item)",
        )


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    examples: list[str],
    accepts: frozenset[str] = frozenset(),
    exit_codes: str = _EXIT_CODES,
) -> argparse.ArgumentParser:
    """A leaf command: its help, examples in the epilog, and the global flags it accepts."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) + "\n\n" + exit_codes
    parser = group.add_parser(
        name,
        help=help,
        description=help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_globals(parser, top=False, accepts=accepts)
    parser.set_defaults(accepts=accepts)
    return parser


def _group(
    group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, help: str, examples: list[str]
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = group.add_parser(
        name,
        help=help,
        description=help,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The techlift Books API from the shell, and tools for the async SDK.",
        epilog="examples:\n"
        "  books-async demo                                  # bulk job on the embedded sandbox, no key\n"
        "  export BOOKS_API_KEY=...                          # your key, from the Books UI\n"
        "  books-async invoices list --status overdue --all\n"
        "  books-async invoices get ID --json\n"
        "  books-async customers list --jsonl | jq -r .name\n"
        "  books-async doctor                                # how your account differs from the spec\n\n"
        + _EXIT_CODES
        + "\n`doctor` has its own: 0 matches, 1 drift, 2 could not run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_globals(parser, top=True, accepts=frozenset())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(commands)
    # The sandbox has its own parser: everything after `sandbox` is handed to it, --help included.
    commands.add_parser(
        "sandbox", help="run the local sandbox API (see books-async sandbox --help)", add_help=False
    )
    _add_doctor(commands)
    for resource in RESOURCES:
        _add_resource(commands, resource)
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from books_async.cli._demo import DEFAULT_INVOICES

    demo = _command(
        commands,
        "demo",
        help="run a bulk invoicing job on the embedded sandbox (no key, no network)",
        examples=["books-async demo", "books-async demo --invoices 500 --rate-limit off --out /tmp/pdfs"],
    )
    demo.add_argument(
        "--invoices",
        type=positive,
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


def _add_doctor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = _command(
        commands,
        "doctor",
        help="compare your account's answers with the spec, reading only (exit 0 same, 1 drift, 2 failed)",
        examples=["books-async doctor", "books-async doctor --validate --json > report.json"],
        accepts=frozenset({ACCOUNT, JSON}),
        exit_codes="exit status: 0 the account matches the spec, 1 drift found, 2 could not run (no key, no\n"
        "network, a refused key, the quota spent), 130 interrupted.",
    )
    doctor.add_argument(
        "--validate",
        action="store_true",
        help="also pre-validate one sample body per kind with POST /books/validate (it writes nothing)",
    )


def _add_resource(commands: argparse._SubParsersAction[argparse.ArgumentParser], res: Resource) -> None:
    cmd = f"{PROG} {res.name}"
    actions = _group(
        commands,
        res.name,
        help=res.help,
        examples=[f"{cmd} list{' ' + res.example_filter if res.example_filter else ''}", f"{cmd} get ID"],
    )
    reads = frozenset({ACCOUNT, JSON, JSONL})
    listing = _command(
        actions,
        "list",
        help=f"list {res.name}, one page (--all: every page), with the total",
        examples=[
            f"{cmd} list{' ' + res.example_filter if res.example_filter else ''}",
            f"{cmd} list --page 2 --limit 100",
            f"{cmd} list --all --jsonl > {res.name}.jsonl",
            f"{cmd} list --json | jq '.pagination.total'",
        ],
        accepts=reads,
    )
    _add_filters(listing, res)
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument("--page", type=positive, default=None, metavar="N", help="which page (default: 1)")
    pages.add_argument(
        "--all", action="store_true", help="follow every page (a progress bar when stderr is a terminal)"
    )
    listing.add_argument(
        "--limit",
        type=_page_size,
        default=None,
        metavar="N",
        help=f"{res.name} per page, 1-{MAX_PAGE_SIZE} (default: 50; {MAX_PAGE_SIZE} with --all)",
    )
    listing.set_defaults(action_handler="list", resource=res)

    get = _command(
        actions,
        "get",
        help=f"show one {res.noun}",
        examples=[f"{cmd} get ID", f"{cmd} get ID --json"],
        accepts=reads,
    )
    get.add_argument("id", metavar="ID", help=f"the {res.noun}'s id (see `{cmd} list`)")
    get.set_defaults(action_handler="get", resource=res)
    if res.documents:
        _add_document_actions(actions, res, cmd)


def _add_document_actions(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], res: Resource, cmd: str
) -> None:
    pdf = _command(
        actions,
        "pdf",
        help=f"download one {res.noun}'s PDF",
        examples=[f"{cmd} pdf ID -o {res.noun}.pdf", f"{cmd} pdf ID -o - | lpr"],
        accepts=frozenset({ACCOUNT}),
    )
    pdf.add_argument("id", metavar="ID", help=f"the {res.noun}'s id")
    pdf.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help=f"file or directory to write it to, - for stdout (default: ./{res.noun}-ID.pdf)",
    )
    pdf.set_defaults(action_handler="pdf", resource=res)

    send = _command(
        actions,
        "send",
        help=f"e-mail one {res.noun}'s PDF (a draft becomes sent)",
        examples=[f"{cmd} send ID", f"{cmd} send ID --to accounts@example.com --cc me@example.com"],
        accepts=frozenset({ACCOUNT, JSON, JSONL}),
    )
    send.add_argument("id", metavar="ID", help=f"the {res.noun}'s id")
    send.add_argument(
        "--to", action="append", metavar="EMAIL", help="recipient (repeat; default: the customer)"
    )
    send.add_argument("--cc", action="append", metavar="EMAIL", help="copy to (repeat)")
    send.add_argument("--subject", help="the e-mail's subject (default: the API's)")
    send.add_argument("--message", help="the e-mail's text (default: the API's)")
    send.set_defaults(action_handler="send", resource=res)

    if res.name == "invoices":
        pdfs = _command(
            actions,
            "download-pdfs",
            help="download the PDF of every matching invoice into a directory",
            examples=[
                f"{cmd} download-pdfs --out pdfs/",
                f"{cmd} download-pdfs --status sent --out pdfs/ --no-overwrite",
            ],
            accepts=frozenset({ACCOUNT}),
        )
        _add_filters(pdfs, res)
        pdfs.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write into")
        pdfs.add_argument(
            "--concurrency", type=positive, default=8, metavar="N", help="parallel downloads (default: 8)"
        )
        pdfs.add_argument(
            "--no-overwrite", dest="overwrite", action="store_false", help="keep PDFs already complete in DIR"
        )
        pdfs.set_defaults(action_handler="download-pdfs", resource=res)


def _add_filters(parser: argparse.ArgumentParser, res: Resource) -> None:
    for spec in res.filters:
        choices = [member.value for member in spec.choices] if spec.choices is not None else None
        parser.add_argument(spec.flag, dest=spec.param, choices=choices, help=spec.help)

"""``python -m books_async.sandbox``: serve until Ctrl-C (``books-async sandbox`` calls :func:`main`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from . import DEFAULT_PORT, Sandbox, SandboxConfig, _iter_keys, parse_faults, parse_rate_limit

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "python -m books_async.sandbox") -> argparse.ArgumentParser:
    """Return the command line parser (the ``books-async sandbox`` subcommand reuses it)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local fake of the Books API: safe to experiment with; nothing leaves here.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key", default=None, help="owner key of the default organisation (default: random)"
    )
    parser.add_argument(
        "--rate-limit",
        default="100/60",
        type=parse_rate_limit,
        metavar="N/SECONDS",
        help='requests per organisation per window, or "off" (default: 100/60)',
    )
    parser.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help='inject faults, e.g. "503:0.05,drop:0.02,slow:0.1:1.5" (status:p, drop:p, slow:p:seconds)',
    )
    parser.add_argument("--faults-seed", type=int, default=None, help="seed for reproducible faults")
    parser.add_argument("--data", default=None, metavar="FILE", help="keep the data in this SQLite file")
    parser.add_argument("--empty", action="store_true", help="start with no customers, products or services")
    parser.add_argument(
        "--organisations",
        type=int,
        default=0,
        metavar="N",
        help="seed N more organisations, one owner key each (printed), e.g. for many-organisation tests",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request (ids, never keys)")
    return parser


async def _serve(config: SandboxConfig, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with Sandbox(config) as sandbox:
        lines = [f"Books API sandbox at {sandbox.base_url}"]
        lines += [f"  {label:<36} {key}" for label, key in _iter_keys(sandbox)]
        if config.data is not None:
            lines.append(f"  data kept in {config.data}")
        if config.faults:
            lines.append(f"  injecting faults: {parse_faults(config.faults)}")
        lines.append("Press Ctrl-C to stop.")
        # The keys are printed on purpose: they are the sandbox's own, and the user needs them to connect.
        print("\n".join(lines), file=out, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m books_async.sandbox") -> int:
    """Run the sandbox until Ctrl-C or SIGTERM; return the exit status (2 for bad arguments)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            rate_limit=args.rate_limit,
            faults=args.faults,
            faults_seed=args.faults_seed,
            data=args.data,
            empty=args.empty,
            organisations=args.organisations,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    try:
        asyncio.run(_serve(config, sys.stdout))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``list``, ``get``, ``pdf`` and ``send`` for any resource of the table, through the public client."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

from books_async import NOT_GIVEN, BooksClient
from books_async._pagination import MAX_PAGE_SIZE, iterate_pages
from books_async.cli._errors import UsageError
from books_async.cli._output import Output
from books_async.cli._render import Mode, print_item, print_items, print_one
from books_async.cli._resources import Resource
from books_async.models import EmailReceipt, Pagination, SendRequest

__all__ = ["DEFAULT_LIMIT", "run_action"]

DEFAULT_LIMIT = 50


class _Page(Protocol):
    @property
    def data(self) -> Sequence[_Item]: ...
    @property
    def pagination(self) -> Pagination | None: ...


class _Item(Protocol):
    @property
    def id(self) -> str: ...


class _Operations(Protocol):
    """What every resource of the table has (``pdf`` and ``send`` only those with ``documents``)."""

    async def list(self, **params: object) -> object: ...
    async def get(self, id: str, /) -> object: ...
    async def pdf(self, id: str, /) -> bytes: ...
    async def send(self, id: str, body: object, /) -> object: ...


def filters_of(res: Resource, args: argparse.Namespace) -> dict[str, object]:
    """The ``list()`` keywords the user gave, enum values as the SDK's enums."""
    given: dict[str, object] = {}
    for spec in res.filters:
        value = getattr(args, spec.param, None)
        if value is not None:
            given[spec.param] = spec.choices(value) if spec.choices is not None else value
    return given


async def run_action(books: BooksClient, args: argparse.Namespace, output: Output, mode: Mode) -> int:
    """Run the resource command ``args`` names; return the exit status."""
    res: Resource = args.resource
    resource = cast(_Operations, getattr(books, res.name))
    if args.action_handler == "list":
        return await _list(resource, res, args, output, mode)
    if args.action_handler == "get":
        print_one(output, await resource.get(args.id), mode=mode, heading=f"{res.noun} {args.id}")
        return 0
    if args.action_handler == "pdf":
        return await _pdf(resource, res, args, output)
    if args.action_handler == "send":
        return await _send(resource, res, args, output, mode)
    from books_async.cli._invoices import download_pdfs

    return await download_pdfs(
        books,
        output,
        filters=filters_of(res, args),
        directory=args.out,
        concurrency=args.concurrency,
        overwrite=args.overwrite,
    )


async def _list(
    resource: _Operations, res: Resource, args: argparse.Namespace, output: Output, mode: Mode
) -> int:
    filters = filters_of(res, args)
    if not args.all:
        page = cast(
            _Page,
            await resource.list(page=args.page or NOT_GIVEN, limit=args.limit or DEFAULT_LIMIT, **filters),
        )
        print_items(output, res, page.data, page.pagination, mode=mode, every_page=False)
        return 0
    limit = args.limit or MAX_PAGE_SIZE
    first: list[Pagination | None] = []
    items: list[_Item] = []
    seen = 0
    with output.counter(f"Listing {res.name}") as advance:

        async def fetch(number: int) -> _Page:
            page = cast(_Page, await resource.list(page=number, limit=limit, **filters))
            if not first:
                first.append(page.pagination)
            return page

        async for item in iterate_pages(fetch, page_size=limit):
            seen += 1
            if mode == "jsonl":  # streamed: a reader that stops early spends no more requests
                print_item(output, item)
            else:
                items.append(item)
            advance(seen, first[0].total if first[0] is not None else seen)
    # The first page's counters: its `total` is what the filters matched when the walk began.
    if mode != "jsonl":
        print_items(output, res, items, first[0] if first else None, mode=mode, every_page=True)
    return 0


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


async def _pdf(resource: _Operations, res: Resource, args: argparse.Namespace, output: Output) -> int:
    default_name = f"{res.noun}-{_safe_name(args.id)}.pdf"
    target: str = args.output or default_name
    if target != "-" and Path(target).is_dir():  # noqa: ASYNC240  # one stat, before any request
        target = str(Path(target) / default_name)
    if target == "-" and output.out.isatty():
        raise UsageError(
            "a PDF would garble the terminal: pass -o FILE, or redirect stdout (-o - > file.pdf)."
        )
    content = await resource.pdf(args.id)
    if target == "-":
        output.binary(content)
        return 0
    await asyncio.to_thread(_write_atomically, Path(target), content)
    output.line(f"Wrote {target} ({len(content):,} bytes)")
    return 0


def _write_atomically(path: Path, content: bytes) -> None:
    # A temp file renamed into place: an interrupted write never leaves a half PDF under the real name.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def _send(
    resource: _Operations, res: Resource, args: argparse.Namespace, output: Output, mode: Mode
) -> int:
    given = {k: getattr(args, k) for k in ("to", "cc", "subject", "message") if getattr(args, k) is not None}
    body = SendRequest(**given) if given else NOT_GIVEN
    receipt = cast(EmailReceipt, await resource.send(args.id, body))
    print_one(output, receipt, mode=mode, heading=f"Sent {res.noun} {args.id}")
    return 0

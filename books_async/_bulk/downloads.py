"""``books.bulk.download_pdfs``: one streamed download per document, named safely, retried if cut off.

How a file is written (temp file, rename, the PDF checks) is :mod:`books_async._bulk.files`; this module
picks each file's name and asks the API for the body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from books_async._bulk.files import PDFFile, complete_size, safe_filename, write_pdf
from books_async._exceptions import APIConnectionError, InvalidRequestError
from books_async.resources.invoices import Invoices
from books_async.resources.quotes import Quotes

__all__ = ["Downloads"]

log = logging.getLogger("books_async.bulk")


class Downloads:
    """One ``download_pdfs`` job: where files go, which names are taken, and how each one is fetched."""

    def __init__(
        self,
        resource: Invoices | Quotes,
        folder: Path,
        *,
        kind: Literal["invoice", "quote"],
        overwrite: bool,
        names: Mapping[str, str] | None,
        max_bytes: int,
    ) -> None:
        self._resource = resource
        self._folder = folder
        self._kind = kind
        self._overwrite = overwrite
        self._names = names
        self._max_bytes = max_bytes
        self._claimed: dict[str, str] = {}
        """Each file name given out in this job, and the id it was given to."""

    def _place(self, doc_id: str, suggested: str | None) -> Path:
        folder = self._folder
        name = safe_filename(suggested, f"{self._kind}-{doc_id}.pdf")
        owner = self._claimed.setdefault(name, doc_id)
        if owner != doc_id:
            name = f"{name[:-4]}-{doc_id}.pdf"
            self._claimed[name] = doc_id
        target = folder / name
        if target.parent != folder:  # cannot happen after safe_filename; a guard, not a hope
            raise InvalidRequestError(f"Refusing to write {name!r} outside {folder}.")
        return target

    async def _kept(self, doc_id: str, target: Path) -> PDFFile | None:
        size = None if self._overwrite else await asyncio.to_thread(complete_size, target)
        return None if size is None else PDFFile(id=doc_id, path=target, size=size, skipped=True)

    async def one(self, doc_id: str) -> PDFFile:
        resource = self._resource
        # Made first: making the request checks the id (an InvalidRequestError), before any file is looked at.
        opening = resource._pdf_stream(doc_id)
        preset = self._names.get(doc_id) if self._names is not None else None
        if preset is not None:
            skip = await self._kept(doc_id, self._place(doc_id, preset))
            if skip is not None:
                return skip
        attempt = 0
        while True:
            in_body = False
            try:
                async with opening as body:
                    target = self._place(doc_id, preset if preset is not None else body.filename)
                    if preset is None:
                        skip = await self._kept(doc_id, target)
                        if skip is not None:
                            return skip
                    in_body = True
                    size = await write_pdf(body, target, self._max_bytes)
                    return PDFFile(id=doc_id, path=target, size=size)
            except APIConnectionError as exc:
                # Opening the stream was already retried by the transport; only a body that broke off
                # midway is retried here, with the client's own policy (GET is safe to repeat).
                delay = resource._retry_delay(attempt, exc, "GET") if in_body else None
                if delay is None:
                    raise
                log.debug("PDF %s broke off midway; retrying in %.2fs", doc_id, delay)
                await asyncio.sleep(delay)
                attempt += 1
                opening = resource._pdf_stream(doc_id)

"""Writing downloaded PDFs without HTTP: temp file and rename, the PDF checks, the size cap, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from books_async import APIConnectionError, ResponseDecodeError, ResponseTooLargeError
from books_async._bulk.files import complete_size, is_complete_pdf, write_pdf

PDF = b"%PDF-1.7\n" + b"x" * 1000 + b"\n%%EOF\n"


class FakeBody:
    """A body arriving in the given pieces, capped like the transport's stream."""

    def __init__(
        self, pieces: Sequence[bytes], *, content_length: int | None = None, hang: bool = False
    ) -> None:
        self.pieces = pieces
        self.content_length = content_length
        self.hang = hang

    async def chunks(self, size: int = 64 * 1024, *, max_bytes: int | None = None) -> AsyncIterator[bytes]:
        received = 0
        for piece in self.pieces:
            received += len(piece)
            if max_bytes is not None and received > max_bytes:
                raise ResponseTooLargeError(
                    "too large", status=200, method="GET", url="u", limit=max_bytes, received=received
                )
            yield piece
            await asyncio.sleep(0)
        if self.hang:
            await asyncio.Event().wait()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_write_pdf_renames_a_complete_body_into_place(tmp_path: Path) -> None:
    """A whole PDF lands under its name, byte for byte, and no temp file is left."""
    target = tmp_path / "a.pdf"
    size = await write_pdf(FakeBody([PDF[:10], PDF[10:]], content_length=len(PDF)), target, 10_000)
    assert size == len(PDF)
    assert target.read_bytes() == PDF
    assert leftovers(tmp_path) == ["a.pdf"]
    assert is_complete_pdf(target)
    assert complete_size(target) == len(PDF)


async def test_write_pdf_writes_large_bodies_in_chunks(tmp_path: Path) -> None:
    """A body larger than one disk write arrives whole."""
    body = b"%PDF-1.7\n" + bytes(range(256)) * 4096 + b"%%EOF"
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    target = tmp_path / "big.pdf"
    assert await write_pdf(FakeBody(pieces), target, 10 * 1024 * 1024) == len(body)
    assert target.read_bytes() == body


@pytest.mark.parametrize(
    ("pieces", "content_length", "cap", "error"),
    [
        ([b"<html>not a pdf</html>"], None, 10_000, ResponseDecodeError),
        ([PDF[:-8]], None, 10_000, APIConnectionError),  # no %%EOF: cut off
        ([PDF], len(PDF) + 5, 10_000, APIConnectionError),  # shorter than declared
        ([PDF[:600], PDF[600:]], None, 1000, ResponseDecodeError),  # over the cap while streaming
        ([PDF], len(PDF), 1000, ResponseDecodeError),  # declared over the cap: refused up front
    ],
)
async def test_write_pdf_leaves_nothing_on_failure(
    tmp_path: Path, pieces: list[bytes], content_length: int | None, cap: int, error: type[Exception]
) -> None:
    """A body that is not a PDF, cut off, short or too large fails and leaves no file, not even a temp."""
    target = tmp_path / "a.pdf"
    with pytest.raises(error):
        await write_pdf(FakeBody(pieces, content_length=content_length), target, cap)
    assert leftovers(tmp_path) == []


async def test_write_pdf_keeps_an_existing_file_when_the_new_one_fails(tmp_path: Path) -> None:
    """The old file stays as it was until a new one is complete."""
    target = tmp_path / "a.pdf"
    target.write_bytes(PDF)
    with pytest.raises(APIConnectionError):
        await write_pdf(FakeBody([PDF[:50]]), target, 10_000)
    assert target.read_bytes() == PDF
    assert leftovers(tmp_path) == ["a.pdf"]


async def test_write_pdf_removes_the_temp_file_when_cancelled(tmp_path: Path) -> None:
    """Cancelling mid-body removes the temp file and propagates the cancellation."""
    target = tmp_path / "a.pdf"
    task = asyncio.create_task(write_pdf(FakeBody([PDF[:100]], hang=True), target, 10_000))
    for _ in range(50):
        await asyncio.sleep(0.01)
        if leftovers(tmp_path):
            break
    assert leftovers(tmp_path)  # the temp file exists while the body arrives
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(tmp_path) == []


def test_is_complete_pdf_tells_whole_files_from_partial_ones(tmp_path: Path) -> None:
    """Missing, empty, not-PDF and cut-off files are incomplete; complete_size is None for them."""
    cases = {"empty.pdf": b"", "html.pdf": b"<html>", "cut.pdf": PDF[:-8], "whole.pdf": PDF}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert [is_complete_pdf(tmp_path / n) for n in cases] == [False, False, False, True]
    assert is_complete_pdf(tmp_path / "missing.pdf") is False
    assert complete_size(tmp_path / "cut.pdf") is None

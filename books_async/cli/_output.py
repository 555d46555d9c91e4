"""What the CLI prints: plain lines and tables (drawn by ``rich`` when installed); progress on a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from books_async.bulk import Settled

__all__ = ["Output", "ProgressFn"]

ProgressFn = Callable[["Settled[object, object]"], None]


_CHUNK = 8192


def _no_progress(settled: Settled[object, object]) -> None:
    pass


def _no_count(done: int, total: int) -> None:
    pass


class Output:
    """Writes results to ``out`` and progress and warnings to ``err``.

    On a terminal, with ``rich`` installed (the ``cli`` extra), tables are drawn; piped or captured output,
    or no ``rich``, gets plain aligned text that scripts can read. Progress goes to ``err`` on a terminal.
    """

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, plain: bool = False) -> None:
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.rich = False
        if not plain and self.out.isatty():
            try:
                import rich.console  # noqa: F401  # optional: the `cli` extra
            except ImportError:
                pass
            else:
                self.rich = True

    def line(self, text: str = "") -> None:
        """Print one line of results (or a multi-line document); a closed pipe raises ``BrokenPipeError``."""
        text += "\n"
        # CPython drops the error of a large write that a reader leaving cut short (`| head`): written in
        # chunks, the next one meets the closed pipe and raises, as the CLI's exit status needs.
        for start in range(0, len(text), _CHUNK):
            self.out.write(text[start : start + _CHUNK])
            self.out.flush()

    def binary(self, content: bytes) -> None:
        """Write bytes (a PDF) to ``out``'s binary stream, in chunks as :meth:`line` does."""
        self.out.flush()
        stream = self.out.buffer
        for start in range(0, len(content), _CHUNK):
            stream.write(content[start : start + _CHUNK])
            stream.flush()

    def note(self, text: str) -> None:
        """Print a line of commentary (progress, warnings) to ``err``."""
        self.err.write(text + "\n")
        self.err.flush()

    def table(
        self,
        title: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        right: Collection[int] = (),
    ) -> None:
        """Print a table; the columns whose index is in ``right`` are right-aligned (numbers)."""
        if self.rich:
            from rich.console import Console
            from rich.table import Table

            table = Table(title=title, title_justify="left")
            for i, header in enumerate(headers):
                table.add_column(header, justify="right" if i in right else "left")
            for row in rows:
                table.add_row(*row)
            Console(file=self.out, soft_wrap=False).print(table)
            return
        widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=False))
            ).rstrip()

        if title:
            self.line(title)
        self.line(fmt(headers))
        self.line(fmt(["-" * w for w in widths]))
        for row in rows:
            self.line(fmt(row))

    @contextlib.contextmanager
    def progress(self, label: str, total: int) -> Iterator[ProgressFn]:
        """Show a progress bar for ``total`` items while the block runs; yields the callback to pass on."""
        with self.counter(label) as update:

            def advance(settled: Settled[object, object]) -> None:
                update(settled.done, total)

            yield advance if total else _no_progress

    @contextlib.contextmanager
    def counter(self, label: str) -> Iterator[Callable[[int, int], None]]:
        """Show progress (``update(done, total)``) on ``err`` if it is a terminal; never in a pipe or log.

        A bar with ``rich`` (the ``cli`` extra); otherwise one line rewritten in place.
        """
        if not self.err.isatty():
            yield _no_count
            return
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:
            yield from self._plain_counter(label)
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(file=self.err), transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update

    def _plain_counter(self, label: str) -> Iterator[Callable[[int, int], None]]:
        def update(done: int, total: int) -> None:
            self.err.write(f"\r{label}: {done}/{total}")
            self.err.flush()

        try:
            yield update
        finally:
            self.err.write("\r\033[K")  # clear the line: the bar is gone once the work is done
            self.err.flush()

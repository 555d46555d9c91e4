"""What the CLI prints: plain lines and tables, or rich ones and progress bars when ``rich`` is installed."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from books_async.bulk import Settled

__all__ = ["Output", "ProgressFn"]

ProgressFn = Callable[["Settled[object, object]"], None]


def _no_progress(settled: Settled[object, object]) -> None:
    pass


class Output:
    """Writes results to ``out`` and progress and warnings to ``err``.

    On a terminal, with ``rich`` installed (the ``cli`` extra), tables are drawn and progress bars shown;
    piped or captured output, or no ``rich``, gets plain aligned text that scripts can read, and no bars.
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
        """Print one line of results."""
        self.out.write(text + "\n")
        self.out.flush()

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
        if not (self.rich and total and self.err.isatty()):  # rich, and both streams are terminals
            yield _no_progress
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(file=self.err), transient=True) as bar:
            task = bar.add_task(label, total=total)

            def advance(settled: Settled[object, object]) -> None:
                bar.update(task, completed=settled.done)

            yield advance

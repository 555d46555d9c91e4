"""Progress on stderr: shown on a terminal, never in a pipe, a file or a log."""

from __future__ import annotations

import io

from books_async.cli._output import Output


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Always a terminal."""
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    """Piped or redirected stderr gets no progress at all, so logs and scripts stay clean."""
    err = io.StringIO()
    output = Output(io.StringIO(), err)
    with output.counter("Listing invoices") as update:
        update(50, 230)
        update(230, 230)
    assert err.getvalue() == ""


def test_progress_is_drawn_when_stderr_is_a_terminal() -> None:
    """A terminal's stderr shows the count as it moves, even with stdout redirected to a file."""
    err = Terminal()
    output = Output(io.StringIO(), err)
    with output.counter("Listing invoices") as update:
        update(230, 230)
    assert "230" in err.getvalue()

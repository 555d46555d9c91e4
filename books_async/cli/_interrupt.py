"""Ctrl-C for bulk commands: the first press stops gracefully, the second aborts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from types import TracebackType

__all__ = ["GracefulStop"]


class GracefulStop:
    """While active, the first SIGINT sets :attr:`event` (helpers finish in-flight items and return), and the
    second cancels the task that entered it (in-flight requests are cancelled, temp files removed).

    Where signal handlers cannot be installed (Windows, a thread other than the main one), Ctrl-C keeps its
    default behaviour: ``asyncio.run`` cancels the main task.
    """

    def __init__(self, notice: Callable[[], None]) -> None:
        self.event = asyncio.Event()
        self._notice = notice
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def stopped(self) -> bool:
        """Whether Ctrl-C was pressed."""
        return self.event.is_set()

    def _on_sigint(self) -> None:
        if not self.event.is_set():
            self.event.set()
            self._notice()
        elif self._task is not None:
            self._task.cancel()

    def __enter__(self) -> GracefulStop:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            self._loop = loop
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGINT)
            self._loop = None

"""The per-organisation quota: a sliding-window log, as strict as the live API's 100 requests a minute."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

__all__ = ["SlidingWindowLog"]


class SlidingWindowLog:
    """Accept at most ``max_requests`` per organisation in any ``period`` seconds.

    Every key of an organisation draws on the same log. A rejected request is not logged, so a client
    hammering at the limit does not push its own window further out.
    """

    def __init__(self, max_requests: int, period: float, clock: Callable[[], float]) -> None:
        if max_requests < 1 or period <= 0:
            raise ValueError("a rate limit needs at least 1 request over a positive period")
        self.max_requests = max_requests
        self.period = period
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}

    def acquire(self, org_id: str, now: float | None = None) -> int | None:
        """Count one request of ``org_id``; return None if it is accepted, else the whole seconds to wait."""
        if now is None:
            now = self._clock()
        log = self._logs.get(org_id)
        if log is None:
            log = self._logs[org_id] = deque()
        cutoff = now - self.period
        while log and log[0] <= cutoff:
            log.popleft()
        if len(log) >= self.max_requests:
            # The oldest request leaves the window at log[0] + period; a request is accepted from then.
            return max(1, math.ceil(log[0] + self.period - now))
        log.append(now)
        return None

    def reset(self) -> None:
        """Forget every organisation's log."""
        self._logs.clear()

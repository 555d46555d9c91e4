"""How big a bulk-create body may be: what the API's front door accepts, and what its answer may weigh.

The reference promises 5 MB. The vendor deploys on Vercel, whose functions refuse request bodies over 4.5 MB
with a 413 of their own (``FUNCTION_PAYLOAD_TOO_LARGE``, text, not JSON), and fail answers over 4.5 MB with
a 500 after the work is done. A bulk create's answer is bigger than its request (ids, dates, per-line tax,
totals: 2-4 times, measured against the sandbox), so a 5 MB batch would be created and then answered 500,
which costs a reconciliation. Hence two limits, both kept per client for its whole life:

- the request limit a 413 teaches: the platform's 4.5 MB first, then half of what was refused, so a front
  door stricter than promised costs a few requests once, not one per batch;
- the answer ratio, measured on every answer: a body is kept under ``max_answer_bytes / ratio``. Until a
  first answer was measured, a job sends small probes, one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from books_async._exceptions import ConfigurationError
from books_async._resource import MAX_BODY_BYTES

__all__ = ["PLATFORM_LIMIT", "BodyLimits", "pack"]

log = logging.getLogger("books_async.bulk")

PLATFORM_LIMIT = 4_500_000
"""Vercel's limit on function request and response bodies, "4.5 MB": read as decimal, the smaller guess."""
# A body sent before any answer was measured is this share of the answer limit (~280 KB of 4.5 MB): small
# enough for an answer 16 times its size, where 2-4 times is usual.
_PROBE_SHARE = 16
# Answers vary with the items (short lines gain the most), so the largest ratio seen gets some headroom.
_RATIO_MARGIN = 1.1


class BodyLimits:
    """What one client has learned about bulk body sizes; ``books.bulk`` keeps it for the client's life."""

    def __init__(self, request_limit: int) -> None:
        self.request_limit = request_limit
        """The largest body to pack; only ever lowered, by a 413."""
        self.refused_at: int | None = None
        """The smallest body a 413 refused: a body that big or bigger is not sent again."""
        self._ratios: dict[str, float] = {}

    def __repr__(self) -> str:
        return (
            f"<BodyLimits request_limit={self.request_limit} refused_at={self.refused_at} "
            f"ratios={self._ratios}>"
        )

    def ratio(self, kind: str) -> float | None:
        """The largest answer/request size ratio seen for bulk creates of ``kind``, or None before any."""
        return self._ratios.get(kind)

    def limit(self, kind: str, max_request_bytes: int, max_answer_bytes: int | None) -> int:
        """The largest body to pack now for ``kind``, under the caller's limits and what was learned."""
        limit = min(max_request_bytes, self.request_limit)
        if max_answer_bytes is not None:
            ratio = self._ratios.get(kind)
            if ratio is None:
                by_answer = max_answer_bytes // _PROBE_SHARE
            else:
                by_answer = int(max_answer_bytes / (ratio * _RATIO_MARGIN))
            limit = min(limit, by_answer)
        return limit

    def answered(self, kind: str, sent: int, received: int) -> None:
        """Record that a body of ``sent`` bytes got an answer of ``received`` bytes."""
        if sent > 0 and received > 0 and received / sent > self._ratios.get(kind, 0.0):
            self._ratios[kind] = received / sent

    def refused(self, path: str, size: int, items: int) -> None:
        """Learn from a 413 for a body of ``size`` bytes holding ``items`` items."""
        if self.refused_at is None or size < self.refused_at:
            self.refused_at = size
        # Several batches in flight may be refused together: each lowers to at most its own guess, so the
        # limit falls one step per round of 413s, not one per batch.
        lowered = PLATFORM_LIMIT if size > PLATFORM_LIMIT else size // 2
        if items > 1 and lowered < self.request_limit:
            self.request_limit = max(lowered, 1)
            log.warning(
                "POST %s: the API refused a %d-byte body as too large (413); this client sends bulk bodies "
                "of at most %d bytes from now on",
                path,
                size,
                self.request_limit,
            )

    def refuses(self, body_size: int) -> bool:
        """Whether a body of ``body_size`` bytes is at least one a 413 already refused."""
        return self.refused_at is not None and body_size >= self.refused_at


def pack(
    sizes: Iterable[tuple[int, int]], *, limit: int = MAX_BODY_BYTES, max_items: int | None = None
) -> Iterator[list[int]]:
    """Group items into JSON array bodies of at most ``limit`` bytes, greedily, in input order.

    ``sizes`` gives ``(index, serialised size)`` per item; each yielded chunk is a list of indexes whose
    array ``[a,b,c]`` is ``2 + sum(sizes) + (len - 1)`` bytes. Items are never split or reordered. An item
    that cannot fit even alone (``size + 2 > limit``) must be filtered out by the caller.

    Raises:
        ConfigurationError: an item is too big to fit alone, or ``max_items`` is not positive.
    """
    if max_items is not None and max_items < 1:
        raise ConfigurationError(f"max_items must be a positive integer or None; got {max_items!r}.")
    chunk: list[int] = []
    body = 2  # the brackets
    for index, size in sizes:
        if size + 2 > limit:
            raise ConfigurationError(f"item {index} is {size:,} bytes: it cannot fit in {limit:,} alone.")
        extra = size + (1 if chunk else 0)  # a comma before every item but the first
        if chunk and (body + extra > limit or len(chunk) == max_items):
            yield chunk
            chunk, body, extra = [], 2, size
        chunk.append(index)
        body += extra
    if chunk:
        yield chunk

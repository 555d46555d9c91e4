"""Injected faults: server errors before processing, dropped connections after it, and latency.

The spec string is a comma-separated list of ``KIND:PROBABILITY[:ARG]`` items::

    503:0.05            answer 503 (any 5xx code works) before processing, with probability 0.05
    drop:0.02           process the request (writes happen), then close the connection without an answer
    slow:0.1:1.5        wait 1.5 s (default 1 s) before processing, with probability 0.1

A seed makes the sequence of faults reproducible for a given sequence of requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["FaultInjector", "FaultSpec", "parse_faults"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    """Probabilities of each injected fault; the default injects nothing."""

    errors: tuple[tuple[int, float], ...] = ()
    """(status, probability) pairs for answers sent before processing, e.g. ``((503, 0.05),)``."""
    drop: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0

    @property
    def active(self) -> bool:
        """True if any fault can happen."""
        return bool(self.drop or self.slow or any(p for _, p in self.errors))

    def __str__(self) -> str:
        parts = [f"{status}:{p:g}" for status, p in self.errors]
        if self.drop:
            parts.append(f"drop:{self.drop:g}")
        if self.slow:
            parts.append(f"slow:{self.slow:g}:{self.slow_seconds:g}")
        return ",".join(parts)


def _probability(text: str, item: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise ValueError(f"fault {item!r}: {text!r} is not a probability") from None
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"fault {item!r}: probability must be between 0 and 1")
    return p


def parse_faults(spec: str | FaultSpec | None) -> FaultSpec:
    """Return the :class:`FaultSpec` a string such as ``"503:0.05,drop:0.02,slow:0.1:1.5"`` describes.

    Raises:
        ValueError: an unknown kind, a probability outside [0, 1], or a negative delay.
    """
    if spec is None:
        return FaultSpec()
    if isinstance(spec, FaultSpec):
        return spec
    errors: list[tuple[int, float]] = []
    drop = slow = 0.0
    slow_seconds = 1.0
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        kind, _, rest = item.partition(":")
        prob_text, _, arg = rest.partition(":")
        kind = kind.strip().lower()
        if kind == "drop" and not arg:
            drop = _probability(prob_text, item)
        elif kind == "slow":
            slow = _probability(prob_text, item)
            if arg:
                try:
                    slow_seconds = float(arg)
                except ValueError:
                    raise ValueError(f"fault {item!r}: {arg!r} is not a number of seconds") from None
                if slow_seconds < 0:
                    raise ValueError(f"fault {item!r}: the delay must not be negative")
        elif kind.isdigit() and 500 <= int(kind) <= 599 and not arg:
            errors.append((int(kind), _probability(prob_text, item)))
        else:
            raise ValueError(
                f"unknown fault {item!r}: use STATUS:P (a 5xx status), drop:P or slow:P[:SECONDS]"
            )
    return FaultSpec(errors=tuple(errors), drop=drop, slow=slow, slow_seconds=slow_seconds)


@dataclass(slots=True)
class FaultInjector:
    """Draws the faults of each request from one seeded random stream."""

    spec: FaultSpec
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Not for security: a seeded stream makes fault sequences reproducible.
        self._random = random.Random(self.seed)  # noqa: S311

    def delay(self) -> float:
        """Seconds to wait before processing this request (0 for none)."""
        if self.spec.slow and self._random.random() < self.spec.slow:
            return self.spec.slow_seconds
        return 0.0

    def error_status(self) -> int | None:
        """A status to answer instead of processing this request, or None."""
        for status, p in self.spec.errors:
            if p and self._random.random() < p:
                return status
        return None

    def drop(self) -> bool:
        """True if the connection should be closed instead of sending this request's answer."""
        return bool(self.spec.drop) and self._random.random() < self.spec.drop

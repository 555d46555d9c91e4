"""MongoDB-style ObjectIds and timestamps, as the live API returns them."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

__all__ = ["IST", "now_iso", "object_id", "today"]

# An ObjectId is 4 bytes of Unix time, 5 random bytes per process and a 3-byte counter, so ids made in
# one process sort by creation time and never collide.
_PROCESS_UNIQUE: Final = os.urandom(5)
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))

IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
"""Indian Standard Time: the API's business dates (due dates, "today") are Indian dates."""


def object_id() -> str:
    """Return a new 24-character lowercase hex ObjectId."""
    seconds = int(time.time()) & 0xFFFFFFFF
    count = next(_COUNTER) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_UNIQUE + count.to_bytes(3, "big")).hex()


def now_iso() -> str:
    """Return the current UTC time as the ODM writes it: ``2025-04-01T09:30:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def today() -> date:
    """Return today's date in India, against which due and expiry dates are compared."""
    return datetime.now(IST).date()

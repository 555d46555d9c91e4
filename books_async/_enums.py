"""``OpenEnum``: the base of every generated enum, open to values the spec does not list.

The live API's vocabulary is inferred (the reference names no enum), and a server adds values long before a
client learns them. A closed enum would turn one new status into an unreadable page, so an unlisted string
becomes a member-like value of the same class: it compares equal to its string, prints as it, and says
through :meth:`OpenEnum.is_known` that the spec does not list it. A ``match`` over the members therefore
needs a ``case _:`` arm.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = ["OpenEnum"]


class OpenEnum(StrEnum):
    """A ``StrEnum`` that also holds values it does not list (``InvoiceStatus("unpaid")``)."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        # Not cached in the class's member maps: a server could send any number of distinct values.
        unknown = str.__new__(cls, value)
        unknown._name_ = value
        unknown._value_ = value
        return unknown

    def is_known(self) -> bool:
        """Whether the spec lists this value (``False`` for one only the server knows)."""
        return type(self)._value2member_map_.get(self._value_) is self

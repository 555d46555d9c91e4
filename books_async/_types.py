"""Small shared types: the ``NOT_GIVEN`` sentinel, the ``JSON`` alias and ``TimeoutArg``."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

if TYPE_CHECKING:
    # Only for the annotation: _config imports nothing from here at run time, but keeping this
    # import type-only means neither module can ever pull the other in half-initialised.
    from ._config import Timeout

__all__ = ["JSON", "NOT_GIVEN", "NotGiven", "TimeoutArg"]


@final
class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument the caller did not pass.

    ``None`` is a real value on the wire ("send null", "no timeout"), so "not passed" needs its own
    marker, as httpx's ``UseClientDefault`` and openai's ``NotGiven`` do. The instance is falsy, so
    ``if timeout:`` reads naturally, but code should test ``is NOT_GIVEN`` or ``isinstance``.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance, so `is NOT_GIVEN` holds even after copy or pickle round-trips.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""Default of optional keyword arguments whose ``None`` would mean something else."""

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | Decimal | bool | None
"""A JSON value as books-async reads and writes it.

``Decimal`` is included because money stays ``Decimal`` all the way to the bytes:
:func:`books_async._serde.dumps` writes its exact digits as a JSON number (``1500.00``), where a
float would have lost the scale and, past 15 digits, the value. Parsed bodies hold no ``Decimal``
until they are structured into a model.
"""

TimeoutArg: TypeAlias = "float | Timeout | NotGiven | None"
"""What a ``timeout=`` argument accepts: seconds for the whole request, a :class:`Timeout`, ``None``
for no limit, or ``NOT_GIVEN`` for the client's own setting."""

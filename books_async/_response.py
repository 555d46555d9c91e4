"""Raw responses: any operation's status, headers and body, decoded only when asked.

``books.invoices.with_raw_response.get(id)`` runs the very same ``get`` with a capture set in a
``ContextVar``. The resource's request helpers look at it once per call (one ``ContextVar.get()``, all the
plain path pays), and when it is set they ask the transport for the whole answer, put it in the capture
as a :class:`RawResponse` whose :meth:`~RawResponse.parse` decodes it the way the plain call would, and
return a placeholder that the wrapper discards. So a body that does not match the spec can still be read,
and the operations need no second, raw-returning copy.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Generic, ParamSpec, TypeVar, cast, final

from books_async import _serde
from books_async._exceptions import ResponseDecodeError

__all__ = ["RawCapture", "RawResponse", "parse_json", "raw_capture", "raw_response"]

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_UNPARSED = object()


def parse_json(raw: bytes, where: str) -> object:
    """Return ``raw`` parsed as JSON (numbers with a fraction as exact ``Decimal``), ``None`` if empty.

    Raises:
        ResponseDecodeError: the body is not JSON; ``where`` (``"GET /books/x"``) starts the message.
    """
    if not raw:
        return None
    try:
        return _serde.loads(raw)
    # UnicodeDecodeError is a ValueError; RecursionError is json's answer to absurdly deep nesting.
    except (ValueError, RecursionError) as exc:
        raise ResponseDecodeError(
            f"{where}: the response body is not valid JSON; read it as bytes through with_raw_response."
        ) from exc


@final
class RawResponse(Generic[T_co]):
    """A 2xx answer as it arrived, and what the plain call would have returned, decoded on demand.

    Error answers still raise, as in the plain call: a 404 is a :class:`NotFoundError` either way.
    """

    __slots__ = ("_parse", "_parsed", "_where", "content", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        parse: Callable[[bytes], T_co],
        where: str,
    ) -> None:
        self.status = status
        """The HTTP status code."""
        self.headers = headers
        """The answer's headers: read-only, looked up in any letter case."""
        self.content = content
        """The body, exactly as received."""
        self._parse = parse
        self._parsed: object = _UNPARSED
        self._where = where

    @property
    def request_id(self) -> str | None:
        """The server's id for this request (``x-request-id``, else ``x-vercel-id``), to quote to support."""
        return self.headers.get("x-request-id") or self.headers.get("x-vercel-id") or None

    def json(self) -> object:
        """Return the body parsed as JSON (numbers with a fraction as exact ``Decimal``), ``None`` if empty.

        Raises:
            ResponseDecodeError: the body is not JSON.
        """
        return parse_json(self.content, self._where)

    def parse(self) -> T_co:
        """Return what the plain call returns (a model, a list, ``bytes`` or ``None``), decoded once.

        Raises:
            ResponseDecodeError: the body does not match the spec, exactly as the plain call would.
        """
        if self._parsed is _UNPARSED:
            self._parsed = self._parse(self.content)
        return cast("T_co", self._parsed)

    def __repr__(self) -> str:
        # Never the headers or body: either may hold personal data.
        return f"<RawResponse status={self.status} request_id={self.request_id!r}>"


class RawCapture:
    """Where a request helper leaves the raw answer of the call being wrapped."""

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: RawResponse[object] | None = None


raw_capture: ContextVar[RawCapture | None] = ContextVar("books_async_raw_capture", default=None)
"""Set while a ``with_raw_response`` call runs; the first request made under it fills it."""


def raw_response(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[RawResponse[T]]]:
    """Wrap an operation so that it answers a :class:`RawResponse` of what it would have returned.

    The wrapper takes exactly the operation's parameters (overloads included).
    """

    @functools.wraps(operation)
    async def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        capture = RawCapture()
        token = raw_capture.set(capture)
        try:
            await operation(*args, **kwargs)  # its return value is a placeholder; the answer is captured
        finally:
            raw_capture.reset(token)
        if capture.response is None:
            raise RuntimeError(
                f"{operation.__qualname__} made no request, so there is no response to return."
            )
        return cast("RawResponse[T]", capture.response)

    return call

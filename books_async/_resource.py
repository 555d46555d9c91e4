"""The base class of every resource: what the generated endpoint stubs call.

The stubs in ``_generated/resources`` only say which method, path, parameters and types an operation has;
encoding, validation, sending and decoding live here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar, overload
from urllib.parse import quote

from books_async import _serde
from books_async._exceptions import ErrorDetail, InvalidRequestError
from books_async._transport import Transport
from books_async._types import NOT_GIVEN, TimeoutArg

__all__ = ["Resource"]

T = TypeVar("T")

# URL normalisation turns `/invoices/..` into `/`: a DELETE of ".." would reach another resource.
_DOT_SEGMENTS = frozenset({".", ".."})


class Resource:
    """One API resource (``books.invoices``, ``books.orgs``...) bound to a transport."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._transport.base_url}>"

    @staticmethod
    def _path(template: str, /, **values: object) -> str:
        """Fill ``template``'s ``{name}`` slots, each value percent-encoded as exactly one path segment.

        Ids are not checked against a format (the spec's ObjectId is our inference, not the API's rule);
        only what would change which resource the request reaches is refused, before any request.

        Raises:
            InvalidRequestError: a value is not a string, is empty, or is ``.`` or ``..``.
        """
        for name, value in values.items():
            if isinstance(value, str) and value and value not in _DOT_SEGMENTS:
                # Ids as the API makes them (hex ObjectIds) need no quoting, and this test costs less.
                if not (value.isascii() and value.isalnum()):
                    values[name] = quote(value, safe="")  # `values` is this call's own kwargs dict
                continue
            if isinstance(value, str):
                problem, code = f"{value!r} cannot be an id", "invalid_string"
            else:
                problem, code = f"expected a string id, got {type(value).__name__}", "invalid_type"
            raise InvalidRequestError(
                f"Invalid {name}: {problem}. Pass the object's id as the API returned it.",
                [ErrorDetail(path=(name,), message="Invalid id", code=code)],
            )
        return template.format_map(values)

    @staticmethod
    def _encode(body: object, body_model: type | None) -> bytes | None:
        if body is NOT_GIVEN or body is None:
            return None
        # The operation's model lets a plain dict body be checked like the model it stands for.
        _serde.validate_request(body, body_model)
        return _serde.dumps(_serde.unstructure_request(body))

    @overload
    async def _request(
        self,
        method: str,
        path: str,
        *,
        response_type: type[T],
        params: Mapping[str, object] | None = ...,
        body: object = ...,
        body_model: type | None = ...,
        timeout: TimeoutArg = ...,
    ) -> T: ...

    @overload
    async def _request(
        self,
        method: str,
        path: str,
        *,
        response_type: None,
        params: Mapping[str, object] | None = ...,
        body: object = ...,
        body_model: type | None = ...,
        timeout: TimeoutArg = ...,
    ) -> None: ...

    async def _request(
        self,
        method: str,
        path: str,
        *,
        response_type: type[T] | None,
        params: Mapping[str, object] | None = None,
        body: object = NOT_GIVEN,
        body_model: type | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> T | None:
        """Send one operation and decode its answer into ``response_type`` (``None``: no body)."""
        raw = await self._transport.request(
            method, path, params=params, body=self._encode(body, body_model), timeout=timeout
        )
        if response_type is None:
            return None
        return _serde.decode(raw, response_type, where=f"{method} {path}")

    async def _request_union(
        self,
        method: str,
        path: str,
        *,
        response_type: object,
        params: Mapping[str, object] | None = None,
        body: object = NOT_GIVEN,
        body_model: type | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> object:
        """Like :meth:`_request`, for answers typed as a union (one object or a list of them)."""
        raw = await self._transport.request(
            method, path, params=params, body=self._encode(body, body_model), timeout=timeout
        )
        return _serde.decode(raw, response_type, where=f"{method} {path}")

    async def _request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> bytes:
        """Send one operation and return its raw body (PDFs)."""
        return await self._transport.request(method, path, params=params, timeout=timeout)

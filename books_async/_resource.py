"""The base class of every resource: what the generated endpoint stubs call.

The stubs in ``_generated/resources`` only say which method, path, parameters and types an operation has;
encoding, validation, sending and decoding live here, once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import ClassVar, TypeVar, cast, overload
from urllib.parse import quote

from books_async import _serde
from books_async._config import CallArgs
from books_async._exceptions import (
    BooksError,
    ConfigurationError,
    ErrorDetail,
    InvalidRequestError,
    ResponseDecodeError,
    WriteAcceptedError,
)
from books_async._request_checks import validate_request
from books_async._response import RawCapture, RawResponse, raw_capture
from books_async._retry import READ_ONLY_POSTS
from books_async._transport import MAX_BODY_BYTES, ByteStream, Transport
from books_async._types import JSON, NOT_GIVEN, NotGiven, TimeoutArg

# MAX_BODY_BYTES and ByteStream are what callers of _post_encoded and _stream need to know of the transport.
__all__ = ["MAX_BODY_BYTES", "ByteStream", "Resource", "accepted_write_error"]

T = TypeVar("T")

# URL normalisation turns `/invoices/..` into `/`: a DELETE of ".." would reach another resource.
_DOT_SEGMENTS = frozenset({".", ".."})


class Resource:
    """One API resource (``books.invoices``, ``books.orgs``...) bound to a transport.

    Every operation also takes ``extra_headers``, ``extra_query`` and, when it has a body, ``extra_body``:
    sent as given, on top of what the spec describes, for what the API accepts and the spec does not know
    yet. ``extra_body``'s keys are added to the body (to each item of a bulk body) after the model is
    turned into JSON, replacing the model's own; auth headers cannot be overridden.
    """

    __slots__ = ("_strict", "_transport")

    _paths: ClassVar[Mapping[str, str]] = {}
    """Each operation's path template (``{id}`` slots unfilled), by method name; written by the generator."""

    def __init__(self, transport: Transport, *, strict_responses: bool = False) -> None:
        self._transport = transport
        self._strict = strict_responses

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
    def _encode(
        body: object, body_model: type | None, extra_body: Mapping[str, object] | None
    ) -> bytes | None:
        if body is NOT_GIVEN or body is None:
            if not extra_body:
                return None
            wire: JSON = {}
        else:
            # The operation's model lets a plain dict body be checked like the model it stands for.
            validate_request(body, body_model)
            wire = _serde.unstructure_request(body)
        if extra_body:
            wire = _with_extra_body(wire, extra_body)
        try:
            return _serde.dumps(wire)
        except TypeError as exc:  # orjson's error; its message names the type, never the value
            raise ConfigurationError(f"The request body cannot be written as JSON: {exc}.") from exc

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
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, object] | None = ...,
        extra_body: Mapping[str, object] | None = ...,
        timeout: TimeoutArg = ...,
        max_retries: int | NotGiven = ...,
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
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, object] | None = ...,
        extra_body: Mapping[str, object] | None = ...,
        timeout: TimeoutArg = ...,
        max_retries: int | NotGiven = ...,
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
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> T | None:
        """Send one operation and decode its answer into ``response_type`` (``None``: no body)."""
        call = _call_args(params, extra_query, extra_headers, timeout, max_retries)
        call["body"] = self._encode(body, body_model, extra_body)
        capture = raw_capture.get()
        if capture is not None and capture.response is None:
            await self._capture(capture, method, path, call, response_type)
            return None  # a placeholder: the with_raw_response wrapper returns the capture
        if response_type is None:
            await self._transport.request(method, path, **call)
            return None
        return cast(T, await self._send_and_decode(method, path, call, response_type))

    async def _request_union(
        self,
        method: str,
        path: str,
        *,
        response_type: object,
        params: Mapping[str, object] | None = None,
        body: object = NOT_GIVEN,
        body_model: type | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> object:
        """Like :meth:`_request`, for answers typed as a union (one object or a list of them)."""
        call = _call_args(params, extra_query, extra_headers, timeout, max_retries)
        call["body"] = self._encode(body, body_model, extra_body)
        capture = raw_capture.get()
        if capture is not None and capture.response is None:
            await self._capture(capture, method, path, call, response_type)
            return None  # a placeholder: the with_raw_response wrapper returns the capture
        return await self._send_and_decode(method, path, call, response_type)

    async def _send_and_decode(self, method: str, path: str, call: CallArgs, response_type: object) -> object:
        if method == "GET" or path in READ_ONLY_POSTS:
            raw = await self._transport.request(method, path, **call)
            return _serde.decode(raw, response_type, where=f"{method} {path}", strict=self._strict)
        # A write: its status is kept, so an answer that cannot be read still says the write happened.
        answer = await self._transport.request_raw(method, path, **call)
        return self._decode(answer.content, response_type, method, path, answer.status)

    def _decode(
        self,
        raw: bytes,
        response_type: object,
        method: str,
        path: str,
        status: int,
        strict: bool | None = None,
    ) -> object:
        """Decode a 2xx answer, strictly if ``strict`` (by default, the client) says so.

        Raises:
            WriteAcceptedError: the answer of a write could not be read; the write happened all the same.
            ResponseDecodeError: the answer of a read could not be read.
        """
        where = f"{method} {path}"
        try:
            return _serde.decode(
                raw, response_type, where=where, strict=self._strict if strict is None else strict
            )
        except ResponseDecodeError as exc:
            if method == "GET" or path in READ_ONLY_POSTS:
                exc.status, exc.body = status, raw
                raise
            raise accepted_write_error(exc, method, path, status, raw, self._transport.base_url) from exc

    async def _request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> bytes:
        """Send one operation and return its raw body (PDFs)."""
        call = _call_args(params, extra_query, extra_headers, timeout, max_retries)
        capture = raw_capture.get()
        if capture is not None and capture.response is None:
            await self._capture(capture, method, path, call, bytes)
            return b""  # a placeholder: the with_raw_response wrapper returns the capture
        return await self._transport.request(method, path, **call)

    async def _post_encoded(self, path: str, body: bytes, response_type: type[T]) -> RawResponse[T]:
        """POST a JSON body encoded by the caller; return the answer, whose ``parse()`` decodes it.

        Private on purpose: nothing checks ``body`` here, so the caller must have run the local checks
        on what it encoded (the bulk creates check and encode each item once, then join the bytes into
        arrays). Decoded tolerantly whatever ``strict_responses`` says, as bulk creates always were; an
        answer that cannot be read raises :class:`WriteAcceptedError` from ``parse()``.

        Raises:
            BooksError: what any write raises (the transport's errors for the status or the failure).
        """
        answer = await self._transport.request_raw("POST", path, body=body)
        decode = functools.partial(
            self._decode,
            response_type=response_type,
            method="POST",
            path=path,
            status=answer.status,
            strict=False,
        )
        parse = cast("Callable[[bytes], T]", decode)  # _decode returns what response_type says
        return RawResponse(answer.status, answer.headers, answer.content, parse, f"POST {path}")

    def _stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AbstractAsyncContextManager[ByteStream]:
        """Open a call whose 2xx body is read in chunks (downloads of any size); see ``Transport.stream``.

        Opening is retried like any call; a body that breaks off midway is not: see :meth:`_retry_delay`.
        """
        return self._transport.stream(method, path, params=params, timeout=timeout, max_retries=max_retries)

    def _retry_delay(self, attempt: int, exc: BooksError, method: str) -> float | None:
        """Seconds the client's retry policy waits before retry ``attempt + 1`` after ``exc``; None: stop."""
        return self._transport.retry.delay_for(attempt, exc, method)

    @property
    def _max_response_bytes(self) -> int:
        """The largest answer the client reads into memory (``max_response_bytes``)."""
        return self._transport.max_response_bytes

    async def _capture(
        self,
        capture: RawCapture,
        method: str,
        path: str,
        call: CallArgs,
        response_type: object,
    ) -> None:
        """Send one operation for ``with_raw_response``: keep the whole answer, decode nothing yet."""
        answer = await self._transport.request_raw(method, path, **call)
        where = f"{method} {path}"
        parse: Callable[[bytes], object]
        if response_type is None:
            parse = _no_body
        elif response_type is bytes:
            parse = bytes
        else:
            parse = functools.partial(
                self._decode, response_type=response_type, method=method, path=path, status=answer.status
            )
        capture.response = RawResponse(answer.status, answer.headers, answer.content, parse, where)


def accepted_write_error(
    cause: ResponseDecodeError, method: str, path: str, status: int, raw: bytes, base_url: str
) -> WriteAcceptedError:
    """The error for a write the API accepted (2xx) but whose answer was unreadable: never "retry"."""
    why = str(cause).removeprefix(f"{method} {path}: ")
    return WriteAcceptedError(
        f"{method} {path} -> {status}: the API accepted this write, but its answer could not be read, so the "
        f"write happened: do not send it again. Read the object back (by its number or id) or use .body. "
        f"Why: {why}",
        status=status,
        body=raw,
        method=method,
        url=base_url + path,
    )


def _call_args(
    params: Mapping[str, object] | None,
    extra_query: Mapping[str, object] | None,
    extra_headers: Mapping[str, str] | None,
    timeout: TimeoutArg,
    max_retries: int | NotGiven,
) -> CallArgs:
    if extra_query:
        params = {**params, **extra_query} if params else extra_query
    return {"params": params, "extra_headers": extra_headers, "timeout": timeout, "max_retries": max_retries}


def _no_body(raw: bytes) -> None:
    """What an operation without a response body returns, whatever came back."""


def _with_extra_body(wire: JSON, extra: Mapping[str, object]) -> JSON:
    """Return the wire body with ``extra``'s keys added (replacing the model's), in each item of a bulk body.

    Raises:
        ConfigurationError: the body is not a JSON object or an array of them, so has nowhere to put them.
    """
    if isinstance(wire, dict):
        return cast("JSON", {**wire, **extra})
    if isinstance(wire, list) and all(isinstance(item, dict) for item in wire):
        return cast("JSON", [{**cast("dict[str, JSON]", item), **extra} for item in wire])
    raise ConfigurationError("extra_body needs a JSON object body (or an array of them) to add its keys to.")

"""``BooksClient``: configuration, lifecycle, and one attribute per API resource."""

from __future__ import annotations

import asyncio
import functools
import math
import os
from collections.abc import Mapping
from ssl import CERT_NONE, SSLContext
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Unpack, cast

import attrs

from books_async import _serde
from books_async._auth import Secret
from books_async._body import DEFAULT_MAX_RESPONSE_BYTES
from books_async._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    CallArgs,
    RateLimit,
    Timeout,
    ViewOptions,
    as_timeout,
)
from books_async._exceptions import ConfigurationError
from books_async._limiter import Limiter, NoLimiter, limiter_for_key
from books_async._logging import redact_url, transport_log
from books_async._response import RawResponse, parse_json, raw_capture, raw_response
from books_async._retry import RetryPolicy
from books_async._transport import CLOSE_GRACE, Transport, normalise_base_url
from books_async._types import JSON, NOT_GIVEN, NotGiven, TimeoutArg
from books_async.resources import Customers, Invoices, Mobile, Orgs, Products, Quotes, Services, Validate

if TYPE_CHECKING:
    import aiohttp

    from books_async.bulk import Bulk
    from books_async.limiters._aiolimiter import AsyncLimiterLike

__all__ = ["DEFAULT_BASE_URL", "BooksClient", "BooksClientWithRawResponse"]

DEFAULT_BASE_URL = "https://techliftdigital.in/api/v1"
"""The production API. It has no trial mode: point ``base_url`` at the sandbox to experiment."""


@attrs.frozen
class _Settings:
    base_url: str
    auth_scheme: str


class BooksClient:
    """An async client for the techlift Books API.

    Use it as ``async with BooksClient() as books:``, or build it once (no running loop needed) and call
    :meth:`aclose` when done, e.g. in a FastAPI lifespan. Every resource hangs off it: ``books.invoices``,
    ``books.quotes``, ``books.customers``, ``books.products``, ``books.services``, ``books.orgs``,
    ``books.validate``, ``books.mobile``, and the bulk helpers at ``books.bulk``.

    Args:
        api_key: the key; ``BOOKS_API_KEY`` from the environment when omitted.
        base_url: the API's address; ``BOOKS_BASE_URL``, else production. Plain ``http://`` only to loopback.
            ``user:password@`` in it is sent as HTTP Basic auth (for a proxy in front of the API) and shown
            as ``[redacted]@`` everywhere.
        rate_limit: the quota to stay under (default 100 a minute); ``None`` turns client-side limiting off.
            Clients in one process with the same key share one limiter.
        limiter: a limiter to use instead, e.g. one shared by several keys of an organisation, or a
            :class:`books_async.limiters.RedisRateLimiter` shared by several processes, or an
            ``aiolimiter.AsyncLimiter`` (given a pause for 429s, see
            :class:`books_async.limiters.AiolimiterAdapter`). It brings its own quota: passing
            ``rate_limit`` too is a :class:`ConfigurationError`.
        timeout: seconds for the whole call, or a :class:`Timeout`; any call (and :meth:`with_options`) can
            override it.
        max_retries: retries after the first attempt, for 429s and, where safe, transient failures; any
            call can override it (``max_retries=``), as can :meth:`with_options`.
        max_retry_wait: a 429 asking for a longer wait than this raises :class:`RateLimitError` at once.
        auth_scheme: send the key as ``x-api-key`` (default) or as ``Authorization: Bearer``.
        session: an ``aiohttp.ClientSession`` to use; it stays yours and is not closed by :meth:`aclose`.
        connector: an ``aiohttp`` connector (connection pool) to share with other clients, e.g. one client
            per organisation (:class:`BooksClients` does this for you). The client still makes its own
            cookie-less session on it, so no organisation's cookies reach another's calls; the connector
            stays yours and is not closed by :meth:`aclose`. Not with ``session=``.
        max_response_bytes: the largest answer read into memory (default 32 MiB), error answers included;
            a larger one stops being read at the cap and raises :class:`ResponseTooLargeError` (or, for a
            write, :class:`WriteAcceptedError`). Downloads through the bulk helpers stream to disk instead.
        strict_responses: refuse any answer that differs from the spec (an enum value it does not list, a
            missing or null key, a date-time for a date, money as a string, an object for an id) with
            :class:`ResponseDecodeError` and its path, for contract tests in CI. By default answers are read
            tolerantly: such values read as open enum values, ``None`` (logged once), dates, Decimals, ids.
            Unknown keys are kept in either mode (:func:`books_async.extra`).
        trust_env: send through the proxy ``HTTPS_PROXY`` (or ``HTTP_PROXY``) names, unless ``NO_PROXY``
            exempts the API's host; read once, when the session is made. A loopback ``base_url`` only goes
            through a proxy on loopback. Not applied to a ``session=`` of yours (its own ``trust_env`` is).
        ssl: an ``ssl.SSLContext`` to verify the API's certificate with, e.g. one that also trusts a
            company CA (``ssl.create_default_context(cafile="company-ca.pem")``). Verification cannot be
            turned off with ``ssl=False``; a context you built without it is used, with a warning.

    Raises:
        ConfigurationError: no key, a bad ``base_url``, or a bad setting; raised here, before any I/O.
    """

    # Where retry waits go. No parameter, because users have no need of one; tests subclass the client
    # with a method that records each wait instead (tests/virtual_time.py, RecordingClient).
    _sleep = staticmethod(asyncio.sleep)

    invoices: Invoices
    quotes: Quotes
    customers: Customers
    products: Products
    services: Services
    orgs: Orgs
    validate: Validate
    mobile: Mobile

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        rate_limit: RateLimit | NotGiven | None = NOT_GIVEN,
        limiter: Limiter | AsyncLimiterLike | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        auth_scheme: Literal["x-api-key", "bearer"] = "x-api-key",
        session: aiohttp.ClientSession | None = None,
        connector: aiohttp.BaseConnector | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_responses: bool = False,
        trust_env: bool = True,
        ssl: SSLContext | None = None,
    ) -> None:
        key = Secret(api_key if api_key is not None else os.environ.get("BOOKS_API_KEY", ""))
        # Error trackers print every local of every frame of a traceback, this one's included when a
        # setting below is refused: from here on the key lives only in `key`, whose repr is redacted.
        del api_key
        if not key.reveal().strip():
            raise ConfigurationError(
                "No API key: pass BooksClient(api_key=...) or set BOOKS_API_KEY. "
                "To try things out without one, run the sandbox (books-async sandbox)."
            )
        url = normalise_base_url(base_url or os.environ.get("BOOKS_BASE_URL") or DEFAULT_BASE_URL)
        limits = as_timeout(timeout)
        cap: object = max_response_bytes  # typed int, but a caller's float or bool must not pass
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ConfigurationError(
                f"max_response_bytes must be a positive number of bytes; got {max_response_bytes!r}."
            )
        if limiter is not None and rate_limit is not NOT_GIVEN:
            raise ConfigurationError(
                "Pass rate_limit= or limiter=, not both: a limiter= brings its own quota "
                "(e.g. SlidingWindowLimiter(RateLimit(100, 60.0)))."
            )
        if limiter is not None and not isinstance(limiter, Limiter):
            limiter = _adopt_limiter(limiter)
        if limiter is None:
            quota = DEFAULT_RATE_LIMIT if isinstance(rate_limit, NotGiven) else rate_limit
            limiter = NoLimiter() if quota is None else limiter_for_key(key.reveal(), quota)
        _check_network(trust_env, ssl, url)
        retry = RetryPolicy(max_retries=max_retries, max_retry_wait=max_retry_wait)
        self._settings = _Settings(base_url=redact_url(url), auth_scheme=auth_scheme)
        self._transport = Transport(
            api_key=key,
            base_url=url,
            auth_scheme=auth_scheme,
            timeout=limits,
            limiter=limiter,
            retry=retry,
            session=session,
            max_response_bytes=max_response_bytes,
            sleep=self._sleep,
            trust_env=trust_env and session is None,
            ssl=ssl,
            connector=connector,
        )
        self._bind(strict_responses)

    def _bind(self, strict_responses: bool) -> None:
        self._strict_responses = strict_responses
        self.invoices = Invoices(self._transport, strict_responses=strict_responses)
        self.quotes = Quotes(self._transport, strict_responses=strict_responses)
        self.customers = Customers(self._transport, strict_responses=strict_responses)
        self.products = Products(self._transport, strict_responses=strict_responses)
        self.services = Services(self._transport, strict_responses=strict_responses)
        self.orgs = Orgs(self._transport, strict_responses=strict_responses)
        self.validate = Validate(self._transport, strict_responses=strict_responses)
        self.mobile = Mobile(self._transport, strict_responses=strict_responses)
        self._bulk: Bulk | None = None

    def with_options(
        self, *, strict_responses: bool | NotGiven = NOT_GIVEN, **options: Unpack[ViewOptions]
    ) -> BooksClient:
        """A view of this client with other defaults, sharing its session, limiter, key and counters.

        ``books.with_options(timeout=5, max_retries=0).invoices.get(id)``; this client is unchanged, and
        any call can still override the view's settings. Options: ``timeout``, ``max_retries``,
        ``max_retry_wait``, ``strict_responses``, and ``extra_headers``, sent on every call of the view (on
        top of the client's; auth headers cannot be set). Closing the view only stops it taking calls: the
        session is the client's, closed by the client's :meth:`aclose`.

        Raises:
            ConfigurationError: a bad setting; raised here, before any I/O.
        """
        transport = self._transport.with_options(**options)
        view = object.__new__(type(self))
        view._settings, view._transport = self._settings, transport
        view._bind(self._strict_responses if isinstance(strict_responses, NotGiven) else strict_responses)
        return view

    @property
    def bulk(self) -> Bulk:
        """The bulk helpers (``create_invoices``, ``download_pdfs``, ...) bound to this client."""
        if self._bulk is None:
            from books_async.bulk import Bulk  # keeps `import books_async` light

            self._bulk = Bulk(self)
        return self._bulk

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: object = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> object:
        """Send any call with this client's key, limiter, retries and errors; return the parsed JSON answer.

        For what the typed resources do not have (yet): ``await books.request("GET", "/books/invoices")``.
        ``json`` is written with every ``Decimal`` exact; in the answer, numbers with a fraction are
        ``Decimal``. An empty answer is ``None``. ``books.with_raw_response.request(...)`` gives the status,
        headers and bytes instead.

        Args:
            method: the HTTP method; whether a failure is retried depends on it, as for every call.
            path: below ``base_url``, starting with ``/``. Absolute URLs are refused: the key goes nowhere
                else.

        Raises:
            ConfigurationError: a bad ``method`` or ``path``, or ``json`` that is not JSON; nothing was sent.
            APIStatusError: the API answered with an error (a subclass per status).
            ResponseDecodeError: the answer is not JSON.
        """
        verb = method.upper()
        if not (verb.isascii() and verb.isalpha()):
            raise ConfigurationError(f"method must be an HTTP method such as 'GET'; got {method!r}.")
        if not path.startswith("/") or path.startswith("//"):
            raise ConfigurationError(
                f"path must start with a single '/' and is relative to base_url ({self.base_url}), e.g. "
                f"'/books/invoices'; got {path!r}. Absolute URLs are refused so the key goes nowhere else."
            )
        body: bytes | None = None
        if json is not None:
            try:
                body = _serde.dumps(cast("JSON", json))
            except TypeError as exc:  # orjson's error; its message names the type, never the value
                raise ConfigurationError(f"json cannot be written as JSON: {exc}.") from exc
        where = f"{verb} {path}"
        call: CallArgs = {
            "params": params,
            "body": body,
            "extra_headers": extra_headers,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        capture = raw_capture.get()
        if capture is not None and capture.response is None:
            answer = await self._transport.request_raw(verb, path, **call)
            parse = functools.partial(parse_json, where=where)
            capture.response = RawResponse(answer.status, answer.headers, answer.content, parse, where)
            return None  # a placeholder: the with_raw_response wrapper returns the capture
        return parse_json(await self._transport.request(verb, path, **call), where)

    @functools.cached_property
    def with_raw_response(self) -> BooksClientWithRawResponse:
        """:meth:`request`, answering a :class:`RawResponse` (status, headers, bytes) instead of JSON."""
        return BooksClientWithRawResponse(self)

    @property
    def base_url(self) -> str:
        """The API address in use, with any ``user:password`` in it shown as ``[redacted]``."""
        return self._settings.base_url

    @property
    def limiter(self) -> Limiter:
        """The limiter every call of this client waits on."""
        return self._transport.limiter

    @property
    def requests_sent(self) -> int:
        """Attempts sent so far, retries included."""
        return self._transport.requests_sent

    @property
    def rate_limited(self) -> int:
        """429 answers met so far."""
        return self._transport.rate_limited

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called; a closed client raises :class:`ClientClosedError` on use."""
        return self._transport.closed

    async def aclose(self, *, grace: float = CLOSE_GRACE) -> None:
        """Close the client, and its HTTP session unless it was passed in. Idempotent.

        Calls still in flight get ``grace`` seconds (default 5) to finish; then they are ended. A POST that
        may have reached the API then raises :class:`OutcomeUnknownError` (:class:`WriteAcceptedError` if
        its 2xx status had arrived), any other call :class:`ClientClosedError`.
        """
        wait: object = grace
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait < math.inf:
            raise ConfigurationError(f"grace must be a non-negative number of seconds; got {grace!r}.")
        await self._transport.aclose(grace)

    async def __aenter__(self) -> BooksClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Error trackers repr() the locals of a constructor that raised, `self` before _settings is set.
        s = getattr(self, "_settings", None)
        if s is None:
            return "<BooksClient (not constructed)>"
        return f"<BooksClient base_url={s.base_url!r} auth={s.auth_scheme} key=[redacted]>"


def _check_network(trust_env: object, ssl: object, url: str) -> None:
    if not isinstance(trust_env, bool):
        raise ConfigurationError(f"trust_env must be True or False; got {trust_env!r}.")
    if ssl is None:
        return
    if not isinstance(ssl, SSLContext):
        raise ConfigurationError(
            f"ssl must be an ssl.SSLContext (or None for the default verification); got {ssl!r}. The client "
            "does not turn certificate verification off: to trust a company CA, pass "
            'ssl=ssl.create_default_context(cafile="company-ca.pem").'
        )
    if ssl.verify_mode == CERT_NONE:
        transport_log.warning(
            "the ssl context passed to BooksClient does not verify certificates: %s can be impersonated",
            redact_url(url),
        )


def _adopt_limiter(limiter: object) -> Limiter:
    from books_async.limiters._aiolimiter import adapt_aiolimiter  # only for a limiter= of another kind

    adapted = adapt_aiolimiter(limiter)
    if adapted is None:
        raise ConfigurationError(
            "limiter= must be a books_async Limiter (async acquire() and penalise(retry_after)) or an "
            f"aiolimiter.AsyncLimiter; got {type(limiter).__name__}."
        )
    return adapted


class BooksClientWithRawResponse:
    """``books.with_raw_response``: :meth:`BooksClient.request` answering a :class:`RawResponse`."""

    __slots__ = ("request",)

    def __init__(self, client: BooksClient) -> None:
        self.request = raw_response(client.request)

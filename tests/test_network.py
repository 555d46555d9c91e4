"""Corporate networks: proxies from the environment and a company CA, through a real proxy and TLS server."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from aiohttp import web

from books_async import APIConnectionError, BooksClient, ConfigurationError
from books_async.sandbox import Sandbox
from tests.proxy_server import Proxy, forward_proxy
from tests.scripted_server import INVOICE_ID, ScriptedServer

KEY = "sk_test_network_0123456789"

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy settings but the ones a test sets."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    async with forward_proxy() as p:
        yield p


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[ScriptedServer]:
    """A scripted server on https://127.0.0.1, its certificate signed by a CA no default store trusts."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    server = ScriptedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    server.base_url = f"https://127.0.0.1:{runner.addresses[0][1]}/api/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


def company_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def test_https_proxy_from_env_tunnels_with_connect(
    clean_proxy_env: pytest.MonkeyPatch, proxy: Proxy, tls_server: ScriptedServer, ca: trustme.CA
) -> None:
    """HTTPS_PROXY sends an https call through a CONNECT tunnel; proxy credentials go to the proxy only."""
    clean_proxy_env.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://squid:s3cret@"))
    async with BooksClient(KEY, base_url=tls_server.base_url, ssl=company_context(ca)) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    port = tls_server.base_url.split(":")[2].split("/")[0]
    assert [(c.method, c.target) for c in proxy.carried] == [("CONNECT", f"127.0.0.1:{port}")]
    assert proxy.carried[0].proxy_authorization == "Basic c3F1aWQ6czNjcmV0"  # squid:s3cret
    assert tls_server.seen[0].headers["x-api-key"] == KEY
    assert "Proxy-Authorization" not in tls_server.seen[0].headers


async def test_http_proxy_from_env_forwards_absolute_form_with_credentials(
    clean_proxy_env: pytest.MonkeyPatch, proxy: Proxy, sandbox: Sandbox
) -> None:
    """HTTP_PROXY with user:password@ carries a plain-http call in absolute form, with Proxy-Authorization."""
    clean_proxy_env.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://squid:s3cret@"))
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url) as books:
        context = await books.validate.context()
    assert context.org_id == sandbox.org_id
    assert [(c.method, c.target) for c in proxy.carried] == [("GET", sandbox.base_url + "/books/validate")]
    assert proxy.carried[0].proxy_authorization == "Basic c3F1aWQ6czNjcmV0"  # squid:s3cret


async def test_no_proxy_exempts_the_api_host(
    clean_proxy_env: pytest.MonkeyPatch, proxy: Proxy, sandbox: Sandbox
) -> None:
    """A host NO_PROXY lists is reached directly, HTTP_PROXY notwithstanding."""
    clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
    clean_proxy_env.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url) as books:
        await books.validate.context()
    assert proxy.carried == []


async def test_trust_env_false_ignores_proxy_env(
    clean_proxy_env: pytest.MonkeyPatch, proxy: Proxy, sandbox: Sandbox
) -> None:
    """trust_env=False reaches the API directly whatever HTTP_PROXY says."""
    clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url, trust_env=False) as books:
        await books.validate.context()
    assert proxy.carried == []


async def test_remote_proxy_never_carries_loopback_calls(
    clean_proxy_env: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    """A proxy on another host cannot reach our 127.0.0.1, so a loopback base_url bypasses it."""
    clean_proxy_env.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    async with BooksClient(sandbox.api_key, base_url=sandbox.base_url, max_retries=0) as books:
        context = await books.validate.context()
    assert context.org_id == sandbox.org_id


async def test_company_ca_refused_by_default_with_typed_error(tls_server: ScriptedServer) -> None:
    """A certificate from a CA the default store lacks is an APIConnectionError naming it; nothing is sent."""
    async with BooksClient(KEY, base_url=tls_server.base_url) as books:
        with pytest.raises(APIConnectionError) as err:
            await books.invoices.get(INVOICE_ID)
    assert "TLS certificate" in str(err.value)
    assert "ssl=ssl.create_default_context" in str(err.value)
    assert err.value.request_sent is False
    assert tls_server.seen == []


async def test_company_ca_accepted_with_ssl_context(tls_server: ScriptedServer, ca: trustme.CA) -> None:
    """ssl= a context trusting the company CA verifies the server and the call succeeds."""
    async with BooksClient(KEY, base_url=tls_server.base_url, ssl=company_context(ca)) as books:
        invoice = await books.invoices.get(INVOICE_ID)
    assert invoice.id == INVOICE_ID
    assert len(tls_server.seen) == 1


@pytest.mark.parametrize("value", [False, True, "/etc/ssl/company.pem"])
def test_ssl_other_than_context_rejected_at_construction(value: object) -> None:
    """ssl=False (or any non-context) is a ConfigurationError: verification is never turned off silently."""
    with pytest.raises(ConfigurationError, match=r"ssl must be an ssl\.SSLContext"):
        BooksClient(KEY, ssl=value)  # type: ignore[arg-type]


def test_ssl_context_without_verification_warns(caplog: pytest.LogCaptureFixture) -> None:
    """A context the caller built with verification off is used, with a WARNING saying so."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with caplog.at_level(logging.WARNING, logger="books_async"):
        BooksClient(KEY, ssl=unverified)
    assert any("does not verify certificates" in r.getMessage() for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_trust_env_not_bool_rejected() -> None:
    """trust_env takes True or False only."""
    with pytest.raises(ConfigurationError, match="trust_env"):
        BooksClient(KEY, trust_env="yes")  # type: ignore[arg-type]

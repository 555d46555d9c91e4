"""The escape hatches that keep a spec mismatch from blocking a user, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import orjson
import pytest

from books_async import (
    BooksClient,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RawResponse,
    ResponseDecodeError,
    Timeout,
)
from books_async.models import (
    Invoice,
    InvoiceCreate,
    InvoiceStatus,
    InvoiceUpdate,
)
from books_async.sandbox import Sandbox
from tests.factories import OBJECT_ID, invoice, line
from tests.scripted_server import (
    INVOICE,
    INVOICE_ID,
    ScriptedServer,
    drop,
    respond,
    respond_bytes,
)

SECRET = "sk_live_do_not_leak_0123456789"  # noqa: S105  # a fake key the tests hunt for

A_PAGE = {"data": [INVOICE], "pagination": {"page": 1, "limit": 100, "total": 1, "pages": 1}}
A_RECEIPT = {
    "message_id": "m-1",
    "to": ["accounts@example.com"],
    "subject": "Invoice INV-0001",
    "attachment_name": "INV-0001.pdf",
    "attachment_size": 1234,
    "sent_at": "2026-11-01T10:00:00Z",
    "document_status": "sent",
}


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[BooksClient]:
    async with BooksClient(
        SECRET, base_url=server.base_url, rate_limit=None, timeout=Timeout(total=10.0)
    ) as books:
        yield books


def an_invoice_create(number: str, customer_id: str = OBJECT_ID) -> InvoiceCreate:
    return invoice(customer_id, line(1, "1500.00", description="GST filing"), invoice_number=number)


async def a_sandbox_invoice(books: BooksClient, sandbox: Sandbox) -> Invoice:
    assert sandbox.seed is not None
    return await books.invoices.create(an_invoice_create("HATCH-1", sandbox.seed.customer_b2c))


# ---- ids into paths


async def test_id_with_reserved_characters_reaches_server_as_one_segment(
    server: ScriptedServer, client: BooksClient
) -> None:
    """An id holding / ? # % spaces and non-ASCII arrives percent-encoded, as one path segment."""
    await client.invoices.get("a/b?c#d%e f é")
    [seen] = server.seen
    assert seen.raw_path == "/api/v1/books/invoices/a%2Fb%3Fc%23d%25e%20f%20%C3%A9"
    assert seen.query == {}


async def test_id_that_is_not_an_object_id_is_sent(server: ScriptedServer, client: BooksClient) -> None:
    """Ids are not held to the spec's inferred ObjectId shape: the API decides."""
    await client.invoices.get("INV-0001")
    assert [s.raw_path for s in server.seen] == ["/api/v1/books/invoices/INV-0001"]


@pytest.mark.parametrize("bad", ["..", ".", ""])
async def test_dot_segment_or_empty_id_is_refused_before_any_request(
    server: ScriptedServer, client: BooksClient, bad: str
) -> None:
    """A DELETE of `..` would reach the collection after URL normalisation: refused, nothing sent."""
    with pytest.raises(InvalidRequestError) as err:
        await client.invoices.delete(bad)
    assert err.value.details[0].path == ("id",)
    assert "Invalid id" in str(err.value)
    assert server.seen == []


async def test_non_string_id_is_refused_naming_the_argument(
    server: ScriptedServer, client: BooksClient
) -> None:
    """An int where an id belongs is an InvalidRequestError naming `id`; nothing is sent."""
    with pytest.raises(InvalidRequestError) as err:
        await client.customers.get(42)  # type: ignore[arg-type]
    assert err.value.details[0].path == ("id",)
    assert err.value.details[0].code == "invalid_type"
    assert server.seen == []


# ---- extra_headers, extra_query, extra_body


async def test_extra_headers_are_sent_and_replace_same_named_ones_in_any_case(
    server: ScriptedServer, client: BooksClient
) -> None:
    """A new header is added; `accept` replaces the client's `Accept` rather than being sent twice."""
    await client.invoices.get(INVOICE_ID, extra_headers={"X-Trace-Id": "trace-7", "accept": "text/x-test"})
    [seen] = server.seen
    pairs = [(name.lower(), value) for name, value in seen.header_pairs]
    assert ("x-trace-id", "trace-7") in pairs
    assert [value for name, value in pairs if name == "accept"] == ["text/x-test"]
    assert seen.headers["x-api-key"] == SECRET


@pytest.mark.parametrize("name", ["x-api-key", "X-API-Key", "Authorization", "AUTHORIZATION"])
@pytest.mark.parametrize("auth_scheme", ["x-api-key", "bearer"])
async def test_extra_headers_cannot_override_auth(
    server: ScriptedServer, name: str, auth_scheme: str
) -> None:
    """Either auth header, in any case, is a ConfigurationError naming the header and not its value."""
    async with BooksClient(
        SECRET,
        base_url=server.base_url,
        rate_limit=None,
        auth_scheme=auth_scheme,  # type: ignore[arg-type]
    ) as books:
        with pytest.raises(ConfigurationError) as err:
            await books.invoices.get(INVOICE_ID, extra_headers={name: "Bearer sk_other_value"})
        with pytest.raises(ConfigurationError):
            await books.request("GET", "/books/invoices", extra_headers={name: "sk_other_value"})
    assert name in str(err.value)
    assert "sk_other_value" not in str(err.value)
    assert SECRET not in str(err.value)
    assert server.seen == []


@pytest.mark.parametrize("headers", [{"X-Note": "a\r\nx-api-key: b"}, {"X-Count": 3}, {"": "x"}])
async def test_malformed_extra_header_is_refused_before_sending(
    server: ScriptedServer, client: BooksClient, headers: dict[str, object]
) -> None:
    """A line break (header injection), a non-str value or an empty name fails before any I/O."""
    with pytest.raises(ConfigurationError) as err:
        await client.invoices.get(INVOICE_ID, extra_headers=headers)  # type: ignore[arg-type]
    assert "x-api-key: b" not in str(err.value)
    assert server.seen == []


async def test_extra_query_is_added_and_replaces_same_named_params(
    server: ScriptedServer, client: BooksClient
) -> None:
    """extra_query joins the operation's own parameters, winning where a name repeats."""
    server.script("GET", "/books/invoices", respond(200, A_PAGE))
    await client.invoices.list(
        status=InvoiceStatus.sent,
        page=1,
        extra_query={"page": 2, "include": "payments", "since": date(2026, 1, 2)},
    )
    await client.invoices.get(INVOICE_ID, extra_query={"expand": "customer"})
    list_call, get_call = server.seen
    assert list_call.query == {"status": "sent", "page": "2", "include": "payments", "since": "2026-01-02"}
    assert get_call.query == {"expand": "customer"}


async def test_iter_passes_extra_headers_and_query_to_every_page(
    server: ScriptedServer, client: BooksClient
) -> None:
    """iter() sends the extras with each page request it makes."""
    other_row = {**A_PAGE["data"][0], "_id": "65a1b2c3d4e5f60718293a4c"}  # type: ignore[index]
    second = {"data": [other_row], "pagination": {"page": 2, "limit": 100, "total": 2, "pages": 2}}
    first = {**A_PAGE, "pagination": {"page": 1, "limit": 100, "total": 2, "pages": 2}}
    server.script("GET", "/books/invoices", respond(200, first), respond(200, second))
    seen_ids = [
        invoice.id
        async for invoice in client.invoices.iter(
            extra_headers={"X-Trace-Id": "t"}, extra_query={"include": "x"}
        )
    ]
    assert seen_ids == [INVOICE_ID, "65a1b2c3d4e5f60718293a4c"]
    assert [s.query for s in server.seen] == [
        {"page": "1", "limit": "100", "include": "x"},
        {"page": "2", "limit": "100", "include": "x"},
    ]
    assert all(s.headers["X-Trace-Id"] == "t" for s in server.seen)


async def test_extra_body_is_merged_after_the_model_and_decimals_stay_exact(
    server: ScriptedServer, client: BooksClient
) -> None:
    """extra_body's keys join the model's wire dict, replacing its own; a Decimal keeps every digit."""
    await client.invoices.update(
        INVOICE_ID,
        InvoiceUpdate(notes="from the model", terms="Net 15"),
        extra_body={"notes": "from extra_body", "tcs_amount": Decimal("1500.00")},
    )
    [seen] = server.seen
    assert b'"tcs_amount":1500.00' in seen.body
    assert orjson.loads(seen.body) == {"notes": "from extra_body", "terms": "Net 15", "tcs_amount": 1500.0}


async def test_extra_body_goes_into_every_item_of_a_bulk_create(
    server: ScriptedServer, client: BooksClient
) -> None:
    """For an array body, each item gets extra_body's keys."""
    server.script("POST", "/books/invoices", respond(201, [INVOICE, INVOICE]))
    created = await client.invoices.create(
        [an_invoice_create("A-1"), an_invoice_create("A-2")], extra_body={"reverse_charge": True}
    )
    assert len(created) == 2
    [seen] = server.seen
    items = orjson.loads(seen.body)
    assert [item["invoice_number"] for item in items] == ["A-1", "A-2"]
    assert all(item["reverse_charge"] is True for item in items)


async def test_extra_body_alone_is_the_body_of_an_operation_whose_body_is_optional(
    server: ScriptedServer, client: BooksClient
) -> None:
    """send() without a SendRequest but with extra_body sends just those keys, as JSON."""
    server.script("POST", f"/books/invoices/{INVOICE_ID}/send", respond(200, A_RECEIPT))
    await client.invoices.send(INVOICE_ID, extra_body={"cc": "accounts@example.com"})
    [seen] = server.seen
    assert orjson.loads(seen.body) == {"cc": "accounts@example.com"}
    assert seen.headers["Content-Type"] == "application/json"


async def test_extra_body_that_is_not_json_is_refused_before_sending(
    server: ScriptedServer, client: BooksClient
) -> None:
    """A value orjson cannot write is a ConfigurationError, not a TypeError from the middle of a call."""
    with pytest.raises(ConfigurationError):
        await client.invoices.update(INVOICE_ID, InvoiceUpdate(notes="x"), extra_body={"tags": {"a", "b"}})
    assert server.seen == []


async def test_pdf_takes_extra_headers_and_query(server: ScriptedServer, client: BooksClient) -> None:
    """The bytes operations (PDFs) pass the extras through too."""
    server.script(
        "GET", f"/books/invoices/{INVOICE_ID}/pdf", respond_bytes(b"%PDF-1.4 tiny", "application/pdf")
    )
    pdf = await client.invoices.pdf(
        INVOICE_ID, extra_headers={"X-Copy": "duplicate"}, extra_query={"copy": 2}
    )
    assert pdf == b"%PDF-1.4 tiny"
    [seen] = server.seen
    assert seen.headers["X-Copy"] == "duplicate"
    assert seen.query == {"copy": "2"}


async def test_extra_body_reaches_the_sandbox(books: BooksClient, sandbox: Sandbox) -> None:
    """Against the sandbox, extra_body replacing a model field is what the server stores."""
    invoice = await a_sandbox_invoice(books, sandbox)
    updated = await books.invoices.update(
        invoice.id,
        InvoiceUpdate(notes="model"),
        extra_body={"notes": "extra"},
        extra_headers={"X-Trace-Id": "t"},
    )
    assert updated.notes == "extra"


# ---- books.request


async def test_request_get_parses_json_with_exact_decimals(
    server: ScriptedServer, client: BooksClient
) -> None:
    """GET through books.request: the answer's 1500.00 is Decimal("1500.00"), integers stay int."""
    server.script(
        "GET", "/books/reports/gstr1", respond_bytes(b'{"taxable": 1500.00, "count": 3}', "application/json")
    )
    answer = await client.request("get", "/books/reports/gstr1", params={"month": "2026-10", "final": True})
    assert answer == {"taxable": Decimal("1500.00"), "count": 3}
    assert isinstance(answer, dict)
    assert str(answer["taxable"]) == "1500.00"
    [seen] = server.seen
    assert seen.method == "GET"
    assert seen.query == {"month": "2026-10", "final": "true"}
    assert seen.headers["x-api-key"] == SECRET


async def test_request_post_writes_decimals_exactly(server: ScriptedServer, client: BooksClient) -> None:
    """json= is written with every Decimal's digits, as JSON, with the client's auth and content type."""
    server.script("POST", "/books/credit-notes", respond(201, {"ok": True}))
    answer = await client.request(
        "POST",
        "/books/credit-notes",
        json={"amount": Decimal("1500.00"), "rate": Decimal("0.10"), "lines": [{"qty": 2}]},
        extra_headers={"Idempotency-Key": "k-1"},
    )
    assert answer == {"ok": True}
    [seen] = server.seen
    assert seen.body == b'{"amount":1500.00,"rate":0.10,"lines":[{"qty":2}]}'
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Idempotency-Key"] == "k-1"


async def test_request_empty_answer_is_none(server: ScriptedServer, client: BooksClient) -> None:
    """A 204 (or any empty body) is None."""
    server.script("DELETE", "/books/credit-notes/cn-1", respond(204))
    assert await client.request("DELETE", "/books/credit-notes/cn-1") is None


async def test_request_maps_errors_and_retries_like_every_call(
    server: ScriptedServer, client: BooksClient
) -> None:
    """The same error classes and retry policy: a GET's 503 is retried, a 409 raises ConflictError."""
    server.script("GET", "/books/things", respond(503), respond(200, {"n": 1}))
    server.script("POST", "/books/things", respond(409, {"error": "conflict", "message": "taken"}))
    assert await client.request("GET", "/books/things") == {"n": 1}
    with pytest.raises(ConflictError):
        await client.request("POST", "/books/things", json={})
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/api/v1/books/invoices",
        "http://127.0.0.1:1/books/invoices",
        "//evil.example/books/invoices",
        "books/invoices",
        "",
    ],
)
async def test_request_refuses_anything_but_a_path_below_base_url(
    server: ScriptedServer, client: BooksClient, path: str
) -> None:
    """An absolute or scheme-relative URL, or a path without a leading /, is refused: the key stays home."""
    with pytest.raises(ConfigurationError) as err:
        await client.request("GET", path)
    assert SECRET not in str(err.value)
    assert server.seen == []


async def test_request_refuses_bad_method_and_unwritable_json(
    server: ScriptedServer, client: BooksClient
) -> None:
    """A method that is not a token, or json orjson cannot write, fails before any I/O."""
    with pytest.raises(ConfigurationError):
        await client.request("GE T", "/books/invoices")
    with pytest.raises(ConfigurationError):
        await client.request("POST", "/books/invoices", json={"when": object()})
    assert server.seen == []


async def test_request_against_the_sandbox(books: BooksClient, sandbox: Sandbox) -> None:
    """Round trip through the sandbox: the same answer as the typed call, money as exact Decimal."""
    invoice = await a_sandbox_invoice(books, sandbox)
    answer = await books.request("GET", f"/books/invoices/{invoice.id}")
    assert isinstance(answer, dict)
    assert answer["_id"] == invoice.id
    assert answer["total"] == invoice.total
    assert isinstance(answer["total"], Decimal)
    assert str(answer["line_items"][0]["rate"]) == "1500.00"


async def test_request_not_json_raises_but_raw_reads_it(server: ScriptedServer, client: BooksClient) -> None:
    """A CSV answer is a ResponseDecodeError from books.request, and plain bytes through with_raw_response."""
    csv = b"invoice_number,total\nINV-0001,1770.00\n"
    server.script(
        "GET", "/books/exports/invoices.csv", respond_bytes(csv, "text/csv"), respond_bytes(csv, "text/csv")
    )
    with pytest.raises(ResponseDecodeError):
        await client.request("GET", "/books/exports/invoices.csv")
    raw = await client.with_raw_response.request("GET", "/books/exports/invoices.csv")
    assert raw.status == 200
    assert raw.content == csv
    assert raw.headers["content-type"].startswith("text/csv")
    with pytest.raises(ResponseDecodeError):
        raw.parse()


# ---- with_raw_response


async def test_raw_get_has_status_headers_body_and_parses_like_the_plain_call(
    books: BooksClient, sandbox: Sandbox
) -> None:
    """A JSON get: status, case-insensitive headers, the bytes, exact-Decimal json(), and parse() == get()."""
    invoice = await a_sandbox_invoice(books, sandbox)
    raw = await books.invoices.with_raw_response.get(invoice.id)
    assert raw.status == 200
    assert raw.headers["Content-Type"] == raw.headers["content-type"]
    assert raw.headers["content-type"].startswith("application/json")
    with pytest.raises(TypeError):
        raw.headers["x-new"] = "no"  # type: ignore[index]
    body = raw.json()
    assert isinstance(body, dict)
    assert body["_id"] == invoice.id
    assert body["total"] == invoice.total
    assert isinstance(body["total"], Decimal)
    parsed = raw.parse()
    assert parsed == await books.invoices.get(invoice.id)
    assert raw.parse() is parsed


async def test_raw_list_create_and_delete_parse_to_what_the_plain_calls_return(
    books: BooksClient, sandbox: Sandbox
) -> None:
    """A list page, a bulk create (a list) and a delete (None) through with_raw_response."""
    assert sandbox.seed is not None
    created = await books.invoices.with_raw_response.create(
        [
            an_invoice_create("RAW-1", sandbox.seed.customer_b2c),
            an_invoice_create("RAW-2", sandbox.seed.customer_b2c),
        ]
    )
    assert created.status == 201
    invoices = created.parse()
    assert [inv.invoice_number for inv in invoices] == ["RAW-1", "RAW-2"]
    page = await books.invoices.with_raw_response.list(limit=5)
    assert page.parse() == await books.invoices.list(limit=5)
    gone = await books.invoices.with_raw_response.delete(invoices[0].id)
    assert 200 <= gone.status < 300
    assert gone.parse() is None
    with pytest.raises(NotFoundError):
        await books.invoices.get(invoices[0].id)


async def test_raw_pdf_is_the_bytes(books: BooksClient, sandbox: Sandbox) -> None:
    """with_raw_response.pdf(): status, application/pdf, and parse() is the same bytes as content."""
    invoice = await a_sandbox_invoice(books, sandbox)
    raw = await books.invoices.with_raw_response.pdf(invoice.id)
    assert raw.status == 200
    assert raw.headers["Content-Type"].startswith("application/pdf")
    assert raw.content.startswith(b"%PDF-")
    assert raw.parse() == raw.content
    with pytest.raises(ResponseDecodeError):
        raw.json()


async def test_raw_body_that_does_not_match_the_spec_is_still_readable(
    server: ScriptedServer, client: BooksClient
) -> None:
    """An off-spec body: the raw call does not decode; content and json() work; parse() raises like get()."""
    # No invoice number: one of the few keys that even tolerant reading cannot do without.
    off_spec = b'{"_id": "inv_9", "total": "1,770.00", "balance": 0.10}'
    server.script(
        "GET", "/books/invoices/inv_9", *[respond_bytes(off_spec, "application/json") for _ in range(2)]
    )
    raw = await client.invoices.with_raw_response.get("inv_9")
    assert raw.content == off_spec
    assert raw.json() == {
        "_id": "inv_9",
        "total": "1,770.00",
        "balance": Decimal("0.10"),
    }
    with pytest.raises(ResponseDecodeError) as from_raw:
        raw.parse()
    with pytest.raises(ResponseDecodeError) as from_plain:
        await client.invoices.get("inv_9")
    assert str(from_raw.value) == str(from_plain.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-Id": "req-123", "x-vercel-id": "bom1::abc"}, "req-123"),
        ({"X-Vercel-Id": "bom1::abc"}, "bom1::abc"),
        ({}, None),
    ],
)
async def test_raw_request_id_comes_from_the_headers(
    server: ScriptedServer, client: BooksClient, headers: dict[str, str], expected: str | None
) -> None:
    """request_id is x-request-id, else x-vercel-id, else None; the repr shows only it and the status."""
    server.script("GET", f"/books/invoices/{INVOICE_ID}", respond(200, INVOICE, headers=headers))
    raw = await client.invoices.with_raw_response.get(INVOICE_ID)
    assert raw.request_id == expected
    assert repr(raw) == f"<RawResponse status=200 request_id={expected!r}>"


async def test_raw_call_still_raises_for_errors_and_local_refusals(
    server: ScriptedServer, client: BooksClient
) -> None:
    """A 404 is NotFoundError and an id of '..' InvalidRequestError, as in the plain call."""
    server.script(
        "GET", f"/books/invoices/{INVOICE_ID}", respond(404, {"error": "not_found", "message": "no"})
    )
    with pytest.raises(NotFoundError):
        await client.invoices.with_raw_response.get(INVOICE_ID)
    with pytest.raises(InvalidRequestError):
        await client.invoices.with_raw_response.get("..")
    assert len(server.seen) == 1


async def test_raw_delete_already_done_by_a_lost_attempt_shows_the_404_and_parses_to_none(
    server: ScriptedServer, client: BooksClient
) -> None:
    """A retried DELETE meeting 404 succeeded, as in the plain call; raw shows that 404, not a made-up 204."""
    path = f"/books/invoices/{INVOICE_ID}"
    server.script("DELETE", path, drop(), respond(404, {"error": "not_found", "message": "gone"}))
    raw = await client.invoices.with_raw_response.delete(INVOICE_ID)
    assert raw.status == 404
    assert raw.json() == {"error": "not_found", "message": "gone"}
    assert raw.parse() is None
    assert len(server.seen_at("DELETE", path)) == 2


async def test_raw_and_plain_calls_in_concurrent_tasks_do_not_mix(
    server: ScriptedServer, client: BooksClient
) -> None:
    """The raw capture belongs to its own call: a plain call running alongside still decodes."""
    for _ in range(3):
        raw, plain, raw_again = await asyncio.gather(
            client.invoices.with_raw_response.get(INVOICE_ID),
            client.invoices.get(INVOICE_ID),
            client.invoices.with_raw_response.pdf(INVOICE_ID),
        )
        assert isinstance(raw, RawResponse)
        assert isinstance(plain, Invoice)
        assert isinstance(raw_again, RawResponse)
    assert (await client.invoices.get(INVOICE_ID)).id == INVOICE_ID


def test_every_generated_operation_has_a_raw_twin_with_its_signature(client: BooksClient) -> None:
    """with_raw_response has each operation of each resource, with the same parameters."""
    resources = [client.invoices, client.quotes, client.customers, client.products, client.services]
    resources += [client.orgs, client.validate, client.mobile]
    count = 0
    for resource in resources:
        raw = resource.with_raw_response
        assert resource.with_raw_response is raw  # built once per resource
        for name in type(raw).__slots__:
            assert inspect.signature(getattr(raw, name)) == inspect.signature(getattr(resource, name))
            count += 1
    assert count == 34

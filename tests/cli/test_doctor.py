"""``books-async doctor``: a clean bill of health from the sandbox, every drift kind named behind the drift
proxy, GET requests only, no account data in the report, and exit 2 with one line when it cannot run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from books_async import BooksClient
from books_async.cli import main
from books_async.cli._doctor import MAX_REQUESTS, _Answer, _validation_check
from books_async.cli._doctor_report import REPORT_VERSION
from books_async.cli._doctor_spec import MAY_BE_ABSENT, ResponseChecker, SpecDocument, Tally
from books_async.models import (
    Address,
    CustomerCreate,
    CustomerType,
    InvoiceCreate,
    ItemType,
    LineItemCreate,
    PaymentCreate,
    PaymentMethod,
    QuoteCreate,
)
from books_async.sandbox import Sandbox, serve
from books_async.sandbox._gst import make_gstin
from tests.drift_server import ALL_DRIFTS, drift_proxy

ROOT = Path(__file__).resolve().parents[2]

# What a user's account holds and a pasted report must never show.
PROBE_NAME = "Aardvark Privacy Probe Traders"  # first by name, so the doctor fetches this customer
PROBE_EMAIL = "privacy-probe@aardvark.example"
PROBE_GSTIN = make_gstin("27", "AARPV1234K")
PROBE_PHONE = "+91 22 6123 4567"
PROBE_RATE = "98765.43"
PROBE_NUMBER = "PRIV-"
ORG_ACCOUNT_NUMBER = "50100123456789"  # the sandbox organisation's bank account
SECRETS = (PROBE_NAME, PROBE_EMAIL, PROBE_GSTIN, PROBE_PHONE, PROBE_RATE, PROBE_NUMBER, ORG_ACCOUNT_NUMBER)


@dataclass
class Account:
    sandbox: Sandbox
    logged_before: int

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request the sandbox received since the account was set up."""
        return [
            (method, path) for _, _, method, path, _ in list(self.sandbox.request_log)[self.logged_before :]
        ]


@pytest.fixture
async def account(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Account]:
    """A sandbox holding a recognisable customer with 7 invoices (one paid in part) and a quote; the
    environment points at it as at a real account."""
    async with serve(rate_limit=None) as sb:
        monkeypatch.setenv("BOOKS_API_KEY", sb.api_key)
        monkeypatch.setenv("BOOKS_BASE_URL", sb.base_url)
        async with BooksClient(sb.api_key, base_url=sb.base_url, rate_limit=None) as books:
            probe = await books.customers.create(
                CustomerCreate(
                    type=CustomerType.B2B,
                    name=PROBE_NAME,
                    gstin=PROBE_GSTIN,
                    email=PROBE_EMAIL,
                    phone=PROBE_PHONE,
                    billing_address=Address(
                        line1="9 Probe Lane", city="Mumbai", state_code="27", pincode="400001"
                    ),
                )
            )
            line = LineItemCreate(
                item_type=ItemType.service,
                description="Audit",
                hsn_sac="998222",
                quantity=Decimal(1),
                rate=Decimal(PROBE_RATE),
                gst_rate=Decimal(18),
            )
            invoices = await books.invoices.create(
                [
                    InvoiceCreate(
                        customer_id=probe.id,
                        invoice_number=f"{PROBE_NUMBER}{n:04d}",
                        invoice_date=date(2099, 4, 1),
                        line_items=[line],
                    )
                    for n in range(7)
                ]
            )
            await books.invoices.send(invoices[-1].id)
            await books.invoices.record_payment(
                invoices[-1].id, PaymentCreate(amount=Decimal("1000.00"), payment_method=PaymentMethod.upi)
            )
            await books.quotes.create(
                QuoteCreate(customer_id=probe.id, quote_date=date(2099, 4, 1), line_items=[line])
            )
        yield Account(sb, len(sb.request_log))


async def doctor(*argv: str) -> int:
    # main() calls asyncio.run, so it runs in a thread while this loop serves the sandbox.
    return await asyncio.to_thread(main, ["doctor", *argv])


def assert_private(text: str, account: Account) -> None:
    for secret in (*SECRETS, account.sandbox.api_key):
        assert secret not in text


def differences(report: dict[str, object], operation: str) -> dict[str, dict[str, object]]:
    """The differences of one operation of a --json report, by path and kind."""
    operations = report["operations"]
    assert isinstance(operations, list)
    (found,) = [op for op in operations if op["operation"] == operation]
    return {f"{d['kind']} {d['path']}": d for d in found["differences"]}


def check(report: dict[str, object], name: str) -> dict[str, object]:
    checks = report["checks"]
    assert isinstance(checks, list)
    (found,) = [c for c in checks if c["name"] == name]
    return found


async def test_sandbox_matches_the_spec_with_gets_only(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against the sandbox everything matches (exit 0), in at most 25 requests, every one of them a GET."""
    assert await doctor() == 0
    out = capsys.readouterr().out
    assert "Everything matches the spec" in out
    assert "BREAKS" not in out
    seen = account.requests()
    assert 15 <= len(seen) <= MAX_REQUESTS
    assert {method for method, _ in seen} == {"GET"}
    assert_private(out, account)


async def test_validate_adds_only_validate_posts_and_json_has_a_stable_shape(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """--validate pre-validates a sample per kind by POST /books/validate, nothing else; --json parses."""
    assert await doctor("--validate", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [
        "report_version",
        "result",
        "exit_code",
        "base_url",
        "spec_sha256",
        "requests",
        "operations",
        "checks",
        "validate",
        "summary",
    ]
    assert (report["report_version"], report["result"], report["exit_code"]) == (REPORT_VERSION, "ok", 0)
    assert [(v["name"], v["outcome"]) for v in report["validate"]] == [
        (kind, "ok") for kind in ("invoice", "customer", "quote", "product", "service")
    ]
    assert {c["name"]: c["outcome"] for c in report["checks"]} == {
        "pdf": "ok",
        "page_advances": "ok",
        "largest_limit": "ok",
        "invoice_order": "ok",
        "search_by_number": "ok",
    }
    assert set(report["operations"][0]) == {
        "operation",
        "operation_id",
        "answers",
        "sdk_decode",
        "differences",
    }
    seen = account.requests()
    assert len(seen) <= MAX_REQUESTS
    assert {r for r in seen if r[0] != "GET"} == {("POST", "/api/v1/books/validate")}
    assert report["requests"] == {"total": len(seen), "by_method": {"GET": len(seen) - 5, "POST": 5}}


async def test_every_drift_is_named_and_only_gets_reach_the_proxy(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """Behind the proxy with every drift on: exit 1, each kind at its path, no account data, GETs only."""
    async with drift_proxy(account.sandbox.base_url, drifts=ALL_DRIFTS) as proxy:
        assert await doctor("--json", "--base-url", proxy.base_url) == 1
    text = capsys.readouterr().out
    assert_private(text, account)
    report = json.loads(text)
    assert report["result"] == "drift"
    invoices = differences(report, "GET /books/invoices")
    assert invoices["missing_key $.data[].round_off"]["effect"] == "tolerated"
    assert (
        invoices["missing_key $.data[].round_off"]["count"]
        == invoices["missing_key $.data[].round_off"]["out_of"]
    )
    assert invoices["missing_key $.pagination"]["effect"] == "tolerated"
    assert invoices["unknown_key $.data[].line_items[].x_new_field"]["effect"] == "tolerated"
    assert invoices["enum $.data[].status"]["values"] == ["unpaid"]
    assert invoices["enum $.data[].payments[].payment_method"]["values"] == ["neft"]
    assert "date-time" in str(invoices["format $.data[].invoice_date"]["detail"])
    assert invoices["format $.data[].invoice_date"]["effect"] == "tolerated"
    assert "numeric string" in str(invoices["type $.data[].total"]["detail"])
    assert invoices["type $.data[].total"]["effect"] == "tolerated"
    assert "populated reference" in str(invoices["type $.data[].customer_id"]["detail"])
    assert invoices["type $.data[].customer_id"]["effect"] == "tolerated"
    assert differences(report, "GET /books/customers")["enum $.data[].type"]["values"] == ["SEZ"]
    assert differences(report, "GET /books/quotes/{id}")["enum $.status"]["values"] == ["pending"]
    (decode,) = [op["sdk_decode"] for op in report["operations"] if op["operation"] == "GET /books/invoices"]
    # Every drift the proxy makes is one the SDK reads tolerantly.
    assert decode["ok"] is True, decode
    # A full first page without `pagination` is followed to page 2, which brings the same rows.
    assert check(report, "page_advances")["outcome"] == "breaks"
    assert proxy.methods_seen == {"GET"}
    assert len(proxy.requests) <= MAX_REQUESTS


async def test_stuck_pagination_alone_fails_only_the_page_check(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server answering page 1 of 99 whatever is asked: the answers match the spec, the page guess fails."""
    async with drift_proxy(account.sandbox.base_url, drifts={"stuck_pagination"}) as proxy:
        assert await doctor("--base-url", proxy.base_url) == 1
    out = capsys.readouterr().out
    assert (
        "BREAKS  page 2 of a list brings other rows: GET /books/invoices?page=2 brought page 1's rows again"
        in out
    )
    assert "(and says page 1): iter() would never end" in out
    assert "Answers, by operation" in out
    assert "missing keys" not in out
    assert "0 difference(s)" in out
    assert "1 check(s) failed. Exit 1." in out


async def test_subprocess_prints_grouped_drift_without_account_data(account: Account) -> None:
    """As a user runs it: a grouped human report on stdout, exit status 1, nothing private anywhere."""
    async with drift_proxy(account.sandbox.base_url) as proxy:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "books_async.cli",
            "doctor",
            cwd=ROOT,
            env={**os.environ, "BOOKS_BASE_URL": proxy.base_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    assert process.returncode == 1, err
    text = out.decode()
    assert_private(text + err.decode(), account)
    assert "  GET /books/invoices (4 answers)\n    missing keys\n" in text
    line = "      $.data[].{customer_name, round_off, updatedAt}: missing (x-may-be-absent), in 18 of 18"
    assert line + " [tolerated by the SDK]" in text, text
    assert "      $.data[].status 'unpaid', in 14 of 18 [tolerated by the SDK]" in text
    assert "(midnight in India: its UTC date is the day before)" in text
    assert proxy.methods_seen == {"GET"}


def test_no_key_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a key nothing is sent, and one line says how to give one."""
    monkeypatch.delenv("BOOKS_API_KEY", raising=False)
    assert main(["doctor"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "books-async doctor: no API key: set BOOKS_API_KEY or pass --api-key.\n"


async def test_refused_keys_exit_2_with_one_line_and_no_key(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown key (401) and a key of another app (403) stop at the first request with one line."""
    assert await doctor("--api-key", "sk_live_not_a_real_key_123") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "401" in err
    assert "sk_live_not_a_real_key_123" not in err
    assert await doctor("--api-key", account.sandbox.other_app_key) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "403" in err
    assert account.sandbox.other_app_key not in err
    assert len(account.requests()) == 2


async def test_no_network_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening at the base URL: one line naming the address and what to check."""
    async with serve() as sb:
        url = sb.base_url
    monkeypatch.setenv("BOOKS_API_KEY", "k")
    assert await doctor("--base-url", url) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"books-async doctor: could not reach {url}: check the network, and BOOKS_BASE_URL or --base-url.\n"
    )


def test_missing_key_marked_may_be_absent_is_tolerated_and_others_break() -> None:
    """A required key marked x-may-be-absent is tolerated, any other missing key breaks the SDK; enum values
    are cut to 40 characters and odd key names show only their length."""
    spec = SpecDocument(
        {
            "paths": {},
            "components": {
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "required": ["_id", "round_off", "status"],
                        "properties": {
                            "_id": {"type": "string"},
                            "round_off": {"type": "number", "format": "decimal", MAY_BE_ABSENT: True},
                            "status": {"type": "string", "enum": ["draft", "sent"]},
                        },
                    }
                }
            },
        }
    )
    tally = Tally()
    checker = ResponseChecker(spec, {"$ref": "#/components/schemas/Thing"})
    checker.check(
        {"status": "a status far longer than forty characters, maybe someone's text", "x y": 1}, tally
    )
    found = {(d.kind, d.path, d.effect, d.value) for d in tally.found}
    assert found == {
        ("missing_key", "$._id", "breaks", None),
        ("missing_key", "$.round_off", "tolerated", None),
        ("enum", "$.status", "tolerated", "a status far longer than forty characte…"),
        ("unknown_key", "$.<a key of 3 characters>", "tolerated", None),
    }


def test_invalid_sample_names_its_paths_and_codes() -> None:
    """A `valid: false` pre-validation is request-side drift: paths and codes, never the messages."""
    answer = _Answer(
        200,
        {
            "valid": False,
            "kind": "invoice",
            "details": [
                {
                    "path": ["line_items", 0, "gst_rate"],
                    "message": "rate 18.5 is not a GST rate",
                    "code": "custom",
                },
                {
                    "path": ["customer_id"],
                    "message": "no customer 65a1b2c3d4e5f60718293a4c",
                    "code": "custom",
                },
            ],
        },
    )
    result = _validation_check("invoice", answer)
    assert result.outcome == "breaks"
    assert result.detail == "valid: false at $.line_items[].gst_rate (custom), $.customer_id (custom)"


def test_doctor_needs_only_the_cli_extra() -> None:
    """The doctor imports neither the sandbox nor its PDF library: `pip install 'books-async[cli]'` does."""
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'fpdf' or name.startswith('books_async.sandbox'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from books_async.cli._doctor import run_doctor\n"
        "from books_async.cli._doctor_spec import load_spec_document\n"
        "load_spec_document()\n"
    )
    done = subprocess.run(  # noqa: S603  # fixed arguments
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr

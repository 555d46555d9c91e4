"""``python -m books_async.sandbox`` starts, prints its URL and keys, answers, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from books_async.sandbox import parse_rate_limit
from books_async.sandbox.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_rate_limit_option_parses() -> None:
    """N/SECONDS, "off", and refusals."""
    assert parse_rate_limit("100/60") == (100, 60.0)
    assert parse_rate_limit("5/0.5") == (5, 0.5)
    assert parse_rate_limit("off") is None
    for bad in ("x/1", "0/5", "5/0"):
        with pytest.raises(ValueError, match="rate limit"):
            parse_rate_limit(bad)
    assert build_parser().parse_args(["--rate-limit", "7/3"]).rate_limit == (7, 3.0)


def test_cli_prints_url_and_serves() -> None:
    """The process prints the base URL and an owner key that works, then exits cleanly on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Fixed arguments, our own module: no shell, no untrusted input.
    proc = subprocess.Popen(
        [sys.executable, "-m", "books_async.sandbox", "--port", "0", "--api-key", "cli-test-key", "--empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Books API sandbox at http://127.0.0.1:")
        base_url = first.rsplit(" ", 1)[1].strip()
        assert base_url.endswith("/api/v1")
        keys = [proc.stdout.readline() for _ in range(4)]
        assert "cli-test-key" in keys[0]
        request = urllib.request.Request(base_url + "/books/validate", headers={"x-api-key": "cli-test-key"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - our own loopback server
            assert json.load(resp)["role"] == "owner"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_run_in_thread_serves_synchronous_code() -> None:
    """Sandbox.run_in_thread() serves from a background thread until the block ends."""
    from books_async.sandbox import Sandbox

    with Sandbox.run_in_thread() as sb:
        request = urllib.request.Request(sb.base_url + "/books/validate", headers={"x-api-key": sb.api_key})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - our own loopback server
            assert json.load(resp)["org_id"] == sb.org_id
        url = sb.base_url
    with pytest.raises(OSError, match=r"refused|Connection"):
        urllib.request.urlopen(url + "/books/validate", timeout=5)  # noqa: S310

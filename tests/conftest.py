"""Fixtures shared by every test: a real sandbox on 127.0.0.1:0 (see ``books_async.testing``)."""

from __future__ import annotations

import pytest

# Imported rather than listed in pytest_plugins: once the package's pytest11 entry point registers
# books_async.testing, a second registration under the module's own name would be refused.
from books_async.testing import books, sandbox, sandbox_api_key, sandbox_url

__all__ = ["books", "sandbox", "sandbox_api_key", "sandbox_url"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sandbox`` marker (also registered by the plugin; registering twice is harmless)."""
    config.addinivalue_line("markers", "sandbox(**options): options passed to books_async.sandbox.serve()")

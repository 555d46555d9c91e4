"""``books_async.testing`` works as a pytest plugin in a user's own test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


ROOT = Path(__file__).resolve().parents[1]


def test_plugin_gives_a_running_sandbox(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's test gets `sandbox`, `sandbox_url` and the marker's options."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["books_async.testing"]\n')
    pytester.makepyfile(
        """
        import aiohttp
        import pytest

        async def test_answers(sandbox, sandbox_url, sandbox_api_key):
            async with aiohttp.ClientSession() as s:
                headers = {"x-api-key": sandbox_api_key}
                async with s.get(sandbox_url + "/books/validate", headers=headers) as r:
                    assert r.status == 200

        @pytest.mark.sandbox(empty=True, rate_limit=(1, 60.0))
        async def test_marker_options(sandbox):
            assert sandbox.seed is None
            assert sandbox.state.limiter.max_requests == 1
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=2)


@pytest.fixture
def user_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project that enables the plugin in its conftest.py, as the README says."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["books_async.testing"]\n')
    return pytester


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_books_marker_options_reach_the_client_in_either_asyncio_mode(
    user_suite: pytest.Pytester, mode: str
) -> None:
    """`@pytest.mark.books(max_retries=0)` is the fixture's BooksClient(max_retries=0): a 503 is raised after
    one request; marked `@pytest.mark.asyncio`, the tests pass in strict and in auto mode."""
    user_suite.makepyfile(
        """
        import pytest
        from books_async import ServerError

        @pytest.mark.asyncio
        @pytest.mark.sandbox(faults="503:1.0")
        @pytest.mark.books(max_retries=0)
        async def test_no_retry(books, sandbox):
            with pytest.raises(ServerError):
                await books.validate.context()
            assert [entry[4] for entry in sandbox.request_log] == [503]

        @pytest.mark.asyncio
        async def test_defaults(books, sandbox):
            assert (await books.validate.context()).org_id == sandbox.org_id
        """
    )
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-o", f"asyncio_mode={mode}")
    result.assert_outcomes(passed=2)


def test_sandbox_thread_answers_sync_code_with_the_markers_options(user_suite: pytest.Pytester) -> None:
    """A sync test gets a sandbox served from a thread: a blocking client and asyncio.run() both reach it,
    and the `sandbox` marker configures it."""
    user_suite.makepyfile(
        """
        import asyncio
        import json
        import urllib.request

        import pytest
        from books_async import BooksClient

        @pytest.mark.sandbox(empty=True)
        def test_sync(sandbox_thread, sandbox_sync_url, sandbox_sync_api_key):
            assert sandbox_thread.seed is None
            request = urllib.request.Request(
                sandbox_sync_url + "/books/validate", headers={"x-api-key": sandbox_sync_api_key}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert json.load(answer)["org_id"] == sandbox_thread.org_id

            async def count_customers():
                async with BooksClient(sandbox_sync_api_key, base_url=sandbox_sync_url) as books:
                    return (await books.customers.list()).pagination.total

            assert asyncio.run(count_customers()) == 0
        """
    )
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=strict")
    result.assert_outcomes(passed=1)


def test_sync_test_asking_for_the_async_sandbox_fails_at_once_naming_sandbox_thread(
    user_suite: pytest.Pytester,
) -> None:
    """A sync test that requests `sandbox` (which could not answer it) errors at set-up with the fix, instead
    of hanging until a client gives up."""
    user_suite.makepyfile(
        """
        def test_sync(sandbox_url):
            assert sandbox_url
        """
    )
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=auto")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_sync: the `sandbox` fixture serves on the test's event loop*"])
    result.stdout.fnmatch_lines(["*Use `sandbox_thread`*"])

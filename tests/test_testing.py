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

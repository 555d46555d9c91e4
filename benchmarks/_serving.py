"""Serving an aiohttp app as a benchmark's child process: announce the URL, stop when the parent says so."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web


async def serve_until_parent_stops(app: web.Application, port: int = 0) -> None:
    """Serve ``app`` on 127.0.0.1, print ``READY <base url>``, and return on SIGTERM or stdin EOF."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    sys.stdout.write(f"READY http://127.0.0.1:{runner.addresses[0][1]}/api/v1\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # The parent holds our stdin open; EOF means it is gone and nobody will ever stop us otherwise.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1024) else None)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()

"""The sandbox in its own process, with one extra outer middleware that records what the server saw.

``run.py`` starts it for B4 and B5. It is ``books_async.sandbox`` unchanged (same app, same rate limiter,
same validation), plus ``GET /__bench__/log``: the sandbox's own request log (accept time on its
monotonic clock, method, path, status) and the size of every request body as received (its
Content-Length, which aiohttp holds the body to). Request counts, body sizes and the achieved rate are
thus measured at the server, not inferred by the client. ``GET /__bench__/keys`` lists the owner keys of
the extra organisations of ``--organisations N`` (B10), in seeding order.

Usage: ``python benchmarks/sandbox_server.py --api-key KEY [--rate-limit 50/1 | off] [--empty]
[--organisations N]``;
prints ``READY http://127.0.0.1:<port>/api/v1``. Stops when its stdin closes or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio

import orjson
from _serving import serve_until_parent_stops
from aiohttp import web

from books_async.sandbox import SandboxConfig, build_store, create_app, parse_rate_limit
from books_async.sandbox._app import STATE
from books_async.sandbox._seed import ORGANISATION_KEY

BODY_SIZES: list[tuple[str, str, int]] = []
"""(method, path, bytes received) of every request, in arrival order."""


@web.middleware
async def measure(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    if request.path == "/__bench__/log":
        log = [list(entry) for entry in request.app[STATE].request_log]
        return web.Response(
            body=orjson.dumps({"log": log, "bodies": BODY_SIZES}), content_type="application/json"
        )
    if request.path == "/__bench__/keys":
        prefix = ORGANISATION_KEY.format("")
        found = [k for k in request.app[STATE].store.keys.values() if k.name.startswith(prefix)]
        found.sort(key=lambda k: int(k.name[len(prefix) :]))
        return web.Response(body=orjson.dumps([k.key for k in found]), content_type="application/json")
    if request.body_exists:
        # aiohttp reads exactly Content-Length bytes of a body, so it is the size received (-1: chunked).
        BODY_SIZES.append((request.method, request.path, request.content_length or -1))
    return await handler(request)


async def main(args: argparse.Namespace) -> None:
    config = SandboxConfig(
        port=0,
        api_key=args.api_key,
        rate_limit=args.rate_limit,
        empty=args.empty,
        organisations=args.organisations,
    )
    app = create_app(config, store=build_store(config))
    app.middlewares.insert(0, measure)  # outermost: sees every request, before the sandbox's own
    await serve_until_parent_stops(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rate-limit", type=parse_rate_limit, default=None)
    parser.add_argument("--empty", action="store_true")
    parser.add_argument("--organisations", type=int, default=0)
    asyncio.run(main(parser.parse_args()))

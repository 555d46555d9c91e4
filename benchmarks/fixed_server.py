"""A minimal aiohttp.web server with fixed answers, run in its own process by ``run.py``.

It stands in for the API where the sandbox's own work (validation, GST arithmetic, PDF rendering) would
dominate what is measured: the client. Routes (under ``/api/v1``, like the API):

* ``GET  /books/invoices/{id}``      the fixed invoice (``invoice.json``); live-shaped for ``LIVE_INVOICE_ID``
* ``GET  /books/invoices/{id}/pdf``  a fixed ~200 KB PDF-like body
* ``POST /books/invoices``           one invoice per item sent (an array answers an array)

Usage: ``python benchmarks/fixed_server.py [--port 0]``; prints ``READY http://127.0.0.1:<port>/api/v1``.
It stops when its stdin closes (the parent died) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio

import _payloads
import orjson
from _serving import serve_until_parent_stops
from aiohttp import web

INVOICE = _payloads.invoice_bytes()
LIVE_INVOICE = _payloads.live_invoice_bytes()
PDF = _payloads.pdf_bytes()


async def get_invoice(request: web.Request) -> web.Response:
    live = request.match_info["id"] == _payloads.LIVE_INVOICE_ID
    return web.Response(body=LIVE_INVOICE if live else INVOICE, content_type="application/json")


async def get_pdf(request: web.Request) -> web.Response:
    # One name per id, as the API gives, so a bulk download writes one file per invoice.
    disposition = f'attachment; filename="invoice-{request.match_info["id"]}.pdf"'
    return web.Response(
        body=PDF, content_type="application/pdf", headers={"Content-Disposition": disposition}
    )


async def create_invoices(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    answer = b"[" + b",".join([INVOICE] * len(body)) + b"]" if isinstance(body, list) else INVOICE
    return web.Response(body=answer, status=201, content_type="application/json")


def make_app() -> web.Application:
    # Bulk bodies are up to 5 MB (the API's limit); aiohttp's default cap is 1 MB.
    app = web.Application(client_max_size=6 * 1024 * 1024)
    app.router.add_get("/api/v1/books/invoices/{id}", get_invoice)
    app.router.add_get("/api/v1/books/invoices/{id}/pdf", get_pdf)
    app.router.add_post("/api/v1/books/invoices", create_invoices)
    return app


async def main(port: int) -> None:
    await serve_until_parent_stops(make_app(), port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args().port))

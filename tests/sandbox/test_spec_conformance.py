"""Conformance: schemathesis generates requests from ``openapi/books.yaml`` and checks the sandbox's answers.

Every operation of the spec gets a bounded, seeded batch of generated requests (valid and invalid ones, plus
schemathesis's coverage cases such as unsupported methods), sent to a sandbox on 127.0.0.1 with an owner's
key. Each answer must not be a server error, must use a status code and a content type the operation
declares, and must match the declared schema.

``positive_data_acceptance`` (ST202) is deliberately not run: it expects every schema-valid request to
succeed, but the sandbox enforces rules that depend on stored data (ids that exist in the organisation, a
payment within the invoice's balance due, a number unused in its financial year, the status machine) or
that a JSON Schema cannot state (a GSTIN's mod-36 check character, an organisation's PAN equal to the one in
its GSTIN, a due date on or after the invoice date, a line's discount within its amount, and the GST rate
list, which the spec leaves to the server on purpose), so a 400, 404 or 409 for generated "valid" data is
correct behaviour. What JSON Schema can state is in the spec (maxima, the PAN holder type, ``if``/``then``
for bulk-action's ``status`` and an export's place of supply), so generated data already obeys it.

Generated ids almost never exist, which would leave every ``{id}`` operation answering 404 only. So for about
half the generated ids (chosen from the id itself, hence reproducible) the test substitutes an id of a real
document of the right kind, and likewise for a body's ``customer_id``: the success answers of those
operations (invoice, PDF, send, payment, convert, org...) are checked too. The spec has no OpenAPI links, so
this stands in for schemathesis's stateful phase.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from books_async._spec import spec_path
from books_async.sandbox import Sandbox, SandboxConfig
from tests.factories import invoice_dict, line_dict

SCHEMA = schemathesis.openapi.from_path(spec_path())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded so the module stays well under a minute and a half on a shared 2-core machine (about 50 s here).
MAX_EXAMPLES = 20
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_COLLECTION = re.compile(r"^/(?:books/)?(invoices|quotes|customers|products|services|orgs)/\{id\}")
BIG_LINE = line_dict(quantity=400)


@dataclass(frozen=True)
class Live:
    """The running sandbox and ids of real documents to aim generated requests at."""

    sandbox: Sandbox
    ids: dict[str, str]

    def send(self, method: str, path: str, body: object) -> dict[str, object]:
        """Send ``body`` as the owner and return the JSON answer (urllib raises unless it is a success)."""
        request = urllib.request.Request(  # noqa: S310 - the sandbox's http://127.0.0.1 URL
            self.sandbox.base_url + path,
            data=json.dumps(body).encode(),
            headers={"x-api-key": self.sandbox.api_key, "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            answer: dict[str, object] = json.loads(response.read())
        return answer

    def fresh(self, collection: str) -> str:
        """A new document to delete, so deletions do not remove the ids other operations are aimed at."""
        seed = self.sandbox.seed
        assert seed is not None
        bodies: dict[str, dict[str, object]] = {
            "invoices": invoice_dict(seed.customer_b2c, BIG_LINE),
            "products": {"name": "Spare", "hsn_code": "7318", "unit": "PCS", "sale_price": 1, "gst_rate": 18},
            "services": {"name": "Spare", "sac_code": "998311", "rate": 1, "gst_rate": 18},
        }
        return str(self.send("POST", f"/books/{collection}", bodies[collection])["_id"])


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One sandbox for the module, in a thread (schemathesis calls are synchronous), with a huge quota."""
    with Sandbox.run_in_thread(SandboxConfig(rate_limit=(100_000, 60.0))) as sb:
        seed = sb.seed
        assert seed is not None
        live = Live(sb, {})
        invoice = live.send("POST", "/books/invoices", invoice_dict(seed.customer_b2b_inter, BIG_LINE))
        # Sent, with a large balance (472,000.00), so generated payments and sends can succeed.
        live.send("PATCH", f"/books/invoices/{invoice['_id']}", {"status": "sent"})
        quote_body = {"customer_id": seed.customer_b2c, "quote_date": "2099-04-01", "line_items": [BIG_LINE]}
        quote = live.send("POST", "/books/quotes", quote_body)
        live.ids.update(
            invoices=str(invoice["_id"]),
            quotes=str(quote["_id"]),
            customers=seed.customer_b2b_intra,
            products=seed.product_untracked,
            services=seed.service_consulting,
            orgs=sb.org_id,
        )
        yield live


def _aim_at_real_documents(case: schemathesis.Case, live: Live) -> None:
    """Swap about half the generated ids (valid-looking ones only) for ids of real documents."""
    path_id = (case.path_parameters or {}).get("id")
    match = _COLLECTION.match(case.operation.path)
    if match and isinstance(path_id, str) and _OBJECT_ID.fullmatch(path_id) and int(path_id[-1], 16) % 2:
        collection = match.group(1)
        is_delete = case.method.upper() == "DELETE"
        assert case.path_parameters is not None
        case.path_parameters["id"] = live.fresh(collection) if is_delete else live.ids[collection]
    body = case.body
    customer = body.get("customer_id") if isinstance(body, dict) else None
    if isinstance(customer, str) and _OBJECT_ID.fullmatch(customer) and int(customer[-1], 16) % 2:
        assert isinstance(body, dict)
        body["customer_id"] = live.ids["customers"]


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same examples every run, so a red run is reproducible
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_spec(case: schemathesis.Case, live: Live) -> None:
    """Generated requests get declared statuses and content types, and bodies matching the schema."""
    _aim_at_real_documents(case, live)
    case.call_and_validate(
        base_url=live.sandbox.base_url,
        headers={"x-api-key": live.sandbox.api_key},
        checks=CHECKS,
    )

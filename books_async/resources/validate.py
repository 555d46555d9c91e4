"""``books.validate``: session context and server-side pre-validation of payloads."""

from __future__ import annotations

from books_async import _serde
from books_async._generated.models import (
    CustomerCreate,
    InvoiceCreate,
    ProductCreate,
    QuoteCreate,
    ServiceCreate,
    ValidateRequest,
    ValidateResult,
    ValidationKind,
)
from books_async._generated.resources.validate import ValidateResource
from books_async._types import NOT_GIVEN, TimeoutArg

__all__ = ["Validate"]

_KINDS: dict[type, ValidationKind] = {
    InvoiceCreate: ValidationKind.invoice,
    CustomerCreate: ValidationKind.customer,
    QuoteCreate: ValidationKind.quote,
    ProductCreate: ValidationKind.product,
    ServiceCreate: ValidationKind.service,
}


class Validate(ValidateResource):
    """Who the key acts as (``context()``), and whether a payload would be accepted (``check()``)."""

    async def check_model(
        self,
        model: InvoiceCreate | CustomerCreate | QuoteCreate | ProductCreate | ServiceCreate,
        /,
        *,
        timeout: TimeoutArg = NOT_GIVEN,
    ) -> ValidateResult:
        """Ask the API whether ``model`` would be accepted by its create endpoint, domain rules included.

        Nothing is checked locally first: the answer is the server's, with ``details`` for each failure.
        """
        payload = _serde.unstructure_request(model)
        assert isinstance(payload, dict)  # noqa: S101  # an attrs model always unstructures to a mapping
        request = ValidateRequest(kind=_KINDS[type(model)], payload=dict[str, object](payload))
        return await self.check(request, timeout=timeout)

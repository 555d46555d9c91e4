"""The resources as users see them: the generated stubs (operations, `iter()`) plus hand-written helpers."""

from books_async.resources.customers import Customers
from books_async.resources.invoices import Invoices
from books_async.resources.mobile import Mobile
from books_async.resources.orgs import Orgs
from books_async.resources.products import Products
from books_async.resources.quotes import Quotes
from books_async.resources.services import Services
from books_async.resources.validate import Validate

__all__ = ["Customers", "Invoices", "Mobile", "Orgs", "Products", "Quotes", "Services", "Validate"]

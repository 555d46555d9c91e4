"""Optional limiters that share one quota across processes and hosts (``pip install 'books-async[redis]'``).

``import books_async`` never imports this package, so the ``redis`` dependency is only needed by code that
uses it::

    from books_async import BooksClient, RateLimit
    from books_async.limiters import RedisRateLimiter

    limiter = RedisRateLimiter("redis://cache:6379/0", rate=RateLimit(100, 60.0), key=org_id)
    books = BooksClient(limiter=limiter)

An ``aiolimiter.AsyncLimiter`` passed as ``limiter=`` is wrapped in :class:`AiolimiterAdapter`, which adds a
pause for 429s (``pip install 'books-async[aiolimiter]'``).
"""

from books_async.limiters._aiolimiter import AiolimiterAdapter
from books_async.limiters._redis import RedisRateLimiter, SharedLimiterError

__all__ = ["AiolimiterAdapter", "RedisRateLimiter", "SharedLimiterError"]

# Tracebacks and reprs show the public path users import from, not our private module layout.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name

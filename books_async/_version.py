"""The one copy of the version: hatch reads it at build time (pyproject's dynamic version).

A literal, not ``importlib.metadata.version()``: that lookup costs ~10 ms of every ``import books_async``.
"""

__version__ = "0.1.0"

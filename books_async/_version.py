"""The installed distribution's version, read from its metadata (pyproject.toml holds the one static copy)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("books-async")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

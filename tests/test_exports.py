"""The public surface is a contract: every public name is in ``__all__``, and nothing else is public."""

from __future__ import annotations

import typing
from types import ModuleType

import books_async

# Loaded on first use through the package's __getattr__, so `import books_async` stays light.
LAZY = frozenset({"BulkResult"})


def test_every_public_name_is_exported_and_nothing_else() -> None:
    """The package namespace's names without a leading underscore (submodules aside) are exactly __all__."""
    public = {
        name
        for name, value in vars(books_async).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public | LAZY == set(books_async.__all__) - {"__version__"}
    assert len(books_async.__all__) == len(set(books_async.__all__))


def test_every_exported_name_resolves() -> None:
    """Each name in __all__, the lazy ones included, can be imported from the package."""
    for name in books_async.__all__:
        assert getattr(books_async, name) is not None


def test_params_exports_one_typed_dict_per_request_model() -> None:
    """books_async.params's __all__ is exactly its `<Model>Param` TypedDicts, each named after a model."""
    import books_async.models
    import books_async.params

    names = books_async.params.__all__
    assert names == sorted(names)
    assert len(names) >= 10
    for name in names:
        cls = getattr(books_async.params, name)
        assert typing.is_typeddict(cls), name
        assert name.endswith("Param"), name
        assert hasattr(books_async.models, name.removesuffix("Param")), name
    public = {n for n in vars(books_async.params) if not n.startswith("_")}
    assert public == set(names)

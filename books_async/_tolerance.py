"""Tolerant reading: rebuild an object field by field after the fast, generated structuring failed for it.

Invariant: a key the model cannot do without (a required field not marked ``expected``) never reads as
``None``; the object fails with the fast path's error instead. Any other unreadable key reads as ``None``
(one WARNING per model and key per process) and its raw value is kept in ``extra()``. Strict mode never
comes here. Why: ``docs/design/tolerant-reading.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from types import NoneType
from typing import Any, Final, get_args

import attrs

from books_async._extra import NO_EXTRA
from books_async._hooks import note_once
from books_async._typeinfo import received, wire_key

__all__ = ["keep_extra", "make_recovery"]

_ABSENT: Final = object()


def keep_extra(model: object, found: Mapping[str, object]) -> None:
    current = getattr(model, "_extra", NO_EXTRA)
    # Frozen models: the slot is filled once, right after construction, before anyone holds the model.
    object.__setattr__(model, "_extra", {**current, **found} if current else dict(found))


def make_recovery(
    cls: Any,
    fields: Sequence[attrs.Attribute[Any]],
    hook_for: Callable[[Any], Callable[[object, Any], object]],
    *,
    keeps_extra: bool,
) -> Any:
    """Rebuild ``cls`` field by field after the fast path failed, keeping whatever can be read.

    A key the model cannot do without (a required field not marked ``expected``: ``_id``, a document number,
    a pagination counter) that is absent, null or unreadable re-raises the fast path's error, whose paths
    name the row: a row is never dropped or half-read in silence. Any other key reads as ``None`` with one
    WARNING per model and key; an unreadable value is kept in ``extra()``.
    """
    plan = [
        (
            a.alias or a.name,
            wire_key(a),
            hook_for(a.type),
            a.type,
            a.default is attrs.NOTHING and not a.metadata.get("expected"),
            bool(a.metadata.get("expected")),
            NoneType in get_args(a.type),
        )
        for a in fields
    ]
    name = cls.__name__
    # Only a response model says which of its keys are essential (the others are marked `expected`). A model
    # without such marks (an Address, shared with requests) failing inside one is just an unreadable value.
    says_essential = any(a.metadata.get("expected") for a in fields)

    def mark_essential(failure: Exception) -> Exception:
        if says_essential:
            failure.books_essential = True  # type: ignore[attr-defined]  # read by enclosing objects' recovery
        return failure

    def recover(data: object, failure: Exception) -> object:
        if not isinstance(data, Mapping):
            raise failure
        values: dict[str, object] = {}
        unreadable: dict[str, object] = {}
        for alias, key, hook, tp, essential, expected, nullable in plan:
            raw = data.get(key, _ABSENT)
            if raw is _ABSENT or raw is None:
                if essential:
                    raise mark_essential(failure)
                if expected:
                    seen = "no value (key absent)" if raw is _ABSENT else "null"
                    warn_unread(name, key, seen)
                    values[alias] = None
                continue  # an optional key: its default
            try:
                values[alias] = hook(raw, tp)
            except Exception as exc:
                # An essential key missing deeper down (a pagination counter, a payment's invoice's _id)
                # fails this object too, rather than turning the nested one into None.
                if essential or has_essential(exc):
                    raise mark_essential(failure) from None
                warn_unread(name, key, f"an unreadable {received(raw)}")
                if nullable:
                    values[alias] = None  # else the field's own default, which is no None
                unreadable[key] = raw
        model = cls(**values)
        if unreadable and keeps_extra:
            keep_extra(model, unreadable)
        return model

    return recover


def has_essential(exc: BaseException) -> bool:
    if getattr(exc, "books_essential", False):
        return True
    return isinstance(exc, BaseExceptionGroup) and any(has_essential(e) for e in exc.exceptions)


def warn_unread(model: str, key: str, seen: str) -> None:
    note_once(
        logging.WARNING,
        ("unread", model, key),
        "%s.%s: the API sent %s where the spec expects a value; left unset (None). "
        "`books-async doctor` lists every such difference.",
        model,
        key,
        seen,
    )

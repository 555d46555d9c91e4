"""``books.mobile``: the dashboard; nothing to add to the generated operation."""

from __future__ import annotations

from books_async._generated.resources.mobile import MobileResource

__all__ = ["Mobile"]


class Mobile(MobileResource):
    """Aggregated figures for dashboards: revenue, receivables, counts and recent activity."""

"""The sandbox's data: documents in memory, indexed per organisation, optionally saved in SQLite.

Documents are the wire shapes of the spec (snake_case, ``_id``, ``createdAt``) with money as ``Decimal``.
Handlers change ``record.doc`` and then call :meth:`Store.touch`, which stamps ``updatedAt``, drops the
cached JSON and re-indexes; :meth:`Store.flush` (called once per request) writes every changed record
in one SQLite transaction, so a request's writes land together or not at all.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, cast

from ._auth import ApiKey
from ._gst import financial_year
from ._ids import now_iso, object_id
from ._json import dumps, loads_stored

__all__ = [
    "COLLECTIONS",
    "STORED_INVOICE_STATUSES",
    "OrgSpace",
    "Record",
    "SQLiteFile",
    "Store",
    "document_year",
]

log = logging.getLogger("books_async.sandbox")

COLLECTIONS: Final = ("customers", "products", "services", "invoices", "quotes")
"""Collections that belong to an organisation (organisations themselves are the ``orgs`` collection)."""

STORED_INVOICE_STATUSES: Final = ("draft", "sent", "partially_paid", "paid", "void")
"""Statuses an invoice is stored with; ``overdue`` is derived when it is read."""


def document_year(value: object) -> str:
    """The financial year of a stored date (``2026-03-31`` or an ISO datetime), or "" without one."""
    try:
        return financial_year(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return ""


@dataclass(slots=True, eq=False)
class Record:
    """One stored document and what the sandbox keeps beside it."""

    collection: str
    id: str
    org_id: str
    seq: int
    doc: dict[str, object]
    meta: dict[str, object] = field(default_factory=dict)
    """Internal facts that are not on the wire (e.g. when an invoice was voided), saved with the doc."""
    cache: bytes | None = None
    """The JSON of the document as last served; None once it changes."""
    cache_day: date | None = None
    """The day ``cache`` was made: invoices and quotes derive ``overdue``/``expired`` from the date."""
    search: str = ""
    indexed: tuple[str, str, str, str] = ("", "", "", "")

    def text(self, key: str) -> str:
        """Return a string field of the document ("" when absent)."""
        value = self.doc.get(key)
        return value if isinstance(value, str) else ""


class OrgSpace:
    """One organisation's documents, with the indexes the list and search endpoints use."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Record]] = {name: {} for name in COLLECTIONS}
        # DOMAIN.md, invoice number: unique within a financial year, so keyed by (financial year, number).
        self.invoice_numbers: dict[tuple[str, str], Record] = {}
        self.quote_numbers: dict[str, Record] = {}
        self.invoices_by_status: dict[str, dict[str, Record]] = {s: {} for s in STORED_INVOICE_STATUSES}
        self.invoices_by_customer: dict[str, dict[str, Record]] = {}
        self.skus: dict[str, Record] = {}
        self.outbox: list[dict[str, object]] = []
        self.next_number: dict[str, int] = {"invoices": 1, "quotes": 1}

    def __getitem__(self, collection: str) -> dict[str, Record]:
        return self.collections[collection]


def _search_text(collection: str, doc: dict[str, object]) -> str:
    keys = {
        "invoices": ("invoice_number", "customer_name"),
        "quotes": ("quote_number", "customer_name"),
        "customers": ("name", "gstin", "email"),
        "products": ("name", "sku"),
        "services": ("name",),
    }.get(collection, ("name",))
    return "\x00".join(v for k in keys if isinstance(v := doc.get(k), str)).lower()


class SQLiteFile:
    """Write-through persistence in one SQLite file (stdlib ``sqlite3``): a table of JSON documents."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # The sandbox is a test server: surviving a power cut matters less than a fast commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, id TEXT NOT NULL, "
            "org_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, meta TEXT NOT NULL, "
            "PRIMARY KEY (collection, id))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, body TEXT NOT NULL)")

    def is_empty(self) -> bool:
        """True if the file holds no organisation yet."""
        row = self._db.execute("SELECT COUNT(*) FROM documents WHERE collection = 'orgs'").fetchone()
        return not row or row[0] == 0

    def load(self) -> Iterator[tuple[str, str, str, int, dict[str, object], dict[str, object]]]:
        """Yield (collection, id, org_id, seq, doc, meta) for every document, oldest first."""
        for coll, doc_id, org_id, seq, body, meta in self._db.execute(
            "SELECT collection, id, org_id, seq, body, meta FROM documents ORDER BY seq"
        ):
            yield (
                coll,
                doc_id,
                org_id,
                seq,
                cast("dict[str, object]", loads_stored(body)),
                cast("dict[str, object]", loads_stored(meta)),
            )

    def load_keys(self) -> list[ApiKey]:
        """Return every saved API key."""
        return [
            ApiKey.from_stored(cast("dict[str, object]", loads_stored(body)))
            for (body,) in self._db.execute("SELECT body FROM api_keys")
        ]

    def write(self, changed: list[tuple[str, str, Record | None]], keys: list[ApiKey]) -> None:
        """Save changed records (None: deleted) and new keys in one transaction."""
        db = self._db
        db.execute("BEGIN")
        try:
            for coll, doc_id, rec in changed:
                if rec is None:
                    db.execute("DELETE FROM documents WHERE collection = ? AND id = ?", (coll, doc_id))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            coll,
                            doc_id,
                            rec.org_id,
                            rec.seq,
                            dumps(rec.doc).decode(),
                            dumps(rec.meta).decode(),
                        ),
                    )
            for key in keys:
                db.execute(
                    "INSERT OR REPLACE INTO api_keys VALUES (?, ?)",
                    (key.key, dumps(key.to_stored()).decode()),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class Store:
    """Every organisation, key and document of one sandbox."""

    def __init__(self, persistence: SQLiteFile | None = None) -> None:
        self.orgs: dict[str, Record] = {}
        self.keys: dict[str, ApiKey] = {}
        self.spaces: dict[str, OrgSpace] = {}
        self._seq = 0
        self._persistence = persistence
        self._dirty: dict[tuple[str, str], Record | None] = {}
        self._new_keys: list[ApiKey] = []

    # ---- loading and saving

    def load(self) -> None:
        """Read every organisation, key and document from the SQLite file."""
        if self._persistence is None:
            return
        for coll, doc_id, org_id, seq, doc, meta in self._persistence.load():
            rec = Record(coll, doc_id, org_id, seq, doc, meta)
            self._seq = max(self._seq, seq)
            if coll == "orgs":
                self.orgs[doc_id] = rec
                self.spaces.setdefault(doc_id, OrgSpace())
            else:
                self._add(rec)
        for key in self._persistence.load_keys():
            self.keys[key.key] = key
        for space in self.spaces.values():
            space.next_number = {"invoices": len(space["invoices"]) + 1, "quotes": len(space["quotes"]) + 1}

    def flush(self) -> None:
        """Write the records changed since the last flush (one transaction); a no-op in memory."""
        if self._persistence is None or not (self._dirty or self._new_keys):
            self._dirty.clear()
            return
        changed = [(coll, doc_id, rec) for (coll, doc_id), rec in self._dirty.items()]
        keys = self._new_keys
        self._dirty = {}
        self._new_keys = []
        self._persistence.write(changed, keys)

    def close(self) -> None:
        """Flush and close the SQLite file, if any."""
        self.flush()
        if self._persistence is not None:
            self._persistence.close()

    # ---- organisations and keys

    def add_org(self, doc: dict[str, object], account_id: str) -> Record:
        """Create an organisation (``_id`` and timestamps are set here) in ``account_id``."""
        stamp = now_iso()
        org_id = object_id()
        doc = {"_id": org_id, **doc, "createdAt": stamp, "updatedAt": stamp}
        self._seq += 1
        rec = Record("orgs", org_id, org_id, self._seq, doc, {"account_id": account_id})
        self.orgs[org_id] = rec
        self.spaces[org_id] = OrgSpace()
        self._dirty[("orgs", org_id)] = rec
        return rec

    def add_key(self, key: ApiKey) -> None:
        """Accept ``key`` from now on."""
        self.keys[key.key] = key
        self._new_keys.append(key)

    def account_of(self, org_id: str) -> str:
        """Return the account an organisation belongs to."""
        return str(self.orgs[org_id].meta.get("account_id", ""))

    # ---- documents

    def space(self, org_id: str) -> OrgSpace:
        """Return an organisation's documents and indexes."""
        return self.spaces[org_id]

    def get(self, collection: str, org_id: str, doc_id: str) -> Record | None:
        """Return the record ``doc_id`` of ``collection`` if it belongs to ``org_id``."""
        if collection == "orgs":
            return self.orgs.get(doc_id)
        space = self.spaces.get(org_id)
        return None if space is None else space.collections[collection].get(doc_id)

    def insert(
        self,
        collection: str,
        org_id: str,
        doc: dict[str, object],
        meta: dict[str, object] | None = None,
        *,
        stamp: str | None = None,
    ) -> Record:
        """Store a new document; ``_id``, ``createdAt`` and ``updatedAt`` are set here (``_id`` first)."""
        stamp = stamp or now_iso()
        doc_id = object_id()
        doc = {"_id": doc_id, **doc, "createdAt": stamp, "updatedAt": stamp}
        self._seq += 1
        rec = Record(collection, doc_id, org_id, self._seq, doc, meta or {})
        self._add(rec)
        self._dirty[(collection, doc_id)] = rec
        return rec

    def touch(self, rec: Record, *, stamp: str | None = None) -> None:
        """Record that ``rec.doc`` changed: new ``updatedAt``, cache dropped, indexes refreshed, saved."""
        rec.doc["updatedAt"] = stamp or now_iso()
        rec.cache = None
        if rec.collection == "orgs":
            self._dirty[("orgs", rec.id)] = rec
            return
        space = self.spaces[rec.org_id]
        self._unindex(space, rec)
        self._index(space, rec)
        self._dirty[(rec.collection, rec.id)] = rec

    def delete(self, rec: Record) -> None:
        """Remove a document."""
        space = self.spaces[rec.org_id]
        space.collections[rec.collection].pop(rec.id, None)
        self._unindex(space, rec)
        self._dirty[(rec.collection, rec.id)] = None

    def _add(self, rec: Record) -> None:
        space = self.spaces.setdefault(rec.org_id, OrgSpace())
        space.collections[rec.collection][rec.id] = rec
        self._index(space, rec)

    @staticmethod
    def _index(space: OrgSpace, rec: Record) -> None:
        rec.search = _search_text(rec.collection, rec.doc)
        if rec.collection == "invoices":
            status, number, customer = rec.text("status"), rec.text("invoice_number"), rec.text("customer_id")
            fy = document_year(rec.doc.get("invoice_date"))
            space.invoices_by_status.setdefault(status, {})[rec.id] = rec
            space.invoice_numbers[fy, number] = rec
            space.invoices_by_customer.setdefault(customer, {})[rec.id] = rec
            rec.indexed = (status, number, customer, fy)
        elif rec.collection == "quotes":
            number = rec.text("quote_number")
            space.quote_numbers[number] = rec
            rec.indexed = ("", number, "", "")
        elif rec.collection == "products":
            sku = rec.text("sku")
            if sku:
                space.skus[sku] = rec
            rec.indexed = ("", sku, "", "")

    @staticmethod
    def _unindex(space: OrgSpace, rec: Record) -> None:
        status, number, customer, fy = rec.indexed
        if rec.collection == "invoices":
            space.invoices_by_status.get(status, {}).pop(rec.id, None)
            if space.invoice_numbers.get((fy, number)) is rec:
                del space.invoice_numbers[fy, number]
            space.invoices_by_customer.get(customer, {}).pop(rec.id, None)
        elif rec.collection == "quotes":
            if space.quote_numbers.get(number) is rec:
                del space.quote_numbers[number]
        elif rec.collection == "products" and space.skus.get(number) is rec:
            del space.skus[number]

    # ---- conveniences for tests

    def find(self, collection: str, doc_id: str) -> dict[str, object] | None:
        """Return the stored document ``doc_id`` of ``collection`` in any organisation, or None."""
        if collection == "orgs":
            rec = self.orgs.get(doc_id)
            return None if rec is None else rec.doc
        for space in self.spaces.values():
            found = space.collections[collection].get(doc_id)
            if found is not None:
                return found.doc
        return None

    def documents(self, collection: str, org_id: str) -> list[dict[str, object]]:
        """Return every document of ``collection`` in ``org_id``, oldest first."""
        return [rec.doc for rec in self.spaces[org_id].collections[collection].values()]

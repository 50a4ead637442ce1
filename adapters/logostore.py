"""Clinic logos, kept outside the event log (seed 002 "Logo"): the events hold the SHA-256 of
an image; its bytes live here, one row per digest, in the event store's own database (same
pool, so every API replica serves them), or in this process for ``memory://`` stores.

Content-addressed: putting the same image twice stores it once, and a row is never changed.
"""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.sqltables import create_tables, sql_names, store_beside

StoredLogo = tuple[str, bytes]  # media type, bytes


class MemoryLogoStore:
    def __init__(self) -> None:
        self._logos: dict[str, StoredLogo] = {}
        self._lock = threading.Lock()

    def put(self, digest: str, media_type: str, content: bytes) -> None:
        with self._lock:
            self._logos.setdefault(digest, (media_type, bytes(content)))

    def get(self, digest: str) -> StoredLogo | None:
        return self._logos.get(digest)


class SqlLogoStore:
    """One table ``hub_logos(digest, media_type, content)`` beside the events."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore) -> None:
        self.datastore = datastore
        postgres, self.mark, (self.table,) = sql_names(datastore, "hub_logos")
        blob = "BYTEA" if postgres else "BLOB"
        create_tables(self.datastore, [f"CREATE TABLE IF NOT EXISTS {self.table} (digest TEXT PRIMARY KEY, "
                                       f"media_type TEXT NOT NULL, content {blob} NOT NULL)"])

    def put(self, digest: str, media_type: str, content: bytes) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} VALUES (?, ?, ?) ON CONFLICT DO NOTHING".replace(
                    "?", self.mark),
                (digest, media_type, bytes(content)),
            )

    def get(self, digest: str) -> StoredLogo | None:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT media_type, content FROM {self.table} WHERE digest = ?".replace(
                "?", self.mark), (digest,))
            row: Any = cursor.fetchone()
        if not row:
            return None
        values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        return str(values[0]), bytes(values[1])


LogoStore = MemoryLogoStore | SqlLogoStore


def logo_store_for(recorder: Any) -> LogoStore:
    """The logo store beside an application's recorder (same database, same pool)."""
    return store_beside(recorder, SqlLogoStore, MemoryLogoStore)

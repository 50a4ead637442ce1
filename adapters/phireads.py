"""Who read which patient's personal data, when, through what (Loi 25: reads leave a trail).

One row per read of a patient's personal data through the API (``hub_phi_reads`` beside the
events, or in this process on ``memory://``), listed for ops by patient or by reader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.sqltables import create_tables, store_beside


@dataclass(frozen=True)
class PhiRead:
    at: str
    reader: str
    role: str
    patient_id: str
    what: str


class MemoryPhiReads:
    """The trail in this process (``memory://`` stores)."""

    def __init__(self) -> None:
        self._rows: list[PhiRead] = []
        self._lock = threading.Lock()

    def record(self, reader: str, role: str, patient_id: str, what: str) -> None:
        self.record_many(reader, role, [patient_id], what)

    def record_many(self, reader: str, role: str, patient_ids: list[str], what: str) -> None:
        at = datetime.now(UTC).isoformat()
        with self._lock:
            self._rows.extend(PhiRead(at, reader, role, p, what) for p in patient_ids)

    def find(self, patient_id: str | None = None, reader: str | None = None,
             limit: int = 200) -> list[PhiRead]:
        rows = [r for r in self._rows if (patient_id is None or r.patient_id == patient_id)
                and (reader is None or r.reader == reader)]
        return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


class SqlPhiReads:
    """The trail in table ``hub_phi_reads`` of the event store's database."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore) -> None:
        self.datastore = datastore
        self.postgres = isinstance(datastore, PostgresDatastore)
        schema = datastore.schema if isinstance(datastore, PostgresDatastore) else ""
        self.table = f'"{schema}".hub_phi_reads' if schema else "hub_phi_reads"
        create_tables(datastore, [f"CREATE TABLE IF NOT EXISTS {self.table} (at TEXT NOT NULL, "
                                  "reader TEXT NOT NULL, role TEXT NOT NULL, patient_id TEXT NOT NULL, "
                                  "what TEXT NOT NULL)"])

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def record(self, reader: str, role: str, patient_id: str, what: str) -> None:
        self.record_many(reader, role, [patient_id], what)

    def record_many(self, reader: str, role: str, patient_ids: list[str], what: str) -> None:
        """One row per patient, in one transaction."""
        at = datetime.now(UTC).isoformat()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.executemany(self._sql(f"INSERT INTO {self.table} VALUES (?, ?, ?, ?, ?)"),
                               [(at, reader, role, p, what) for p in patient_ids])

    def find(self, patient_id: str | None = None, reader: str | None = None,
             limit: int = 200) -> list[PhiRead]:
        where, params = [], []
        for column, value in (("patient_id", patient_id), ("reader", reader)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(f"SELECT at, reader, role, patient_id, what FROM {self.table}"
                                     f"{clause} ORDER BY at DESC LIMIT {int(limit)}"), params)
            rows: list[Any] = cursor.fetchall()
        return [PhiRead(*(tuple(r.values()) if isinstance(r, dict) else tuple(r))) for r in rows]


PhiReads = MemoryPhiReads | SqlPhiReads


def phi_reads_for(recorder: Any) -> PhiReads:
    """The trail beside an application's recorder (same database, same pool)."""
    return store_beside(recorder, SqlPhiReads, MemoryPhiReads)

"""A PostgreSQL session advisory lock on a connection of its own: who among the processes
of one store does a job (``hub.readmodels.leader``). The lock lives as long as the session:
a process stopped, killed or cut off releases it, and another can take it."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg


class LockLost(Exception):
    """The lock's connection failed: the lock is (or will soon be) released."""


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class SessionLock:
    def __init__(self, conninfo: str, kwargs: dict[str, Any], key: int) -> None:
        self.conninfo = conninfo
        self.kwargs = {k: v for k, v in kwargs.items() if k not in ("autocommit", "row_factory")}
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free (or held by this session already); connect first if need be."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True, **self.kwargs)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error as exc:
            self.close()
            raise LockLost(type(exc).__name__) from exc

    def check(self) -> None:
        """Raise ``LockLost`` when the session holding the lock is gone."""
        try:
            if self._conn is None or self._conn.closed:
                raise LockLost("not connected")
            self._conn.execute("SELECT 1")
        except psycopg.Error as exc:
            self.close()
            raise LockLost(type(exc).__name__) from exc

    def close(self) -> None:
        """End the session (and so release the lock)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None


def session_lock_for(recorder: Any, name: str) -> SessionLock | None:
    """A session lock named ``name`` in the store of a PostgreSQL recorder (per schema), else
    None (SQLite and memory stores have one process)."""
    datastore: Any = getattr(recorder, "datastore", None)
    pool: Any = getattr(datastore, "pool", None)
    if pool is None or not hasattr(pool, "conninfo"):
        return None
    schema = str(getattr(datastore, "schema", "") or "public")
    return SessionLock(pool.conninfo, dict(getattr(pool, "kwargs", None) or {}),
                       lock_key(f"{name}:{schema}"))

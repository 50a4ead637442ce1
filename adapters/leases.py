"""Who may publish: one relay per store, decided in the store's own database.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated connection;
it dies with the relay's process, so a SIGKILLed relay frees it at once.
SQLite: a lease row with an expiry, renewed on every loop; a killed relay's lease lapses after
``ttl`` seconds, or at once when its holder ran on this host and its process is gone.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


class LeaseLost(Exception):
    """Another relay holds the lease: this one must not publish nor move the position."""


@dataclass(frozen=True)
class LeaseState:
    """What ``hub relay --status`` shows about the lease."""

    held: bool
    holder: str | None = None
    expires_in: float | None = None


class Lease(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Take or renew the lease; True when this relay holds it."""

    def release(self) -> None: ...

    def state(self) -> LeaseState: ...


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def holder_is_gone(holder: str) -> bool:
    """True when ``holder`` (``default_holder()``'s ``host:pid:tag``) names a process of this
    host that no longer runs (or is a zombie); a holder elsewhere, or unreadable, is not gone."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"  # dead, not yet reaped
    except OSError:
        return False


class InProcessLease:
    """For the in-memory store: a relay in the same process is alone by construction."""

    def __init__(self, holder: str | None = None) -> None:
        self.holder = holder or default_holder()

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def state(self) -> LeaseState:
        return LeaseState(held=True, holder=self.holder)


class SqliteLease:
    """A lease row ``(name, holder, expires_at)`` in the store's SQLite file."""

    def __init__(self, datastore: Any, name: str, ttl: float, holder: str | None = None) -> None:
        self.datastore = datastore
        self.name = name
        self.ttl = ttl
        self.holder = holder or default_holder()
        self._renewed_at = float("-inf")
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "CREATE TABLE IF NOT EXISTS hub_relay_lease "
                "(name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)"
            )

    def acquire(self) -> bool:
        # Renewed less than a third of the lifetime ago: still ours for two thirds of it, with
        # no write (each renewal is a commit, an fsync).
        if time.monotonic() < self._renewed_at + self.ttl / 3:
            return True
        renewing_at = time.monotonic()
        now = time.time()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO hub_relay_lease (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE hub_relay_lease.holder = excluded.holder OR hub_relay_lease.expires_at < ?",
                (self.name, self.holder, now + self.ttl, now),
            )
            curs.execute("SELECT holder FROM hub_relay_lease WHERE name = ?", (self.name,))
            row = curs.fetchone()
            if row is not None and row[0] != self.holder and holder_is_gone(row[0]):
                # Its process died on this host: no need to wait for the lease to lapse.
                curs.execute(
                    "UPDATE hub_relay_lease SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?",
                    (self.holder, now + self.ttl, self.name, row[0]),
                )
                curs.execute("SELECT holder FROM hub_relay_lease WHERE name = ?", (self.name,))
                row = curs.fetchone()
        held = row is not None and row[0] == self.holder
        self._renewed_at = renewing_at if held else float("-inf")
        return held

    def release(self) -> None:
        self._renewed_at = float("-inf")
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "DELETE FROM hub_relay_lease WHERE name = ? AND holder = ?", (self.name, self.holder)
            )

    def state(self) -> LeaseState:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT holder, expires_at FROM hub_relay_lease WHERE name = ?", (self.name,))
            row = curs.fetchone()
        if row is None or row[1] < time.time():
            return LeaseState(held=False)
        return LeaseState(held=True, holder=row[0], expires_in=round(row[1] - time.time(), 1))


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a relay name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresLease:
    """A session-level advisory lock held on a dedicated connection for the relay's lifetime."""

    def __init__(self, database_url: str, name: str, holder: str | None = None) -> None:
        """``database_url``: the hub's URL, or a libpq connection string (a store's pool's)."""
        parts = urlsplit(database_url)
        self.conninfo = (urlunsplit(parts._replace(scheme="postgresql", query=""))
                         if "://" in database_url else database_url)
        self.name = name
        self.key = advisory_key(name)
        self.holder = holder or default_holder()
        self._conn: Any = None

    def acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is not None:
                # The lock lives as long as this session: a live session still holds it.
                self._conn.execute("SELECT 1")
                return True
            conn = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=5,
                application_name=f"hub-relay {self.holder}"[:63],
            )
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            locked = bool(row and row[0])
        except psycopg.Error:
            self._drop()
            return False
        if not locked:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - releasing a lease never fails the caller
                pass

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except Exception:  # noqa: BLE001 - releasing a lease never fails the caller - the lock goes with the session anyway
                pass
        self._drop()

    def state(self) -> LeaseState:
        import psycopg

        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        classid, objid = unsigned >> 32, unsigned & 0xFFFFFFFF
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT a.application_name, a.pid FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
                "AND l.objsubid = 1",
                (classid, objid),
            ).fetchone()
        if row is None:
            return LeaseState(held=False)
        return LeaseState(held=True, holder=f"{row[0]} (pid {row[1]})")


def store_lease(datastore: Any, name: str) -> PostgresLease:
    """A ``PostgresLease`` on the server of a store's PostgreSQL datastore, connecting as the
    store's own pool does (its connection parameters, not a URL)."""
    from psycopg.conninfo import make_conninfo

    pool = datastore.pool
    params = {k: v for k, v in (pool.kwargs or {}).items()
              if k in ("dbname", "host", "port", "user", "password", "sslmode", "options")}
    return PostgresLease(make_conninfo(pool.conninfo or "", **params), name)

"""Users' password hashes and sign-in sessions, beside the events (never in them).

Password hashes stay out of the event log (which reaches Kafka and ``/v1/events``); session
tokens are stored as their sha256, like API tokens. Same database and pool as the event store
on PostgreSQL and SQLite; in this process on ``memory://``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.sqltables import create_tables, sql_names, store_beside


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in session: never the token, only its hash."""

    token_hash: str
    session_id: str
    user_id: str
    issued_at: str
    expires_at: str
    revoked_at: str | None = None


class MemoryUserStore:
    """Password hashes and sessions in this process (``memory://`` stores)."""

    def __init__(self) -> None:
        self._passwords: dict[str, str] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._lock = threading.Lock()

    def set_password(self, user_id: str, password_hash: str) -> None:
        with self._lock:
            self._passwords[user_id] = password_hash

    def password(self, user_id: str) -> str | None:
        return self._passwords.get(user_id)

    def add_session(self, record: SessionRecord) -> None:
        with self._lock:
            self._sessions[record.token_hash] = record

    def session(self, token_hash: str) -> SessionRecord | None:
        return self._sessions.get(token_hash)

    def revoke_sessions(self, at: str, user_id: str | None = None,
                        session_id: str | None = None) -> int:
        with self._lock:
            hits = [k for k, r in self._sessions.items() if r.revoked_at is None
                    and (user_id is None or r.user_id == user_id)
                    and (session_id is None or r.session_id == session_id)]
            for key in hits:
                self._sessions[key] = replace(self._sessions[key], revoked_at=at)
            return len(hits)

    def close(self) -> None:
        """Nothing to release."""


class SqlUserStore:
    """Two tables of the event store's database: ``hub_user_passwords``, ``hub_user_sessions``."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore) -> None:
        self.datastore = datastore
        _, self.mark, (self.passwords_table, self.sessions_table) = sql_names(
            datastore, "hub_user_passwords", "hub_user_sessions")
        create_tables(self.datastore, (
            f"CREATE TABLE IF NOT EXISTS {self.passwords_table} (user_id TEXT PRIMARY KEY, "
            "password_hash TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.sessions_table} (token_hash TEXT PRIMARY KEY, "
            "session_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, issued_at TEXT NOT NULL, "
            "expires_at TEXT NOT NULL, revoked_at TEXT)",
        ))

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(sql.replace("?", self.mark), params)
            raw: Any = getattr(cursor, "sqlite_cursor", cursor)  # the DB-API cursor of either driver
            return int(raw.rowcount or 0)

    def _row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql.replace("?", self.mark), params)
            row = cursor.fetchone()
        if not row:
            return None
        return tuple(row.values()) if isinstance(row, dict) else tuple(row)

    def set_password(self, user_id: str, password_hash: str) -> None:
        self._write(
            f"INSERT INTO {self.passwords_table} VALUES (?, ?) ON CONFLICT (user_id) "
            "DO UPDATE SET password_hash = excluded.password_hash", (user_id, password_hash))

    def password(self, user_id: str) -> str | None:
        row = self._row(f"SELECT password_hash FROM {self.passwords_table} WHERE user_id = ?",
                        (user_id,))
        return None if row is None else str(row[0])

    def add_session(self, record: SessionRecord) -> None:
        self._write(f"INSERT INTO {self.sessions_table} VALUES (?, ?, ?, ?, ?, ?)",
                    (record.token_hash, record.session_id, record.user_id, record.issued_at,
                     record.expires_at, record.revoked_at))

    def session(self, token_hash: str) -> SessionRecord | None:
        row = self._row(
            f"SELECT token_hash, session_id, user_id, issued_at, expires_at, revoked_at "
            f"FROM {self.sessions_table} WHERE token_hash = ?", (token_hash,))
        return None if row is None else SessionRecord(*row)

    def revoke_sessions(self, at: str, user_id: str | None = None,
                        session_id: str | None = None) -> int:
        where, params = ["revoked_at IS NULL"], [at]
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        return self._write(f"UPDATE {self.sessions_table} SET revoked_at = ? "
                           f"WHERE {' AND '.join(where)}", tuple(params))

    def close(self) -> None:
        """The datastore belongs to the application, which closes it."""


UserStore = MemoryUserStore | SqlUserStore


def user_store_for(recorder: Any) -> UserStore:
    """The user store beside an application's recorder (same database, same pool)."""
    return store_beside(recorder, SqlUserStore, MemoryUserStore)

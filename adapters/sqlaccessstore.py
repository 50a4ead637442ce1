"""``SqlAccessStore``: API tokens and idempotency records in the event store's database
(``adapters.accessstore`` has the records and the in-memory store)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.accessstore import (
    TOKEN_COLUMNS,
    IdempotentAnswer,
    MemoryAccessStore,
    TokenRecord,
    now_iso,
)
from adapters.sqltables import create_tables, sql_names, store_beside
from adapters.token_changes import TokenChanges, channel_of


class SqlAccessStore:
    """Tokens and idempotency records in two tables of the event store's database."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore) -> None:
        self.datastore = datastore
        postgres, self.mark, (self.tokens_table, self.answers_table) = sql_names(
            datastore, "hub_api_tokens", "hub_api_idempotency")
        self._create_tables(postgres)

    def _create_tables(self, postgres: bool) -> None:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.tokens_table} (token_hash TEXT PRIMARY KEY, "
            "subject TEXT NOT NULL UNIQUE, role TEXT NOT NULL, clinic_ids TEXT NOT NULL, "
            "created_at TEXT NOT NULL, revoked_at TEXT, expires_at TEXT, rotated_to TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.answers_table} (subject TEXT NOT NULL, "
            "key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL, "
            "body TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (subject, key))",
        ]
        create_tables(self.datastore, statements)
        self._add_missing_token_columns(postgres)

    def _add_missing_token_columns(self, postgres: bool) -> None:
        """A tokens table from before expiry and rotation gains their columns (rows kept)."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT * FROM {self.tokens_table} WHERE 1 = 0")
            raw: Any = getattr(cursor, "sqlite_cursor", cursor)
            present = {str(d[0]) for d in raw.description or ()}
        missing = [c for c in TOKEN_COLUMNS if c not in present]
        if_absent = "IF NOT EXISTS " if postgres else ""
        for column in missing:
            try:
                self._write(f"ALTER TABLE {self.tokens_table} ADD COLUMN {if_absent}{column} TEXT",
                            ())
            except Exception as exc:  # noqa: BLE001 - another process added it first: fine
                if "duplicate column" not in str(exc):
                    raise

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        """One row of one read statement. On PostgreSQL the statement runs alone (autocommit):
        one round trip, where BEGIN, SELECT, ROLLBACK took three (every request's token)."""
        if isinstance(self.datastore, PostgresDatastore):
            with self.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute(sql.replace("?", self.mark), params)
                return cursor.fetchone()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql.replace("?", self.mark), params)
            return cursor.fetchone()

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(sql.replace("?", self.mark), params)
            raw: Any = getattr(cursor, "sqlite_cursor", cursor)  # the DB-API cursor of either driver
            return int(raw.rowcount or 0)

    @staticmethod
    def _token(row: Any) -> TokenRecord:
        values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        token_hash, subject, role, clinic_ids, created_at, revoked_at, expires_at, rotated_to = values
        return TokenRecord(token_hash, subject, role, tuple(json.loads(clinic_ids)), created_at,
                           revoked_at, expires_at, rotated_to)

    @staticmethod
    def _token_values(record: TokenRecord) -> tuple[Any, ...]:
        return (record.token_hash, record.subject, record.role,
                json.dumps(list(record.clinic_ids)), record.created_at, record.revoked_at,
                record.expires_at, record.rotated_to)

    _SELECT = ", ".join(TOKEN_COLUMNS)
    _INSERT = ", ".join("?" for _ in TOKEN_COLUMNS)

    def add_token(self, record: TokenRecord) -> None:
        self._write(f"INSERT INTO {self.tokens_table} ({self._SELECT}) VALUES ({self._INSERT})",
                    self._token_values(record))

    def token(self, token_hash: str) -> TokenRecord | None:
        row = self._one(f"SELECT {self._SELECT} FROM {self.tokens_table} WHERE token_hash = ?",
                        (token_hash,))
        return self._token(row) if row else None

    def token_of(self, subject: str) -> TokenRecord | None:
        row = self._one(f"SELECT {self._SELECT} FROM {self.tokens_table} WHERE subject = ?",
                        (subject,))
        return self._token(row) if row else None

    def rotate(self, subject: str, successor: TokenRecord, old_expires_at: str) -> bool:
        """Add ``successor`` and cut the live, not yet rotated token ``subject`` short to
        ``old_expires_at``, in one transaction; False (nothing written) when it is not such
        a token (revoked, or rotated meanwhile by someone else)."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"UPDATE {self.tokens_table} SET expires_at = ?, rotated_to = ? WHERE subject = ? "
                "AND revoked_at IS NULL AND rotated_to IS NULL".replace("?", self.mark),
                (old_expires_at, successor.subject, subject))
            raw: Any = getattr(cursor, "sqlite_cursor", cursor)
            if int(raw.rowcount or 0) != 1:
                return False
            cursor.execute(
                f"INSERT INTO {self.tokens_table} ({self._SELECT}) VALUES ({self._INSERT})"
                .replace("?", self.mark), self._token_values(successor))
            self._announce(cursor)
        return True

    def revoke(self, subject: str) -> bool:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"UPDATE {self.tokens_table} SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL"
                .replace("?", self.mark), (now_iso(), subject))
            raw: Any = getattr(cursor, "sqlite_cursor", cursor)
            if int(raw.rowcount or 0) != 1:
                return False
            self._announce(cursor)
        return True

    def _announce(self, cursor: Any) -> None:
        """PostgreSQL: tell the servers following this schema's tokens (``TokenChanges``) that
        a token changed; delivered when this transaction commits."""
        if isinstance(self.datastore, PostgresDatastore):
            cursor.execute("SELECT pg_notify(%s, '')", (channel_of(self.datastore),))

    def changes(self, on_change: Callable[[], None]) -> TokenChanges | None:
        """Follow the token changes announced by every process (PostgreSQL only; not started)."""
        if isinstance(self.datastore, PostgresDatastore):
            return TokenChanges(self.datastore, on_change)
        return None

    def tokens(self) -> list[TokenRecord]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT {self._SELECT} FROM {self.tokens_table} ORDER BY created_at")
            return [self._token(row) for row in cursor.fetchall()]

    def answer(self, subject: str, key: str) -> IdempotentAnswer | None:
        row = self._one(
            f"SELECT request_hash, status, body FROM {self.answers_table} "
            "WHERE subject = ? AND key = ?", (subject, key),
        )
        if not row:
            return None
        values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        return IdempotentAnswer(values[0], int(values[1]), values[2])

    def claim(self, subject: str, key: str, request_hash: str) -> tuple[bool, IdempotentAnswer]:
        """Claim a key for a request (status 0: in progress); if it was claimed before, return
        False and the earlier request's record."""
        inserted = self._write(
            f"INSERT INTO {self.answers_table} VALUES (?, ?, ?, 0, '', ?) ON CONFLICT DO NOTHING",
            (subject, key, request_hash, now_iso()),
        )
        if inserted:
            return True, IdempotentAnswer(request_hash, 0, "")
        earlier = self.answer(subject, key)
        if earlier is None:  # released meanwhile: try once more
            return self.claim(subject, key, request_hash)
        return False, earlier

    def complete(self, subject: str, key: str, status: int, body: str) -> None:
        self._write(
            f"UPDATE {self.answers_table} SET status = ?, body = ? WHERE subject = ? AND key = ?",
            (status, body, subject, key),
        )

    def release(self, subject: str, key: str) -> None:
        self._write(f"DELETE FROM {self.answers_table} WHERE subject = ? AND key = ?",
                    (subject, key))

    def purge_answers_containing(self, needles: list[str]) -> int:
        """Delete the kept answers whose body mentions any of ``needles`` (an erasure)."""
        deleted = 0
        for needle in needles:
            pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            deleted += self._write(
                f"DELETE FROM {self.answers_table} WHERE body LIKE ? ESCAPE '\\'", (pattern,))
        return deleted

    def purge_answers_before(self, cutoff: str) -> int:
        """Delete the answers kept since before ``cutoff`` (ISO instant, UTC)."""
        return self._write(f"DELETE FROM {self.answers_table} WHERE created_at < ?", (cutoff,))

    def close(self) -> None:
        """The datastore belongs to the application, which closes it."""


AccessStore = MemoryAccessStore | SqlAccessStore


def access_store_for(recorder: Any) -> AccessStore:
    """The access store beside an application's recorder (same database, same pool)."""
    return store_beside(recorder, SqlAccessStore, MemoryAccessStore)

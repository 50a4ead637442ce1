"""API tokens and idempotency records, kept in the event store's own database.

Tokens are stored hashed (sha256 of the secret) with their expiry; a rotated token names its
successor. Idempotency records hold the first answer to a POST so that a retry with the same key
replays it. On PostgreSQL and SQLite the tables live beside the events (same database, same
connection pool); on ``memory://`` in this process. A tokens table made before expiry existed
gains the columns in place; its rows have no expiry (``expires_at`` null: listed as such).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.sqltables import create_tables
from adapters.token_changes import TokenChanges, channel_of


@dataclass(frozen=True)
class TokenRecord:
    """A token as stored: never the secret, only its hash."""

    token_hash: str
    subject: str
    role: str
    clinic_ids: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None
    #: ISO instant (UTC) after which the token is refused; None: made before tokens expired.
    expires_at: str | None = None
    #: Subject of the token that replaced this one (``hub tokens rotate``).
    rotated_to: str | None = None


#: The tokens table's columns, in order.
TOKEN_COLUMNS = ("token_hash", "subject", "role", "clinic_ids", "created_at", "revoked_at",
                 "expires_at", "rotated_to")


@dataclass(frozen=True)
class IdempotentAnswer:
    """The first answer given to a POST carrying an ``Idempotency-Key``."""

    request_hash: str
    status: int
    body: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


class MemoryAccessStore:
    """Tokens and idempotency records in this process (``memory://`` stores)."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenRecord] = {}
        self._answers: dict[tuple[str, str], IdempotentAnswer] = {}
        self._created: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def add_token(self, record: TokenRecord) -> None:
        with self._lock:
            self._tokens[record.token_hash] = record

    def token(self, token_hash: str) -> TokenRecord | None:
        return self._tokens.get(token_hash)

    def token_of(self, subject: str) -> TokenRecord | None:
        return next((r for r in self._tokens.values() if r.subject == subject), None)

    def revoke(self, subject: str) -> bool:
        with self._lock:
            for key, record in self._tokens.items():
                if record.subject == subject and record.revoked_at is None:
                    self._tokens[key] = TokenRecord(**{**record.__dict__, "revoked_at": _now()})
                    return True
        return False

    def rotate(self, subject: str, successor: TokenRecord, old_expires_at: str) -> bool:
        """Add ``successor`` and cut the live, not yet rotated token ``subject`` short to
        ``old_expires_at``, together; False (nothing written) when it is not such a token."""
        with self._lock:
            for key, record in self._tokens.items():
                if (record.subject == subject and record.revoked_at is None
                        and record.rotated_to is None):
                    self._tokens[key] = TokenRecord(**{
                        **record.__dict__, "expires_at": old_expires_at,
                        "rotated_to": successor.subject})
                    self._tokens[successor.token_hash] = successor
                    return True
        return False

    def tokens(self) -> list[TokenRecord]:
        return sorted(self._tokens.values(), key=lambda r: r.created_at)

    def answer(self, subject: str, key: str) -> IdempotentAnswer | None:
        return self._answers.get((subject, key))

    def claim(self, subject: str, key: str, request_hash: str) -> tuple[bool, IdempotentAnswer]:
        with self._lock:
            if (subject, key) in self._answers:
                return False, self._answers[(subject, key)]
            claimed = IdempotentAnswer(request_hash, 0, "")
            self._answers[(subject, key)] = claimed
            self._created[(subject, key)] = _now()
            return True, claimed

    def complete(self, subject: str, key: str, status: int, body: str) -> None:
        with self._lock:
            claimed = self._answers[(subject, key)]
            self._answers[(subject, key)] = IdempotentAnswer(claimed.request_hash, status, body)

    def release(self, subject: str, key: str) -> None:
        with self._lock:
            self._answers.pop((subject, key), None)

    def purge_answers_containing(self, needles: list[str]) -> int:
        """Delete the kept answers whose body mentions any of ``needles`` (an erasure)."""
        with self._lock:
            gone = [k for k, a in self._answers.items() if any(n in a.body for n in needles)]
            for k in gone:
                del self._answers[k]
            self._created = {k: v for k, v in self._created.items() if k in self._answers}
        return len(gone)

    def purge_answers_before(self, cutoff: str) -> int:
        """Delete the answers kept since before ``cutoff`` (ISO instant, UTC)."""
        with self._lock:
            gone = [k for k, at in self._created.items() if at < cutoff]
            for k in gone:
                self._answers.pop(k, None)
                del self._created[k]
        return len(gone)

    def changes(self, on_change: Callable[[], None]) -> TokenChanges | None:
        """Nothing to follow: no other process shares these tokens."""
        return None

    def close(self) -> None:
        """Nothing to release."""


class SqlAccessStore:
    """Tokens and idempotency records in two tables of the event store's database."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore) -> None:
        self.datastore = datastore
        postgres = isinstance(datastore, PostgresDatastore)
        self.mark = "%s" if postgres else "?"
        prefix = f'"{datastore.schema}".' if isinstance(datastore, PostgresDatastore) else ""
        self.tokens_table = f"{prefix}hub_api_tokens"
        self.answers_table = f"{prefix}hub_api_idempotency"
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
                .replace("?", self.mark), (_now(), subject))
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
            (subject, key, request_hash, _now()),
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
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore | SQLiteDatastore):
        return SqlAccessStore(datastore)
    return MemoryAccessStore()

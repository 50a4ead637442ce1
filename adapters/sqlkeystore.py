"""``SqlKeyStore``: the patients' wrapped data keys in the event store's database
(``adapters.keystore`` says what a key store is and why)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.keystore import (
    KeyRaced,
    KeyWrapper,
    MemoryKeyStore,
    PendingKeys,
    SubjectErased,
    new_data_key,
    pending_in_this_context,
    pending_keys,
)
from adapters.pgarrays import ByteaArray, TextArray
from adapters.sqltables import create_tables, store_beside


class SqlKeyStore:
    """Wrapped data keys in table ``hub_data_keys`` of the event store's database.

    Columns: ``subject`` (uuid hex, primary key), ``wrapped_key`` (NULL once destroyed),
    ``created_at``, ``destroyed_at``; links in ``hub_data_key_links`` (``subject``, ``owner``).
    """

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore, wrapping_key: bytes) -> None:
        self.datastore = datastore
        self.wrapper = KeyWrapper(wrapping_key)
        self.postgres = isinstance(datastore, PostgresDatastore)
        schema = datastore.schema if isinstance(datastore, PostgresDatastore) else ""
        prefix = f'"{schema}".' if schema else ""
        self.table = f"{prefix}hub_data_keys"
        self.links = f"{prefix}hub_data_key_links"
        #: Subjects a deferred key raced on: read from the table from now on.
        self._not_new: set[UUID] = set()
        self._create_tables()

    def _create_tables(self) -> None:
        blob = "BYTEA" if self.postgres else "BLOB"
        statements = (
            f"CREATE TABLE IF NOT EXISTS {self.table} (subject TEXT PRIMARY KEY, "
            f"wrapped_key {blob}, created_at TEXT NOT NULL, destroyed_at TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.links} (subject TEXT PRIMARY KEY, "
            "owner TEXT NOT NULL)",
        )
        create_tables(self.datastore, statements)

    @contextmanager
    def deferred(self, new: frozenset[UUID]) -> Iterator[PendingKeys | None]:
        """The keys and links of ``new`` subjects made inside are written by the events'
        transaction (PostgreSQL, ``adapters.pgrecorder`` calls ``PendingKeys.flush``): no
        transaction of their own. The recorder must flush them; if it did not, the save is
        refused."""
        new = new - self._not_new
        if not self.postgres or not new or pending_keys() is not None:
            yield None
            return
        batch = PendingKeys(self, new)
        with pending_in_this_context(batch):
            yield batch
        if batch and not batch.flushed:
            raise RuntimeError("data keys made for a save were not written with its events "
                               "(a recorder without PendingKeys.flush)")

    def pending_statement(self) -> str:
        """The WITH clause inserting a batch's keys and links (``pending_params``), to begin
        the statement that inserts the events: it returns nothing, so it costs no round trip.
        One that exists already (a racing writer) violates its primary key: the recorder
        raises ``KeyRaced`` (``raced``) and the save is retried."""
        return (f"WITH k AS (INSERT INTO {self.table} (subject, wrapped_key, created_at) "
                "SELECT s, w, %s FROM unnest(%b::text[], %b::bytea[]) AS t(s, w)), "
                f"l AS (INSERT INTO {self.links} (subject, owner) "
                "SELECT s, o FROM unnest(%b::text[], %b::text[]) AS t(s, o)) ")

    def pending_params(self, batch: PendingKeys) -> tuple[Any, ...]:
        keys, links = list(batch.keys.items()), list(batch.links.items())
        return (_now(), TextArray(s.hex for s, _ in keys), ByteaArray(w for _, (_, w) in keys),
                TextArray(s.hex for s, _ in links), TextArray(o.hex for _, o in links))

    def write_pending(self, cursor: Any, batch: PendingKeys) -> None:
        """Insert the batch's keys and links in the caller's transaction (pipelined)."""
        cursor.execute(self.pending_statement() + "SELECT 1 WHERE false",
                       self.pending_params(batch), prepare=True)

    def raced(self, batch: PendingKeys, error: Exception) -> KeyRaced | None:
        """The ``KeyRaced`` to raise when ``error`` (of the events' transaction) is the
        violation of a key or link's primary key; its subjects are read from now on."""
        if "hub_data_key" not in str(error):
            return None
        self._not_new.update(batch.keys)
        self._not_new.update(batch.links)
        return KeyRaced(f"a data key or link was made meanwhile by another writer: {error}")

    def link(self, subject: UUID, owner: UUID) -> None:
        if subject == owner:
            return
        batch = pending_keys()
        if batch is not None and subject in batch.new:
            batch.links.setdefault(subject, owner)
            return
        with self.datastore.transaction(commit=True) as cursor:
            self._before_the_events(cursor)
            cursor.execute(
                self._sql(f"INSERT INTO {self.links} (subject, owner) VALUES (?, ?) "
                          "ON CONFLICT DO NOTHING"), (subject.hex, owner.hex))

    def _before_the_events(self, cursor: Any) -> None:
        """A key or link is written just before the events sealed with it, whose commit is
        synchronous: WAL is flushed in order, so that flush makes this row durable too, and
        its own commit need not wait for the disk (PostgreSQL; one fsync per booking saved
        for each). Should the events' transaction fail, the row is unused, never harmful."""
        if self.postgres:
            cursor.execute("SET LOCAL synchronous_commit = off")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """The rows of one read. On PostgreSQL one statement on the pool's autocommit
        connection: a BEGIN/ROLLBACK around it would make psycopg drop the connection's
        prepared statements, which the commands' statements share (the events' pool)."""
        if isinstance(self.datastore, PostgresDatastore):
            with self.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute(self._sql(sql), params)
                return list(cursor.fetchall())
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(sql), params)
            return list(cursor.fetchall())

    def _row(self, subject: UUID) -> tuple[UUID, bool, bytes | None]:
        """(whose key the subject uses, whether that key row exists, its wrapped key), in one
        query: the subject's owner through ``hub_data_key_links``, else the subject itself."""
        [row] = self._read(
            f"SELECT COALESCE(l.owner, q.s) AS owner, k.subject AS found, k.wrapped_key "
            f"FROM (SELECT CAST(? AS TEXT) AS s) q "
            f"LEFT JOIN {self.links} l ON l.subject = q.s "
            f"LEFT JOIN {self.table} k ON k.subject = COALESCE(l.owner, q.s)", (subject.hex,))
        owner, found, wrapped = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        return UUID(owner), found is not None, bytes(wrapped) if wrapped is not None else None

    def keys(self, subjects: list[UUID], chunk: int = 500) -> dict[UUID, bytes | None]:
        """The data keys of many subjects (None: erased or never made), one query per ``chunk``."""
        found: dict[UUID, bytes | None] = {}
        for start in range(0, len(subjects), chunk):
            part = subjects[start:start + chunk]
            values = ", ".join("(?)" for _ in part)
            rows = self._read(
                f"WITH q(s) AS (VALUES {values}) "
                f"SELECT q.s AS subject, COALESCE(l.owner, q.s) AS owner, k.wrapped_key "
                f"FROM q LEFT JOIN {self.links} l ON l.subject = q.s "
                f"LEFT JOIN {self.table} k ON k.subject = COALESCE(l.owner, q.s)",
                tuple(s.hex for s in part))
            for row in rows:
                subject, owner, wrapped = tuple(row.values()) if isinstance(row, dict) else tuple(row)
                found[UUID(subject)] = (self.wrapper.unwrap(UUID(owner), bytes(wrapped))
                                        if wrapped is not None else None)
        return found

    def key(self, subject: UUID) -> bytes | None:
        owner, _, wrapped = self._row(subject)
        return self.wrapper.unwrap(owner, wrapped) if wrapped is not None else None

    def key_or_create(self, subject: UUID) -> bytes:
        batch = pending_keys()
        if batch is not None:
            owner = batch.links.get(subject, subject)
            if owner in batch.keys:
                return batch.keys[owner][0]
            if owner != subject:
                return self.key_or_create(owner)
            if subject in batch.new:
                fresh = new_data_key()
                batch.keys[subject] = (fresh, self.wrapper.wrap(subject, fresh))
                return fresh
        owner, exists, wrapped = self._row(subject)
        if not exists:
            fresh = new_data_key()
            with self.datastore.transaction(commit=True) as cursor:
                self._before_the_events(cursor)
                cursor.execute(
                    self._sql(f"INSERT INTO {self.table} (subject, wrapped_key, created_at) "
                              "VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING subject"),
                    (owner.hex, self.wrapper.wrap(owner, fresh), _now()),
                )
                written = cursor.fetchone() is not None
            if written:  # ours is the key (no second read)
                return fresh
            owner, exists, wrapped = self._row(subject)  # a racing writer's key won
        if wrapped is None:
            raise SubjectErased(f"the personal data of {owner} was erased", id=str(owner))
        return self.wrapper.unwrap(owner, wrapped)

    def destroy(self, subject: UUID) -> bool:
        with self.datastore.transaction(commit=True) as cursor:
            if not self.postgres:
                cursor.execute("PRAGMA secure_delete = ON")  # zero the freed key bytes
            cursor.execute(
                self._sql(f"UPDATE {self.table} SET wrapped_key = NULL, destroyed_at = ? "
                          "WHERE subject = ? AND destroyed_at IS NULL"),
                (_now(), subject.hex),
            )
            if _rowcount(cursor):
                return True
            cursor.execute(
                self._sql(f"INSERT INTO {self.table} (subject, wrapped_key, created_at, "
                          "destroyed_at) VALUES (?, NULL, ?, ?) ON CONFLICT DO NOTHING"),
                (subject.hex, _now(), _now()),
            )
            return bool(_rowcount(cursor))

    def erased(self, subject: UUID) -> bool:
        _, exists, wrapped = self._row(subject)
        return exists and wrapped is None


def _rowcount(cursor: Any) -> int:
    raw = getattr(cursor, "sqlite_cursor", cursor)  # the library wraps sqlite3's cursor
    return int(raw.rowcount or 0)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def key_store_for(recorder: Any, wrapping_key: bytes) -> MemoryKeyStore | SqlKeyStore:
    """The key store beside an application's recorder (same database, same pool)."""
    return store_beside(recorder, lambda datastore: SqlKeyStore(datastore, wrapping_key),
                        MemoryKeyStore)

"""Per-patient data keys for crypto-shredding (Loi 25, SPEC T2).

Each data subject (a patient) has its own random 256-bit AES key. Keys are stored *wrapped*
(AES-GCM under a key-wrapping key that never enters the database) in their own table beside
the events, so a copy of the database alone opens nothing. Destroying a subject's key is the
erasure: the row keeps the subject id and the time of erasure, the key bytes are gone (SQLite
rewrites freed pages with zeros, ``secure_delete``), and no new key is ever made for that
subject, so nothing new can be written about them by mistake.

Stores: ``MemoryKeyStore`` (``memory://`` and unit tests) and ``SqlKeyStore`` (SQLite or
PostgreSQL through the eventsourcing datastore, same pool as the events). A KMS would be a
third implementation of ``KeyStore``.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import RecordConflictError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.pgarrays import ByteaArray, TextArray
from adapters.sqltables import create_tables
from aggregates.errors import Conflict

KEY_BYTES = 32
_NONCE_BYTES = 12


class SubjectErased(Conflict):
    """The person's data was erased: nothing more can be recorded about them."""

    code = "patient_erased"


class KeyStoreCorrupt(RuntimeError):
    """A wrapped key does not open with the configured key-wrapping key (wrong ``HUB_*`` key?)."""


class KeyRaced(RecordConflictError):
    """Another writer made the data key of a subject this transaction thought new: its events
    were sealed with a key that will not be kept, so it is rolled back and run again."""


@dataclass
class PendingKeys:
    """Data keys and links made while a save maps its events, written by the events' own
    transaction (``flush``) instead of transactions of their own before it."""

    store: SqlKeyStore
    #: Subjects whose aggregate the save creates: they have no key or link yet.
    new: frozenset[UUID]
    #: subject -> (its new key, the key wrapped for the table)
    keys: dict[UUID, tuple[bytes, bytes]] = field(default_factory=dict)
    #: new subject -> the owner whose key it uses
    links: dict[UUID, UUID] = field(default_factory=dict)
    flushed: bool = False

    def __bool__(self) -> bool:
        return bool(self.keys or self.links)

    def pending(self, subject: UUID) -> bool:
        """Whether the subject's key or link is among those not written yet."""
        return subject in self.links or subject in self.keys

    def flush(self, cursor: Any) -> None:
        """Write the keys and links inside the events' transaction (PostgreSQL)."""
        if not self.flushed and self:
            self.store.write_pending(cursor, self)
        self.flushed = True


#: The save in progress's pending keys (``SqlKeyStore.deferred``); None: write at once.
_pending: ContextVar[PendingKeys | None] = ContextVar("pending_data_keys", default=None)


def pending_keys() -> PendingKeys | None:
    """The pending keys of the save in progress in this context, if it defers them."""
    return _pending.get()


class KeyStore(Protocol):
    """Where data keys live; ``destroy`` is the erasure.

    A subject may be *linked* to an owner (an appointment to its patient): it then uses the
    owner's key, so destroying the owner's key erases what was sealed for the linked subjects.
    """

    def key(self, subject: UUID) -> bytes | None:
        """The subject's (or its owner's) data key; None when there is none (never made, or
        destroyed)."""

    def keys(self, subjects: list[UUID]) -> dict[UUID, bytes | None]:
        """``key`` of many subjects, read together."""

    def key_or_create(self, subject: UUID) -> bytes:
        """The subject's (or its owner's) data key, made on first use; ``SubjectErased`` after
        ``destroy``."""

    def link(self, subject: UUID, owner: UUID) -> None:
        """From now on ``subject`` uses ``owner``'s key (the first link stays)."""

    def deferred(self, new: frozenset[UUID]) -> Any:
        """A context in which the keys and links of ``new`` subjects (whose aggregates the
        save creates) are written by the events' transaction, when the store can
        (``PendingKeys``); yields them, or None."""

    def destroy(self, subject: UUID) -> bool:
        """Forget the subject's key for good; True when a key or a new tombstone was written."""

    def erased(self, subject: UUID) -> bool:
        """Whether the subject's key was destroyed."""


class KeyWrapper:
    """Wraps data keys with AES-GCM under the key-wrapping key, bound to the subject id."""

    def __init__(self, wrapping_key: bytes) -> None:
        if len(wrapping_key) != KEY_BYTES:
            raise ValueError("the key-wrapping key must be 32 bytes")
        self._aead = AESGCM(wrapping_key)

    def wrap(self, subject: UUID, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, subject.bytes)

    def unwrap(self, subject: UUID, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], subject.bytes)
        except InvalidTag:
            raise KeyStoreCorrupt(
                f"the data key of {subject} does not open with the configured key-wrapping key"
            ) from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


class MemoryKeyStore:
    """Data keys in this process (``memory://`` stores, tests)."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes | None] = {}
        self._owners: dict[UUID, UUID] = {}
        self._lock = threading.Lock()

    def key(self, subject: UUID) -> bytes | None:
        return self._keys.get(self._owners.get(subject, subject))

    def keys(self, subjects: list[UUID]) -> dict[UUID, bytes | None]:
        return {s: self.key(s) for s in subjects}

    def link(self, subject: UUID, owner: UUID) -> None:
        if subject != owner:
            with self._lock:
                self._owners.setdefault(subject, owner)

    @contextmanager
    def deferred(self, new: frozenset[UUID]) -> Iterator[None]:
        yield None  # in process: nothing to save a round trip on

    def key_or_create(self, subject: UUID) -> bytes:
        subject = self._owners.get(subject, subject)
        with self._lock:
            if subject not in self._keys:
                self._keys[subject] = new_data_key()
            key = self._keys[subject]
        if key is None:
            raise SubjectErased(f"the personal data of {subject} was erased", id=str(subject))
        return key

    def destroy(self, subject: UUID) -> bool:
        with self._lock:
            if subject in self._keys and self._keys[subject] is None:
                return False
            self._keys[subject] = None
            return True

    def erased(self, subject: UUID) -> bool:
        subject = self._owners.get(subject, subject)
        return subject in self._keys and self._keys[subject] is None


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
        if not self.postgres or not new or _pending.get() is not None:
            yield None
            return
        batch = PendingKeys(self, new)
        token = _pending.set(batch)
        try:
            yield batch
        finally:
            _pending.reset(token)
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
        batch = _pending.get()
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
        batch = _pending.get()
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


def derive_key(root: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the root key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"hub {purpose}".encode()).derive(root)


def read_or_create_key_file(path: str) -> bytes:
    """The root key kept in ``path`` (base64 of 32 bytes), made there (mode 0600) when absent;
    processes starting together agree on one key (written aside, then linked into place)."""
    file = Path(path).expanduser()
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        aside = file.with_name(f".{file.name}.{os.getpid()}.{os.urandom(4).hex()}")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
        try:
            os.link(aside, file)  # fails if another process made the key first: theirs is kept
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return decode_root_key(file.read_text().strip(), str(file))


def decode_root_key(text: str, where: str) -> bytes:
    """A root key from its base64 text; a short, guessable or malformed one is refused."""
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES or len(set(key)) < 8:
        raise ValueError(f"{where} must hold 32 random bytes in base64 "
                         "(e.g. `python -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"`)")
    return key


def key_store_for(recorder: Any, wrapping_key: bytes) -> MemoryKeyStore | SqlKeyStore:
    """The key store beside an application's recorder (same database, same pool)."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore | SQLiteDatastore):
        return SqlKeyStore(datastore, wrapping_key)
    return MemoryKeyStore()

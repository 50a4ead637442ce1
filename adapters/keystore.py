"""Per-patient data keys for crypto-shredding (Loi 25, SPEC T2).

Each data subject (a patient) has its own random 256-bit AES key. Keys are stored *wrapped*
(AES-GCM under a key-wrapping key that never enters the database) in their own table beside
the events, so a copy of the database alone opens nothing. Destroying a subject's key is the
erasure: the row keeps the subject id and the time of erasure, the key bytes are gone (SQLite
rewrites freed pages with zeros, ``secure_delete``), and no new key is ever made for that
subject, so nothing new can be written about them by mistake.

Stores: ``MemoryKeyStore`` (``memory://`` and unit tests) and ``adapters.sqlkeystore``'s
``SqlKeyStore`` (SQLite or PostgreSQL through the eventsourcing datastore, same pool as the
events). A KMS would be a third implementation of ``KeyStore``.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import RecordConflictError

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


class DefersKeys(Protocol):
    """A store that writes pending keys with the events (``adapters.sqlkeystore.SqlKeyStore``)."""

    def pending_statement(self) -> str: ...

    def pending_params(self, batch: PendingKeys) -> tuple[Any, ...]: ...

    def write_pending(self, cursor: Any, batch: PendingKeys) -> None: ...

    def raced(self, batch: PendingKeys, error: Exception) -> KeyRaced | None: ...


@dataclass
class PendingKeys:
    """Data keys and links made while a save maps its events, written by the events' own
    transaction (``flush``) instead of transactions of their own before it."""

    store: DefersKeys
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


@contextmanager
def pending_in_this_context(batch: PendingKeys) -> Iterator[None]:
    """Keys and links made inside go to ``batch`` (``SqlKeyStore.deferred``)."""
    token = _pending.set(batch)
    try:
        yield
    finally:
        _pending.reset(token)


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

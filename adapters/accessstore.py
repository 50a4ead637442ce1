"""API tokens and idempotency records, kept in the event store's own database.

Tokens are stored hashed (sha256 of the secret) with their expiry; a rotated token names its
successor. Idempotency records hold the first answer to a POST so that a retry with the same key
replays it. On PostgreSQL and SQLite the tables live beside the events (same database, same
connection pool: ``adapters.sqlaccessstore``); on ``memory://`` in this process (here). A tokens table made before expiry existed
gains the columns in place; its rows have no expiry (``expires_at`` null: listed as such).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.token_changes import TokenChanges


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


def now_iso() -> str:
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
                    self._tokens[key] = TokenRecord(**{**record.__dict__, "revoked_at": now_iso()})
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
            self._created[(subject, key)] = now_iso()
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

"""API tokens looked up once per change instead of once per request.

A server answering many requests of the same callers read each bearer token from the database
every time. ``RememberedTokens`` keeps the principal of a live token, under the secret's hash,
while the server hears every token change (``listening``: on PostgreSQL each revocation and
rotation is announced to every process when it commits, ``adapters.token_changes``), and then
``forget()`` makes the next request of every token look again. Even so, nothing is kept longer
than ``seconds`` nor past the token's own expiry. Where changes are not heard (SQLite, memory
store, the listener's connection lost) nothing is remembered: every request looks its token up.
Refused tokens are never remembered (a token created a moment ago works at once), and session
tokens are not handled here (a session follows its user's roles and state).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.sqlaccessstore import AccessStore
from hub.access.tokens import Principal, hash_secret, principal_of_token


class RememberedTokens:
    """Principals of live API tokens, remembered while ``listening()`` (at most ``seconds``)."""

    def __init__(self, store: AccessStore, seconds: float, listening: Callable[[], bool],
                 max_tokens: int = 10_000, monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.seconds = seconds
        self.listening = listening
        self.max_tokens = max_tokens
        self._monotonic = monotonic
        self._now = now
        self._remembered: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def remembered(self, secret: str) -> Principal | None:
        """The principal if this live token is remembered (no I/O), else None."""
        if not self._usable(secret) or not self.listening():
            return None
        key = hash_secret(secret)
        with self._lock:
            found = self._remembered.get(key)
            if found is None:
                return None
            until, principal = found
            if self._monotonic() >= until:
                del self._remembered[key]
                return None
            return principal

    def authenticate(self, secret: str) -> Principal | None:
        """The principal of a live token: remembered, else read from the store (and then
        remembered); None for an unknown, revoked or expired one."""
        principal = self.remembered(secret)
        if principal is not None or not self._usable(secret):
            return principal
        with self._lock:
            generation = self._generation
        key = hash_secret(secret)
        record = self.store.token(key)
        if record is None or record.revoked_at is not None:
            return None
        left = self.seconds
        if record.expires_at is not None:
            left = min(left, (datetime.fromisoformat(record.expires_at) - self._now()).total_seconds())
            if left <= 0:
                return None
        principal = principal_of_token(record)
        if self.seconds > 0 and self.listening():
            with self._lock:
                # a change heard while we read may concern this very token: keep nothing then
                if generation == self._generation:
                    self._remembered[key] = (self._monotonic() + left, principal)
                    self._remembered.move_to_end(key)
                    while len(self._remembered) > self.max_tokens:
                        self._remembered.popitem(last=False)
        return principal

    def forget(self) -> None:
        """A token changed somewhere: look every token up again."""
        with self._lock:
            self._generation += 1
            self._remembered.clear()

    @staticmethod
    def _usable(secret: str) -> bool:
        return bool(secret) and len(secret) <= 200

"""Password hashing with Argon2id (``argon2-cffi``, the OWASP-recommended algorithm).

The hash string carries its own salt and parameters, so stronger parameters later still
verify older hashes (and ``needs_rehash`` says when to upgrade one).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    """Hash and verify passwords; the defaults are argon2-cffi's (RFC 9106 low-memory)."""

    def __init__(self, time_cost: int | None = None, memory_cost_kib: int | None = None) -> None:
        defaults = PasswordHasher()
        self._hasher = PasswordHasher(
            time_cost=defaults.time_cost if time_cost is None else time_cost,
            memory_cost=defaults.memory_cost if memory_cost_kib is None else memory_cost_kib)
        self._decoy: str | None = None

    @property
    def decoy(self) -> str:
        """Verified against when the e-mail is unknown, so that answer takes as long."""
        if self._decoy is None:
            self._decoy = self._hasher.hash("decoy password, never anyone's")
        return self._decoy

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; a missing hash costs as much as a wrong password."""
        try:
            return self._hasher.verify(password_hash or self.decoy, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

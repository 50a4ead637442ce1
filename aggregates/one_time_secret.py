"""One-time secrets: the enrolment code an administrator hands over, the password-reset link.

Only a digest of the secret is ever stored (in the events, hence in Kafka and ``/v1/events``),
so the secrets themselves carry enough entropy (≥ 80 bits) for a plain sha256 to be safe.
A secret works once, until it expires, and is locked after ``MAX_TRIES`` wrong tries; issuing a
new one cancels the previous one (seed 003, "Générer un nouveau code secret").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime

from aggregates.errors import Conflict, DomainError, InvalidValue

#: Wrong tries after which a secret stops working, even the right one.
MAX_TRIES = 5


class SecretWrong(InvalidValue):
    """The presented secret is not the live one (wrong, mistyped, or an older one)."""

    code = "secret_code_invalid"

    def __init__(self, message: str, code: str, **details: object) -> None:
        super().__init__(message, **details)
        self.code = code


class SecretSpent(Conflict):
    """No secret can be accepted any more: used, expired, locked or never issued."""

    code = "secret_code_used"

    def __init__(self, message: str, code: str, **details: object) -> None:
        super().__init__(message, **details)
        self.code = code


def normalise(secret: str) -> str:
    """What is compared: case, spaces and dashes do not matter (codes are read aloud)."""
    return "".join(ch for ch in secret.upper() if ch not in " -\t")


def digest(secret: str) -> str:
    return hashlib.sha256(normalise(secret).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OneTimeSecret:
    """State of the live secret of one purpose (``secret_code`` or ``reset_link``)."""

    purpose: str
    digest: str
    expires_at: datetime
    failures: int = 0
    used: bool = False
    cancelled: bool = False

    @property
    def locked(self) -> bool:
        return self.failures >= MAX_TRIES

    def spent_reason(self, now: datetime) -> str | None:
        """Why no presented secret can be accepted now, or None while it is live."""
        if self.used:
            return "used"
        if self.cancelled:
            return "cancelled"
        if self.locked:
            return "locked"
        if now >= self.expires_at:
            return "expired"
        return None

    def matches(self, presented: str) -> bool:
        return hmac.compare_digest(self.digest, digest(presented))

    def failed(self) -> OneTimeSecret:
        return replace(self, failures=self.failures + 1)

    def spent(self) -> OneTimeSecret:
        return replace(self, used=True)

    def cancel(self) -> OneTimeSecret:
        return replace(self, cancelled=True)


_WHAT = {"secret_code": "secret code", "reset_link": "password reset link"}
_NEXT = {
    "secret_code": "ask your administrator for a new secret code",
    "reset_link": "ask for a new password reset",
}


def live(purpose: str, secret: OneTimeSecret | None, now: datetime) -> OneTimeSecret:
    """The live secret of this purpose, or ``SecretSpent`` saying why there is none."""
    what, next_step = _WHAT[purpose], _NEXT[purpose]
    reason = "missing" if secret is None else secret.spent_reason(now)
    if secret is not None and reason is None:
        return secret
    texts = {
        "missing": f"no {what} was issued",
        "used": f"this {what} was already used",
        "cancelled": f"this {what} was cancelled",
        "locked": f"this {what} is locked after {MAX_TRIES} wrong tries",
        "expired": f"this {what} has expired",
    }
    raise SecretSpent(f"{texts[str(reason)]}: {next_step}", code=f"{purpose}_{reason}")


def wrong(purpose: str, secret: OneTimeSecret) -> DomainError:
    """The error for a wrong try, once ``secret`` counts it."""
    left = max(0, MAX_TRIES - secret.failures)
    what = _WHAT[purpose]
    if left == 0:
        return SecretSpent(f"wrong {what}; it is now locked after {MAX_TRIES} wrong tries: "
                           f"{_NEXT[purpose]}", code=f"{purpose}_locked")
    return SecretWrong(f"wrong {what} ({left} tries left)", code=f"{purpose}_invalid",
                       tries_left=left)

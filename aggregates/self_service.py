"""Citizen self-service identification (V3, seed 000 §5 step 2): a one-time code.

A ``CodeVerification`` is one request: the citizen was found by NAM or coupon + phone and a
code went to their e-mail or cell. Only a salted hash of the code is kept; the code expires
after a few minutes; the 5th wrong try locks the request for good (a new lookup is needed).
A right code yields a token (only its hash is kept) that allows one rebooking.

``RequestQuota`` caps how many codes one NAM, or one address, may ask for in a window.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.pseudonyms import identifier_digest

CODE_LENGTH = 6
DEFAULT_CODE_TTL_MINUTES = 10
MAX_WRONG_TRIES = 5
TOKEN_TTL_MINUTES = 30
HASH_ITERATIONS = 20_000


def digest(secret: str, salt: bytes, iterations: int, key: bytes = b"") -> str:
    """PBKDF2-SHA256 of a code or token: what the store keeps instead of the secret. With the
    server's ``key`` (never stored) it is also an HMAC, so the store and Kafka hold nothing a
    6-digit code could be guessed from offline."""
    raw = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return hmac.new(key, raw, "sha256").hexdigest() if key else raw.hex()


class Outcome(StrEnum):
    """What one try of a code came to."""

    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"
    EXPIRED = "expired"
    USED = "used"


class CodeRefused(Conflict):
    """The code cannot be accepted (details say why and how many tries are left)."""

    code = "code_refused"


class WrongCode(CodeRefused):
    code = "wrong_code"


class CodeLocked(CodeRefused):
    code = "code_locked"


class CodeExpired(CodeRefused):
    code = "code_expired"


class TokenRefused(Conflict):
    """The self-service token is unknown, expired or already used."""

    code = "self_service_token_invalid"


class CodeVerification(Aggregate):
    """One self-service request: whom it is for, where the code went, and its tries."""

    @classmethod
    def request(
        cls,
        patient_id: UUID,
        first_dose_id: UUID | None,
        second_dose_id: UUID | None,
        channel: str,
        code: str,
        salt: bytes,
        now: datetime,
        ttl_minutes: int = DEFAULT_CODE_TTL_MINUTES,
        iterations: int = HASH_ITERATIONS,
        key: bytes = b"",
    ) -> CodeVerification:
        if channel not in ("email", "sms"):
            raise InvalidValue("a code goes by e-mail or SMS", field="channel")
        if not code or len(salt) < 8 or ttl_minutes < 1 or iterations < 1:
            raise InvalidValue("a code needs a value, a salt of 8+ bytes and a lifetime")
        return cls(
            patient_id=patient_id,
            first_dose_id=first_dose_id,
            second_dose_id=second_dose_id,
            channel=channel,
            salt=salt.hex(),
            iterations=iterations,
            code_hash=digest(code, salt, iterations, key),
            expires_at=now + timedelta(minutes=ttl_minutes),
        )

    @event("CodeRequested")
    def __init__(
        self,
        patient_id: UUID,
        first_dose_id: UUID | None,
        second_dose_id: UUID | None,
        channel: str,
        salt: str,
        iterations: int,
        code_hash: str,
        expires_at: datetime,
    ) -> None:
        self.patient_id = patient_id
        self.first_dose_id = first_dose_id
        self.second_dose_id = second_dose_id
        self.channel = channel
        self.salt = salt
        self.iterations = iterations
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.wrong_tries = 0
        self.locked = False
        self.token_hash: str | None = None
        self.token_expires_at: datetime | None = None
        self.used_by: UUID | None = None

    @property
    def verified(self) -> bool:
        return self.token_hash is not None

    @property
    def tries_left(self) -> int:
        return max(0, MAX_WRONG_TRIES - self.wrong_tries)

    def _matches(self, secret: str, expected: str | None, key: bytes) -> bool:
        if expected is None:
            return False
        found = digest(secret, bytes.fromhex(self.salt), self.iterations, key)
        return hmac.compare_digest(found, expected)

    def try_code(self, code: str, now: datetime, token: str, key: bytes = b"") -> Outcome:
        """Try a code; a right one keeps ``token``'s hash for the rebooking. ``key``: the
        server's, as when the code was requested.

        Wrong tries are recorded (so the caller saves, then refuses): the 5th locks.
        """
        if self.used_by is not None:
            return Outcome.USED
        if self.locked:
            return Outcome.LOCKED
        if self.verified:
            return Outcome.USED
        if now >= self.expires_at:
            return Outcome.EXPIRED
        if self._matches(code.strip(), self.code_hash, key):
            self._code_accepted(
                token_hash=digest(token, bytes.fromhex(self.salt), self.iterations, key),
                token_expires_at=now + timedelta(minutes=TOKEN_TTL_MINUTES),
                at=now,
            )
            return Outcome.VERIFIED
        self._code_rejected(at=now, locks=self.wrong_tries + 1 >= MAX_WRONG_TRIES)
        return Outcome.LOCKED if self.locked else Outcome.WRONG

    def refusal(self, outcome: Outcome) -> CodeRefused | None:
        """The error to answer a try with (None when verified)."""
        if outcome is Outcome.VERIFIED:
            return None
        if outcome is Outcome.WRONG:
            return WrongCode("this code is not the one we sent", tries_left=self.tries_left)
        if outcome is Outcome.LOCKED:
            return CodeLocked(
                f"{MAX_WRONG_TRIES} wrong codes: this request is locked; start again",
                tries_left=0,
            )
        if outcome is Outcome.EXPIRED:
            return CodeExpired("this code has expired; ask for a new one")
        return CodeRefused("this request was already used; start again")

    def authorize(self, token: str, now: datetime, key: bytes = b"") -> None:
        """Allow a rebooking with ``token``, or raise ``TokenRefused``."""
        if self.locked or not self.verified or self.used_by is not None:
            raise TokenRefused("this self-service session is not open; identify yourself again")
        if self.token_expires_at is None or now >= self.token_expires_at:
            raise TokenRefused("this self-service session has expired; identify yourself again")
        if not self._matches(token, self.token_hash, key):
            raise TokenRefused("this self-service token is not valid")

    def complete(self, appointment_id: UUID, token: str, now: datetime, key: bytes = b"") -> None:
        """The rebooking was made: the token is spent (saved with the new appointment)."""
        self.authorize(token, now, key)
        self._completed(appointment_id=appointment_id, at=now)

    @event("CodeAccepted")
    def _code_accepted(self, token_hash: str, token_expires_at: datetime, at: datetime) -> None:
        self.token_hash = token_hash
        self.token_expires_at = token_expires_at

    @event("CodeRejected")
    def _code_rejected(self, at: datetime, locks: bool) -> None:
        self.wrong_tries += 1
        if locks:
            self.locked = True

    @event("Completed")
    def _completed(self, appointment_id: UUID, at: datetime) -> None:
        self.used_by = appointment_id


# -- quotas ------------------------------------------------------------------------------
class TooManyRequests(Conflict):
    code = "too_many_requests"


def key_digest(secret: bytes, kind: str, value: str) -> str:
    """A NAM or an address, keyed-hashed (``HMAC(secret, ...)``, like the NAM index): the
    quota's events and id never hold the value, nor a digest that trying every NAM or phone
    number would reverse."""
    return identifier_digest(secret, f"hub:self-service-quota:{kind}", value.strip().lower())


def quota_id(secret: bytes, kind: str, value: str) -> UUID:
    return RequestQuota.create_id(kind, key_digest(secret, kind, value))


class RequestQuota(Aggregate):
    """How many codes one NAM (``kind="nam"``) or one address (``"address"``) asked for.

    Quotas opened before their ids were keyed (an unkeyed sha256) are no longer looked up:
    their counts only mattered within the hour after their last request."""

    KEEP = 32

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> UUID:
        """``key`` is already a ``key_digest``: see ``open``."""
        return uuid5(NAMESPACE_URL, f"hub:self-service-quota:{kind}:{key}")

    @classmethod
    def open(cls, secret: bytes, kind: str, value: str) -> RequestQuota:
        return cls(kind=kind, key=key_digest(secret, kind, value))

    @event("QuotaOpened")
    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        self.recent: list[datetime] = []

    def take(self, now: datetime, limit: int, window: timedelta) -> None:
        """Count one request, or raise ``TooManyRequests`` when ``limit`` are in ``window``."""
        inside = sorted(t for t in self.recent if t > now - window)
        if len(inside) >= limit:
            retry = inside[len(inside) - limit] + window - now
            raise TooManyRequests(
                "too many confirmation codes were asked for; try again later",
                retry_after_seconds=max(1, int(retry.total_seconds()) + 1),
            )
        self._counted(at=now)

    @event("RequestCounted")
    def _counted(self, at: datetime) -> None:
        self.recent = [*self.recent, at][-self.KEEP :]

"""API tokens: who may call the hub, with which role, for which clinics, until when.

A token is a random secret shown once at creation; only its sha256 is stored. Its subject
(``tok_...``) names it in events' metadata, logs and revocation. Every token expires (90 days
unless asked otherwise, ``HUB_TOKEN_TTL_DAYS``); an expired one is refused (401
``token_expired``). Rotation issues a successor (new subject, new secret, same role and
clinics) and keeps the old secret working for a short grace period only, so a client can
switch without a gap. Tokens made before expiry existed have none: they still work and
``hub tokens list`` flags them for rotation. Users who sign in
(``hub.access.sessions``) get principals too: ``agenda`` users act as clinic staff of their
clinics; 811 and reorientation users book into other clinics' reserved slots (R1–R2).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from adapters.accessstore import TokenRecord
from adapters.sqlaccessstore import AccessStore
from aggregates.errors import Conflict, InvalidValue, NotFound
from aggregates.reorientation import Reservation
from aggregates.user import User, UserRole
from hub.actor import Actor


class Role(StrEnum):
    EMR = "emr"
    PORTAL = "portal"
    CLINIC_STAFF = "clinic_staff"
    OPS = "ops"
    ADMIN = "admin"
    #: A signed-in user without ``agenda``: acts for no clinic, books only through its
    #: 811/reorientation channels (never an API token's role).
    REFERRER = "referrer"

    @property
    def clinic_scoped(self) -> bool:
        """EMR, portal and clinic staff act only for the clinics their token names (a
        referrer for none)."""
        return self in (Role.EMR, Role.PORTAL, Role.CLINIC_STAFF, Role.REFERRER)


#: Roles an API token may have (``hub tokens create --role``).
TOKEN_ROLES = (Role.EMR, Role.PORTAL, Role.CLINIC_STAFF, Role.OPS, Role.ADMIN)


#: The source recorded on bookings made with each role (when the request names none).
ROLE_SOURCE = {Role.EMR: "emr", Role.PORTAL: "portal", Role.CLINIC_STAFF: "admin",
               Role.ADMIN: "admin", Role.OPS: "admin", Role.REFERRER: "admin"}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: token subject, role and the clinics it acts for; for a
    signed-in user also its session, user roles and the reserved slots it books into."""

    subject: str
    role: Role
    clinic_ids: frozenset[UUID] = field(default_factory=frozenset)
    user_id: UUID | None = None
    session_id: str | None = None
    user_roles: tuple[str, ...] = ()
    #: ``811`` and/or ``reorientation``: another clinic's slots kept for them are bookable.
    channels: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> Actor:
        return Actor(subject=self.subject, role=self.role.value, channel="http")

    @property
    def all_clinics(self) -> bool:
        return not self.role.clinic_scoped

    def acts_for(self, clinic_id: UUID | None) -> bool:
        return self.all_clinics or (clinic_id is not None and clinic_id in self.clinic_ids)


def principal_of_user(user: User, session_id: str) -> Principal:
    """What a signed-in user may do, from its current roles and clinics (R1)."""
    roles = set(user.roles)
    channels = set()
    if UserRole.INFO_SANTE_811 in roles:
        channels.add(Reservation.INFO_SANTE_811.value)
    if roles & {UserRole.REORIENTATION_HOSPITAL, UserRole.REORIENTATION_CLINIC}:
        channels.add(Reservation.REORIENTATION.value)
    agenda = UserRole.AGENDA in roles
    return Principal(
        subject=f"usr_{user.id}", role=Role.CLINIC_STAFF if agenda else Role.REFERRER,
        clinic_ids=frozenset(user.clinic_ids) if agenda else frozenset(), user_id=user.id,
        session_id=session_id, user_roles=tuple(user.roles), channels=frozenset(channels))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


#: Lifetime of a new token unless asked otherwise, and the longest one may ask for.
DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=730)
#: How long a rotated token's old secret keeps working, unless asked otherwise.
DEFAULT_GRACE = timedelta(hours=1)
MAX_GRACE = timedelta(days=7)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str = "--expires-in", allow_zero: bool = False) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` (a bare number is days)."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "d"
    number = value[:-1] if value[-1:] in _UNITS else value
    if not number.isdigit() or len(number) > 9 or (int(number) == 0 and not allow_zero):
        raise InvalidValue(f"{what} {text!r} is not a duration: give e.g. 90d, 12h or 30m",
                           field=what.lstrip("-"))
    return timedelta(seconds=int(number) * _UNITS[unit])


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def _ttl(expires_in: timedelta | None, default: timedelta) -> timedelta:
    ttl = default if expires_in is None else expires_in
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise InvalidValue(f"a token expires 1 minute to {MAX_TTL.days} days after it is made "
                           f"(--expires-in); got {_human(ttl)}", field="expires_in")
    return ttl


def _new_record(role: Role, clinics: list[UUID] | tuple[str, ...], now: datetime,
                ttl: timedelta) -> tuple[TokenRecord, str]:
    secret = "hub_" + secrets.token_urlsafe(32)
    record = TokenRecord(
        token_hash=hash_secret(secret), subject="tok_" + secrets.token_hex(8), role=role.value,
        clinic_ids=tuple(str(c) for c in clinics), created_at=now.isoformat(),
        expires_at=(now + ttl).isoformat())
    return record, secret


def principal_of_token(record: TokenRecord) -> Principal:
    return Principal(record.subject, Role(record.role),
                     frozenset(UUID(c) for c in record.clinic_ids))


def issue(store: AccessStore, role: str, clinic_ids: list[UUID] | None = None,
          expires_in: timedelta | None = None, now: datetime | None = None,
          default_ttl: timedelta = DEFAULT_TTL) -> tuple[Principal, str]:
    """Create a token living ``expires_in`` (default ``default_ttl``); return its principal
    and the secret (shown once, never stored)."""
    try:
        checked = Role(role)
        if checked not in TOKEN_ROLES:
            raise ValueError(role)
    except ValueError:
        allowed = ", ".join(r.value for r in TOKEN_ROLES)
        raise InvalidValue(f"role must be one of {allowed}; got {role!r}", field="role") from None
    clinics = list(dict.fromkeys(clinic_ids or []))
    if checked.clinic_scoped and not clinics:
        raise InvalidValue(f"a {checked.value} token needs at least one --clinic ID", field="clinic")
    if not checked.clinic_scoped and clinics:
        raise InvalidValue(f"a {checked.value} token acts for every clinic: drop --clinic",
                           field="clinic")
    record, secret = _new_record(checked, clinics, now or datetime.now(UTC),
                                 _ttl(expires_in, default_ttl))
    store.add_token(record)
    return principal_of_token(record), secret


def _expired(record: TokenRecord, now: datetime) -> bool:
    return record.expires_at is not None and datetime.fromisoformat(record.expires_at) <= now


def authenticate(store: AccessStore, secret: str, now: datetime | None = None) -> Principal | None:
    """The principal of a live token, or None (unknown, revoked, expired or malformed)."""
    if not secret or len(secret) > 200:
        return None
    record = store.token(hash_secret(secret))
    if record is None or record.revoked_at is not None or _expired(record, now or datetime.now(UTC)):
        return None
    return principal_of_token(record)


def expired_at(store: AccessStore, secret: str, now: datetime | None = None) -> str | None:
    """When a known, unrevoked token expired (None: it did not, or is unknown or revoked):
    why a refused caller was refused, so it can ask for a new token."""
    if not secret or len(secret) > 200:
        return None
    record = store.token(hash_secret(secret))
    if record is None or record.revoked_at is not None or not _expired(record, now or datetime.now(UTC)):
        return None
    return record.expires_at


def _record_named(store: AccessStore, subject_or_secret: str) -> TokenRecord:
    if subject_or_secret.startswith("tok_"):
        record = store.token_of(subject_or_secret)
    else:
        record = store.token(hash_secret(subject_or_secret))
    if record is None:
        raise NotFound("no such token (give its subject tok_... or the token itself)")
    return record


def rotate(store: AccessStore, subject_or_secret: str, grace: timedelta | None = None,
           expires_in: timedelta | None = None, now: datetime | None = None,
           default_ttl: timedelta = DEFAULT_TTL) -> tuple[TokenRecord, TokenRecord, str]:
    """Replace a live token: a successor with a new secret, the same role and clinics,
    living ``expires_in``; the old secret keeps working ``grace`` more (never longer than it
    had). Return (the old record as it now is, the successor, the successor's secret)."""
    moment = now or datetime.now(UTC)
    overlap = DEFAULT_GRACE if grace is None else grace
    if not timedelta(0) <= overlap <= MAX_GRACE:
        raise InvalidValue(f"the grace period is 0 to {MAX_GRACE.days} days; got {_human(overlap)}",
                           field="grace")
    old = _record_named(store, subject_or_secret)
    if old.revoked_at is not None:
        raise Conflict(f"{old.subject} is revoked: create a new token instead",
                       subject=old.subject)
    if old.rotated_to is not None:
        raise Conflict(f"{old.subject} was already rotated (to {old.rotated_to}): rotate that "
                       "one", subject=old.subject, rotated_to=old.rotated_to)
    if _expired(old, moment):
        raise Conflict(f"{old.subject} has expired: create a new token instead",
                       subject=old.subject)
    successor, secret = _new_record(Role(old.role), old.clinic_ids, moment,
                                    _ttl(expires_in, default_ttl))
    cut = moment + overlap
    if old.expires_at is not None:
        cut = min(cut, datetime.fromisoformat(old.expires_at))
    if not store.rotate(old.subject, successor, cut.isoformat()):
        raise Conflict(f"{old.subject} was revoked or rotated meanwhile", subject=old.subject)
    rotated = TokenRecord(**{**old.__dict__, "expires_at": cut.isoformat(),
                             "rotated_to": successor.subject})
    return rotated, successor, secret


def revoke(store: AccessStore, subject_or_secret: str) -> str:
    """Revoke a token named by its subject or by the secret itself; return its subject."""
    subject = _record_named(store, subject_or_secret).subject
    if not store.revoke(subject):
        raise NotFound(f"no live token {subject}")
    return subject


def state_of(record: TokenRecord, now: datetime | None = None) -> str:
    """How ``hub tokens list`` and ``GET /v1/tokens`` describe a token's state."""
    moment = now or datetime.now(UTC)
    if record.revoked_at is not None:
        return "revoked"
    if _expired(record, moment):
        return "expired"
    if record.rotated_to is not None:
        return "rotated"
    if record.expires_at is None:
        return "no_expiry"
    return "live"

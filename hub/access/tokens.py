"""API tokens: who may call the hub, with which role, for which clinics.

A token is a random secret shown once at creation; only its sha256 is stored. Its subject
(``tok_...``) names it in events' metadata, logs and revocation. Users who sign in
(``hub.access.sessions``) get principals too: ``agenda`` users act as clinic staff of their
clinics; 811 and reorientation users book into other clinics' reserved slots (R1–R2).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from adapters.accessstore import AccessStore, TokenRecord
from aggregates.errors import InvalidValue, NotFound
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


def issue(store: AccessStore, role: str, clinic_ids: list[UUID] | None = None) -> tuple[Principal, str]:
    """Create a token; return its principal and the secret (shown once, never stored)."""
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
    secret = "hub_" + secrets.token_urlsafe(32)
    subject = "tok_" + secrets.token_hex(8)
    store.add_token(TokenRecord(
        token_hash=hash_secret(secret), subject=subject, role=checked.value,
        clinic_ids=tuple(str(c) for c in clinics), created_at=datetime.now(UTC).isoformat(),
    ))
    return Principal(subject, checked, frozenset(clinics)), secret


def authenticate(store: AccessStore, secret: str) -> Principal | None:
    """The principal of a live token, or None (unknown, revoked or malformed)."""
    if not secret or len(secret) > 200:
        return None
    record = store.token(hash_secret(secret))
    if record is None or record.revoked_at is not None:
        return None
    return Principal(record.subject, Role(record.role),
                     frozenset(UUID(c) for c in record.clinic_ids))


def revoke(store: AccessStore, subject_or_secret: str) -> str:
    """Revoke a token named by its subject or by the secret itself; return its subject."""
    subject = subject_or_secret
    if not subject.startswith("tok_"):
        record = store.token(hash_secret(subject_or_secret))
        if record is None:
            raise NotFound("no such token (give its subject tok_... or the token itself)")
        subject = record.subject
    if not store.revoke(subject):
        raise NotFound(f"no live token {subject}")
    return subject

"""User (R1): a person who signs in to the hub, with roles ("services") and clinics.

Seed 003: a local administrator adds a user and gets a secret code to hand over; the user
finishes enrolment with e-mail + code + a password; the administrator can generate a new code
(the old one stops working), reset a password (a one-time link is e-mailed), add or remove
roles, and remove the user (here: deactivate, the history stays).

Password hashes are never in events (they would reach Kafka and ``/v1/events``): the
application keeps them beside the store; events only say that a password was set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates import one_time_secret as secrets_
from aggregates.errors import Conflict, InvalidValue
from aggregates.one_time_secret import OneTimeSecret
from aggregates.pseudonyms import keyed_index_id
from aggregates.values import choice

#: Failed sign-ins within ``SIGN_IN_WINDOW`` after which sign-in waits out the window.
MAX_SIGN_IN_FAILURES = 5
SIGN_IN_WINDOW = timedelta(minutes=15)
PASSWORD_MIN, PASSWORD_MAX = 12, 128


class UserRole(StrEnum):
    """The four RVSQ services of seed 003."""

    AGENDA = "agenda"  # clinic schedules, staff, bookings, reception
    INFO_SANTE_811 = "info_sante_811"  # 811 nurses: book into any clinic's 811 slots
    REORIENTATION_HOSPITAL = "reorientation_hospital"  # ER triage (P4–P5) → a clinic
    REORIENTATION_CLINIC = "reorientation_clinic"  # a clinic → another clinic


class Title(StrEnum):
    MADAME = "madame"
    MONSIEUR = "monsieur"
    DOCTEUR = "docteur"
    DOCTEURE = "docteure"


class UserDeactivated(Conflict):
    code = "user_deactivated"


class NotEnrolled(Conflict):
    code = "not_enrolled"


class TooManySignInAttempts(Conflict):
    code = "too_many_attempts"


class WeakPassword(InvalidValue):
    code = "weak_password"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise InvalidValue("email must be an e-mail address (name@domain.tld)", field="email")
    return cleaned


def email_index_id(secret: bytes, email: str) -> UUID:
    """The id of the index aggregate that holds one e-mail for one user (A6 asks it too),
    keyed with the index secret (``aggregates.pseudonyms``): the id does not confirm an
    e-mail."""
    return keyed_index_id(secret, "user-email", normalise_email(email))


def legacy_email_index_id(email: str) -> UUID:
    """The unkeyed id of users added before the keyed index (read, then re-keyed)."""
    return uuid5(NAMESPACE_URL, f"hub:user-email:{normalise_email(email)}")


def email_index_ids(secret: bytes, email: str) -> list[UUID]:
    """Where a lookup looks, in order: the keyed id, then the legacy one."""
    return [email_index_id(secret, email), legacy_email_index_id(email)]


def require_strong_password(password: str, email: str, first_name: str, last_name: str) -> None:
    """12 to 128 characters, not mostly one character, not containing the person's e-mail
    name or names (NIST SP 800-63B: length over composition rules)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise WeakPassword(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters",
                           field="password")
    if len(set(password)) < 5:
        raise WeakPassword("a password needs at least 5 different characters", field="password")
    lowered = password.lower()
    personal = [email.split("@")[0].lower(), first_name.lower(), last_name.lower()]
    if any(len(p) >= 3 and p in lowered for p in personal):
        raise WeakPassword("a password must not contain your e-mail name or your names",
                           field="password")


def _name(value: str, what: str) -> str:
    cleaned = " ".join(value.split())
    if not 1 <= len(cleaned) <= 100:
        raise InvalidValue(f"{what} must have 1 to 100 characters", field=what)
    return cleaned


def checked_access(roles: list[str], clinic_ids: list[UUID]) -> tuple[list[str], list[UUID]]:
    """At least one role, each known; ``agenda`` acts for its clinics, so it needs one."""
    if not roles:
        raise InvalidValue("a user needs at least one role", field="roles")
    checked = list(dict.fromkeys(choice(UserRole, r, "roles") for r in roles))
    clinics = list(dict.fromkeys(clinic_ids))
    if UserRole.AGENDA in checked and not clinics:
        raise InvalidValue("an agenda user acts for its clinics: give at least one clinic",
                           field="clinic_ids")
    return checked, clinics


def _counted(
    secret: OneTimeSecret | None, change: Callable[[OneTimeSecret], OneTimeSecret]
) -> OneTimeSecret | None:
    """Apply a change to a secret if there is one (events are only emitted when there is)."""
    return None if secret is None else change(secret)


class User(Aggregate):
    """A staff user: identity, roles, clinics, enrolment and sign-in history."""

    @classmethod
    def add(cls, email: str, title: str, first_name: str, last_name: str, roles: list[str],
            clinic_ids: list[UUID]) -> User:
        checked_roles, clinics = checked_access(roles, clinic_ids)
        return cls(email=normalise_email(email), title=choice(Title, title, "title"),
                   first_name=_name(first_name, "first_name"),
                   last_name=_name(last_name, "last_name"), roles=checked_roles,
                   clinic_ids=clinics)

    @event("Added")
    def __init__(self, email: str, title: str, first_name: str, last_name: str,
                 roles: list[str], clinic_ids: list[UUID]) -> None:
        self.email = email
        self.title = title
        self.first_name = first_name
        self.last_name = last_name
        self.roles = list(roles)
        self.clinic_ids = list(clinic_ids)
        self.active = True
        self.enrolled = False
        self.password_set_at: datetime | None = None
        self.secret_code: OneTimeSecret | None = None
        self.reset_link: OneTimeSecret | None = None
        self.failed_sign_ins: list[datetime] = []
        self.last_sign_in: datetime | None = None

    # -- queries -------------------------------------------------------------------
    def has_role(self, role: str) -> bool:
        return role in self.roles

    def sign_in_blocked_until(self, now: datetime) -> datetime | None:
        """After ``MAX_SIGN_IN_FAILURES`` failures within the window, when sign-in reopens."""
        recent = [t for t in self.failed_sign_ins if now - t < SIGN_IN_WINDOW]
        if len(recent) < MAX_SIGN_IN_FAILURES:
            return None
        return recent[-MAX_SIGN_IN_FAILURES] + SIGN_IN_WINDOW

    def require_active(self) -> None:
        if not self.active:
            raise UserDeactivated("this user is deactivated", user_id=str(self.id))

    # -- administrator's commands --------------------------------------------------
    def issue_secret_code(self, code: str, now: datetime, valid_for: timedelta) -> None:
        """A new enrolment code; the previous one, if any, stops working."""
        self.require_active()
        self._secret_code_issued(digest=secrets_.digest(code), expires_at=now + valid_for)

    def change_access(self, roles: list[str], clinic_ids: list[UUID]) -> None:
        self.require_active()
        new_roles, new_clinics = checked_access(roles, clinic_ids)
        if set(new_roles) == set(self.roles) and set(new_clinics) == set(self.clinic_ids):
            return
        self._access_changed(
            roles=new_roles, clinic_ids=new_clinics,
            roles_added=[r for r in new_roles if r not in self.roles],
            roles_removed=[r for r in self.roles if r not in new_roles],
            clinics_added=[c for c in new_clinics if c not in self.clinic_ids],
            clinics_removed=[c for c in self.clinic_ids if c not in new_clinics],
        )

    def request_password_reset(self, token: str, now: datetime, valid_for: timedelta) -> None:
        """A one-time reset link for an enrolled user (a new one cancels the previous)."""
        self.require_active()
        if not self.enrolled:
            raise NotEnrolled("this user has not finished enrolment: generate a new secret code")
        self._password_reset_requested(digest=secrets_.digest(token), expires_at=now + valid_for)

    def deactivate(self) -> None:
        if self.active:
            self._deactivated()

    def reactivate(self) -> None:
        if not self.active:
            self._reactivated()

    # -- the user's own commands ---------------------------------------------------
    def enroll(self, code: str, now: datetime) -> None:
        """Finish enrolment with the secret code (the application stores the password hash).

        A wrong code is recorded before the error is raised: save the user even then.
        """
        self.require_active()
        live = secrets_.live("secret_code", self.secret_code, now)
        if not live.matches(code):
            self._secret_code_rejected()
            raise secrets_.wrong("secret_code", live.failed())
        self._enrolled(at=now)

    def reset_password(self, token: str, now: datetime) -> None:
        """Set a new password through a reset link (recorded even when wrong, as ``enroll``)."""
        self.require_active()
        live = secrets_.live("reset_link", self.reset_link, now)
        if not live.matches(token):
            self._password_reset_rejected()
            raise secrets_.wrong("reset_link", live.failed())
        self._password_reset(at=now)

    def require_can_sign_in(self, now: datetime) -> None:
        self.require_active()
        if not self.enrolled:
            raise NotEnrolled("this user has not finished enrolment")
        until = self.sign_in_blocked_until(now)
        if until is not None:
            raise TooManySignInAttempts(
                "too many failed sign-ins: try again later",
                retry_after=max(1, int((until - now).total_seconds()) + 1),
            )

    def record_sign_in(self, session: str, now: datetime, expires_at: datetime) -> None:
        """A successful sign-in; ``session`` names the session (never its token)."""
        self.require_can_sign_in(now)
        self._signed_in(session=session, at=now, expires_at=expires_at)

    def record_failed_sign_in(self, now: datetime) -> None:
        self._sign_in_failed(at=now)

    # -- events --------------------------------------------------------------------
    @event("SecretCodeIssued")
    def _secret_code_issued(self, digest: str, expires_at: datetime) -> None:
        self.secret_code = OneTimeSecret("secret_code", digest, expires_at)

    @event("SecretCodeRejected")
    def _secret_code_rejected(self) -> None:
        self.secret_code = _counted(self.secret_code, OneTimeSecret.failed)

    @event("Enrolled")
    def _enrolled(self, at: datetime) -> None:
        self.secret_code = _counted(self.secret_code, OneTimeSecret.spent)
        self.enrolled = True
        self.password_set_at = at
        self.failed_sign_ins = []

    @event("AccessChanged")
    def _access_changed(self, roles: list[str], clinic_ids: list[UUID], roles_added: list[str],
                        roles_removed: list[str], clinics_added: list[UUID],
                        clinics_removed: list[UUID]) -> None:
        self.roles = list(roles)
        self.clinic_ids = list(clinic_ids)

    @event("PasswordResetRequested")
    def _password_reset_requested(self, digest: str, expires_at: datetime) -> None:
        self.reset_link = OneTimeSecret("reset_link", digest, expires_at)

    @event("PasswordResetRejected")
    def _password_reset_rejected(self) -> None:
        self.reset_link = _counted(self.reset_link, OneTimeSecret.failed)

    @event("PasswordReset")
    def _password_reset(self, at: datetime) -> None:
        self.reset_link = _counted(self.reset_link, OneTimeSecret.spent)
        self.password_set_at = at
        self.failed_sign_ins = []

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.active = False
        self.secret_code = _counted(self.secret_code, OneTimeSecret.cancel)
        self.reset_link = _counted(self.reset_link, OneTimeSecret.cancel)

    @event("Reactivated")
    def _reactivated(self) -> None:
        self.active = True

    @event("SignedIn")
    def _signed_in(self, session: str, at: datetime, expires_at: datetime) -> None:
        self.last_sign_in = at
        self.failed_sign_ins = []

    @event("SignInFailed")
    def _sign_in_failed(self, at: datetime) -> None:
        self.failed_sign_ins = [*self.failed_sign_ins, at][-MAX_SIGN_IN_FAILURES:]


class UserEmail(Aggregate):
    """Index: one e-mail → one user. Saved with the user, so two racing additions of the
    same e-mail conflict and one is refused. Its id is keyed (``email_index_id``) and it no
    longer stores the e-mail (entries written before the keyed index have it, at their
    legacy id)."""

    if TYPE_CHECKING:  # made by ``@event("EmailIndexed")`` when the class is defined
        EmailIndexed: ClassVar[type[Aggregate.Created]]

    @classmethod
    def index(cls, secret: bytes, email: str, user_id: UUID) -> UserEmail:
        # ``email`` stays in the event for the entries written before (legacy ids): now ""
        return cls._create(cls.EmailIndexed, id=email_index_id(secret, email), user_id=user_id,
                           email="")

    @event("EmailIndexed")
    def __init__(self, user_id: UUID, email: str) -> None:
        self.user_id = user_id

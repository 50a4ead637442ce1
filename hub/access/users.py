"""Users (R1, seed 003): add, enrol with the secret code, new code, password reset, roles.

Each command loads, decides, saves. Secret codes and reset links are returned to the caller
once (the administrator hands the code over; the reset link is e-mailed) and stored only as a
digest; passwords are hashed with Argon2id and kept beside the store, never in an event.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

import structlog
from eventsourcing.persistence import RecordConflictError

from adapters.channels import Channel, DeliveryFailed, Outgoing
from adapters.userstore import UserStore
from aggregates.clinic import Clinic
from aggregates.errors import Conflict, DomainError, InvalidValue, NotFound
from aggregates.one_time_secret import SecretWrong
from aggregates.user import (
    User,
    UserEmail,
    email_index_id,
    email_index_ids,
    require_strong_password,
)
from hub.application import HubApplication

log = structlog.get_logger("hub.access.users")

#: Crockford's base 32 without look-alikes (no I, L, O, U): read aloud or typed by hand.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class EmailTaken(Conflict):
    code = "email_taken"


class EmailUnavailable(Conflict):
    """No e-mail relay is configured: a reset link cannot be e-mailed."""

    code = "email_unavailable"


class EmailFailed(DomainError):
    """The e-mail relay refused or could not take the reset e-mail."""

    code = "email_failed"


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...


def new_secret_code() -> str:
    """16 characters (80 bits) in four groups: K7Q2-M9XD-4RTP-W8ZC."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class AddedUser:
    id: UUID
    secret_code: str
    expires_at: datetime
    position: int


@dataclass(frozen=True)
class ResetLink:
    user_id: UUID
    email: str
    token: str
    url: str
    expires_at: datetime
    position: int
    sent: bool


def reset_email(email: str, url: str, expires_at: datetime) -> Outgoing:
    """The reset e-mail, in French then English (staff choose no language)."""
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valide une fois, "
        f"jusqu'au {until}) :\n{url}\n\nSi vous n'avez rien demandé, ignorez ce courriel.\n\n"
        "---\n\nHello,\n\nTo choose a new password, open this link (valid once, until "
        f"{until}):\n{url}\n\nIf you did not ask for this, ignore this e-mail.\n"
    )
    return Outgoing(key=uuid4(), channel="email", address=email, text=text,
                    subject="Réinitialisation du mot de passe / Password reset")


class Users:
    """The administrators' and users' commands on users."""

    def __init__(self, app: HubApplication, store: UserStore, passwords: Passwords,
                 code_valid_for: timedelta = timedelta(days=7),
                 reset_valid_for: timedelta = timedelta(hours=1), mailer: Channel | None = None,
                 public_url: str = "http://127.0.0.1:8000") -> None:
        self.app = app
        self.store = store
        self.passwords = passwords
        self.code_valid_for = code_valid_for
        self.reset_valid_for = reset_valid_for
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")

    @property
    def now(self) -> datetime:
        return self.app.clock()

    # -- queries -------------------------------------------------------------------
    def get(self, user_id: UUID) -> User:
        return self.app.load(User, user_id, "user")

    def find(self, email: str) -> User | None:
        """The user with this e-mail, or None (a malformed e-mail is nobody's)."""
        index_id = self.index_id(email)
        if index_id is None:
            return None
        index = self.app.load(UserEmail, index_id, "user")
        return self.get(index.user_id)

    def index_id(self, email: str) -> UUID | None:
        """The id of the e-mail's index entry: the keyed one, else the legacy unkeyed one of
        a user added before the index was keyed (re-keyed by the user's next write), else
        None (a malformed e-mail is nobody's)."""
        try:
            ids = email_index_ids(self.app.index_secret, email)
        except InvalidValue:
            return None
        return next((i for i in ids if self.app.exists(i)), None)

    def commit(self, user: User) -> int:
        """Save a user's change; a user still indexed under the legacy unkeyed id gets the
        keyed entry in the same transaction (two racing re-keys conflict, one retries)."""
        keyed = email_index_id(self.app.index_secret, user.email)
        rekey = [] if self.app.exists(keyed) else [
            UserEmail.index(self.app.index_secret, user.email, user.id)]
        return self.app.commit(user, *rekey)

    def by_email_or_id(self, reference: str) -> User:
        """The user named by an e-mail or an id (CLI)."""
        if "@" in reference:
            user = self.find(reference)
            if user is None:
                raise NotFound("no user has this e-mail")
            return user
        try:
            return self.get(UUID(reference))
        except ValueError:
            raise InvalidValue("give the user's e-mail or id", field="user") from None

    def all(self) -> list[User]:
        """Every user, in the order they were added."""
        topic = "aggregates.user:User.Added"
        ids: list[UUID] = []
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start, 500, topics=[topic])
            ids += [n.originator_id for n in page]  # type: ignore[misc]  # UUID ids
            if len(page) < 500:
                break
            start = page[-1].id + 1
        return [self.get(i) for i in ids]

    # -- administrators' commands --------------------------------------------------
    def add(self, email: str, title: str, first_name: str, last_name: str, roles: list[str],
            clinic_ids: list[UUID]) -> AddedUser:
        """Add a user; the secret code is returned once, to hand over (seed 003 step 5)."""
        for clinic_id in clinic_ids:
            self.app.load(Clinic, clinic_id, "clinic")
        user = User.add(email, title, first_name, last_name, roles, clinic_ids)
        if self.index_id(user.email) is not None:
            raise EmailTaken("a user already has this e-mail: change that user's roles instead",
                             field="email")
        code = new_secret_code()
        user.issue_secret_code(code, self.now, self.code_valid_for)
        try:
            position = self.commit(user)
        except RecordConflictError:
            raise EmailTaken("a user already has this e-mail", field="email") from None
        log.info("user added", user_id=str(user.id), roles=user.roles)
        return AddedUser(user.id, code, self.now + self.code_valid_for, position)

    def new_secret_code(self, user_id: UUID) -> AddedUser:
        """A new secret code; the previous one stops working."""
        code = new_secret_code()

        def run() -> int:
            user = self.get(user_id)
            user.issue_secret_code(code, self.now, self.code_valid_for)
            return self.commit(user)

        position = self.app.retrying(run, "new secret code")
        log.info("secret code issued", user_id=str(user_id))
        return AddedUser(user_id, code, self.now + self.code_valid_for, position)

    def change_access(self, user_id: UUID, roles: list[str] | None,
                      clinic_ids: list[UUID] | None) -> int:
        """Add or remove roles and clinics (None keeps what the user has)."""
        for clinic_id in clinic_ids or []:
            self.app.load(Clinic, clinic_id, "clinic")

        def run() -> int:
            user = self.get(user_id)
            user.change_access(user.roles if roles is None else roles,
                               user.clinic_ids if clinic_ids is None else clinic_ids)
            return self.commit(user)

        position = self.app.retrying(run, "change access")
        log.info("user access changed", user_id=str(user_id))
        return position

    def request_password_reset(self, user_id: UUID, send: bool = True) -> ResetLink:
        """A one-time reset link for an enrolled user, e-mailed to the user (``send``), or
        only returned (the server's command line prints it when no relay is configured)."""
        if send and self.mailer is None:
            raise EmailUnavailable("no e-mail relay is configured (HUB_SMTP_HOST): run "
                                   "`hub users reset-password` on the server instead")
        secret = secrets.token_urlsafe(32)

        def run() -> tuple[int, str]:
            user = self.get(user_id)
            user.request_password_reset(secret, self.now, self.reset_valid_for)
            return self.commit(user), user.email

        position, email = self.app.retrying(run, "password reset")
        token = f"{user_id.hex}.{secret}"
        url = f"{self.public_url}/console/password-reset?token={token}"
        expires_at = self.now + self.reset_valid_for
        if send and self.mailer is not None:
            try:
                self.mailer.send(reset_email(email, url, expires_at))
            except DeliveryFailed as exc:
                raise EmailFailed(f"the reset e-mail could not be sent: {exc}") from None
        log.info("password reset requested", user_id=str(user_id), sent=send)
        return ResetLink(user_id, email, token, url, expires_at, position, send)

    def set_active(self, user_id: UUID, active: bool) -> int:
        """Deactivate (codes, links and sessions stop working) or reactivate a user."""

        def run() -> int:
            user = self.get(user_id)
            user.deactivate() if not active else user.reactivate()
            return self.commit(user)

        position = self.app.retrying(run, "deactivate" if not active else "reactivate")
        if not active:
            self.store.revoke_sessions(self.now.isoformat(), user_id=str(user_id))
        return position

    # -- the user's own commands ---------------------------------------------------
    def enroll(self, email: str, code: str, password: str) -> User:
        """Finish enrolment: e-mail + secret code + a new password."""
        user = self.find(email)
        if user is None:
            raise SecretWrong("no user has this e-mail, or the secret code is wrong",
                              code="secret_code_invalid")
        require_strong_password(password, user.email, user.first_name, user.last_name)
        return self._set_password(user.id, password, lambda u: u.enroll(code, self.now), "enroll")

    def reset_password(self, token: str, password: str) -> User:
        """Set a new password with the e-mailed link's token (``<user id>.<secret>``)."""
        user_hex, _, secret = token.partition(".")
        try:
            user = self.get(UUID(hex=user_hex))
        except (ValueError, NotFound):
            raise SecretWrong("this password reset link is not valid",
                              code="reset_link_invalid") from None
        require_strong_password(password, user.email, user.first_name, user.last_name)
        return self._set_password(user.id, password,
                                  lambda u: u.reset_password(secret, self.now), "reset password")

    def _set_password(self, user_id: UUID, password: str, check: Callable[[User], Any],
                      what: str) -> User:
        """Check the one-time secret (a wrong try is saved, then refused); store the hash,
        then the event; all sessions of the user end."""
        password_hash = self.passwords.hash(password)

        def run() -> User:
            user = self.get(user_id)
            try:
                check(user)
            except DomainError:
                if list(user.pending_events):
                    self.commit(user)  # the wrong try counts towards the lock
                raise
            self.store.set_password(str(user.id), password_hash)
            self.commit(user)
            return user

        user = self.app.retrying(run, what)
        self.store.revoke_sessions(self.now.isoformat(), user_id=str(user_id))
        log.info("password set", user_id=str(user_id), how=what)
        return user

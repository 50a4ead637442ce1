"""Sessions: a user signs in with e-mail and password and gets a short-lived bearer token.

Every sign-in, and every failed one of a known user, is an event of that user (the audit
shows them). Failed sign-ins are limited twice: per user (``User.sign_in_blocked_until``, in
the store, so every server agrees) and per client address (in this process). A session works
while its user is active and its password unchanged; its token is stored as a sha256.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from adapters.userstore import SessionRecord, UserStore
from aggregates.errors import DomainError
from aggregates.user import NotEnrolled, TooManySignInAttempts, User, UserDeactivated
from hub.access.tokens import Principal, principal_of_user
from hub.access.users import Passwords, Users
from hub.application import HubApplication

log = structlog.get_logger("hub.access.sessions")
TOKEN_PREFIX = "hub_ses_"


class SignInRefused(DomainError):
    """Unknown e-mail, wrong password, or a user who cannot sign in: one answer for all."""

    code = "invalid_credentials"


@dataclass(frozen=True)
class Session:
    token: str
    session_id: str
    user_id: UUID
    expires_at: datetime
    principal: Principal


class ClientThrottle:
    """At most ``limit`` failed sign-ins per client address within ``window`` (this process)."""

    def __init__(self, limit: int = 20, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(client, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def check(self, client: str, now: datetime) -> None:
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) >= self.limit:
                wait = failures[0] + self.window - now
                raise TooManySignInAttempts("too many failed sign-ins from here: try again later",
                                            retry_after=max(1, int(wait.total_seconds()) + 1))

    def failed(self, client: str, now: datetime) -> None:
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory: forget the oldest clients
                for key in list(self._failures)[:50_000]:
                    del self._failures[key]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    """Sign in, authenticate a session token, sign out."""

    def __init__(self, app: HubApplication, store: UserStore, passwords: Passwords,
                 users: Users, ttl: timedelta = timedelta(hours=8),
                 throttle: ClientThrottle | None = None) -> None:
        self.app, self.store, self.passwords, self.users = app, store, passwords, users
        self.ttl = ttl
        self.throttle = throttle or ClientThrottle()

    def sign_in(self, email: str, password: str, client: str = "") -> Session:
        now = self.app.clock()
        self.throttle.check(client, now)
        user = self.users.find(email)
        if user is None:
            self.passwords.verify(None, password)  # as long as a wrong password
            self.throttle.failed(client, now)
            raise SignInRefused("wrong e-mail or password")
        try:
            user.require_can_sign_in(now)
        except (NotEnrolled, UserDeactivated):
            self.passwords.verify(None, password)
            self.throttle.failed(client, now)
            raise SignInRefused("wrong e-mail or password") from None
        if not self.passwords.verify(self.store.password(str(user.id)), password):
            self.throttle.failed(client, now)
            self._record(user.id, lambda u: u.record_failed_sign_in(now), "failed sign-in")
            log.info("sign-in refused", user_id=str(user.id))
            raise SignInRefused("wrong e-mail or password")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        session_id = "ses_" + secrets.token_hex(8)
        expires_at = now + self.ttl
        user = self._record(user.id, lambda u: u.record_sign_in(session_id, now, expires_at),
                            "sign-in")
        self.store.add_session(SessionRecord(token_hash(token), session_id, str(user.id),
                                             now.isoformat(), expires_at.isoformat()))
        log.info("signed in", user_id=str(user.id), session_id=session_id)
        return Session(token, session_id, user.id, expires_at, principal_of_user(user, session_id))

    def _record(self, user_id: UUID, change: object, what: str) -> User:
        def run() -> User:
            user = self.users.get(user_id)
            change(user)  # type: ignore[operator]  # a User command
            self.users.commit(user)  # re-keys a legacy e-mail index entry
            return user

        return self.app.retrying(run, what)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a live session token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        record = self.store.session(token_hash(token))
        now = self.app.clock()
        if record is None or record.revoked_at is not None:
            return None
        if datetime.fromisoformat(record.expires_at) <= now:
            return None
        user = self.users.get(UUID(record.user_id))
        issued = datetime.fromisoformat(record.issued_at)
        if not user.active or (user.password_set_at is not None and user.password_set_at > issued):
            return None
        return principal_of_user(user, record.session_id)

    def sign_out(self, principal: Principal) -> None:
        if principal.session_id:
            self.store.revoke_sessions(self.app.clock().isoformat(),
                                       session_id=principal.session_id)

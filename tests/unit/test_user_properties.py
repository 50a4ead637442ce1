"""Hypothesis stateful test of the User aggregate against a simple model (R1, seed 003).

Invariants, after every step: a secret code or reset link works at most once, only the latest
one works, never once expired, never after ``MAX_TRIES`` wrong tries nor on a deactivated user;
sign-in is refused while blocked; roles and clinics are what the last change said; the
aggregate rebuilt from its stored events equals the live one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.application import Application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from aggregates.errors import DomainError, InvalidValue
from aggregates.one_time_secret import MAX_TRIES
from aggregates.user import MAX_SIGN_IN_FAILURES, SIGN_IN_WINDOW, User, UserRole

CLINICS = [uuid4(), uuid4()]
VALID_FOR = timedelta(hours=72)
ROLES = st.lists(st.sampled_from([r.value for r in UserRole]), max_size=3)
CLINIC_SETS = st.lists(st.sampled_from(CLINICS), max_size=2)


class Secret:
    """The model of one one-time secret."""

    def __init__(self, value: str, expires_at: datetime) -> None:
        self.value, self.expires_at = value, expires_at
        self.failures, self.used, self.cancelled = 0, False, False

    def usable(self, now: datetime) -> bool:
        return not (self.used or self.cancelled or self.failures >= MAX_TRIES
                    or now >= self.expires_at)


class UserMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.now = datetime(2026, 5, 22, 9, 0, tzinfo=UTC)
        self.serial = 0
        self.code: Secret | None = None
        self.link: Secret | None = None
        self.old_values: list[str] = []
        self.failures: list[datetime] = []

    @initialize(roles=st.lists(st.sampled_from([r.value for r in UserRole]), min_size=1, max_size=4))
    def add(self, roles: list[str]) -> None:
        self.user = User.add("nurse@example.org", "madame", "Lorraine", "Baines", roles, CLINICS[:1])
        self.roles, self.clinics = list(dict.fromkeys(roles)), CLINICS[:1]
        self.active, self.enrolled = True, False
        self.app.save(self.user)

    def _fresh(self) -> str:
        self.serial += 1
        return f"CODE-{self.serial:04d}-{uuid4().hex[:12]}"

    def _save(self) -> None:
        self.app.save(self.user)

    # -- administrator -------------------------------------------------------------
    @rule()
    def issue_code(self) -> None:
        value = self._fresh()
        try:
            self.user.issue_secret_code(value, self.now, VALID_FOR)
        except DomainError:
            assert not self.active
            return
        assert self.active
        if self.code:
            self.old_values.append(self.code.value)
        self.code = Secret(value, self.now + VALID_FOR)
        self._save()

    @rule()
    def request_reset(self) -> None:
        value = self._fresh()
        try:
            self.user.request_password_reset(value, self.now, timedelta(hours=1))
        except DomainError:
            assert not (self.active and self.enrolled)
            return
        if self.link:
            self.old_values.append(self.link.value)
        self.link = Secret(value, self.now + timedelta(hours=1))
        self._save()

    @rule(roles=ROLES, clinics=CLINIC_SETS)
    def change_access(self, roles: list[str], clinics: list[UUID]) -> None:
        valid = bool(roles) and (not clinics and "agenda" not in roles or bool(clinics))
        try:
            self.user.change_access(roles, clinics)
        except InvalidValue:
            assert not valid
            return
        except DomainError:
            assert not self.active
            return
        assert valid and self.active
        self.roles, self.clinics = list(dict.fromkeys(roles)), list(dict.fromkeys(clinics))
        self._save()

    @rule()
    def deactivate(self) -> None:
        self.user.deactivate()
        if self.active:
            for secret in (self.code, self.link):
                if secret:
                    secret.cancelled = True
        self.active = False
        self._save()

    @rule()
    def reactivate(self) -> None:
        self.user.reactivate()
        self.active = True
        self._save()

    @rule(minutes=st.sampled_from([1, 10, 61, 24 * 60, 72 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # -- the user ------------------------------------------------------------------
    def _present(self, kind: str, which: str) -> None:
        secret = self.code if kind == "code" else self.link
        if which == "right" and secret:
            value = secret.value
        elif which == "old" and self.old_values:
            value = self.old_values[-1]
        else:
            value = "WRONG-" + uuid4().hex
        command = self.user.enroll if kind == "code" else self.user.reset_password
        try:
            command(value, self.now)
            accepted = True
        except DomainError:
            accepted = False
        live = self.active and secret is not None and secret.usable(self.now)
        right = secret is not None and value == secret.value
        assert accepted == (live and right), (kind, which, accepted, live, right)
        if live and secret is not None:
            if right:
                secret.used = True
                if kind == "code":
                    self.enrolled = True
                self.failures = []
            else:
                secret.failures += 1
        self._save()  # a wrong try is recorded too

    @rule(which=st.sampled_from(["right", "old", "wrong"]))
    def enroll(self, which: str) -> None:
        self._present("code", which)

    @rule(which=st.sampled_from(["right", "old", "wrong"]))
    def reset_password(self, which: str) -> None:
        self._present("link", which)

    def _blocked(self) -> bool:
        recent = [t for t in self.failures if self.now - t < SIGN_IN_WINDOW]
        return len(recent) >= MAX_SIGN_IN_FAILURES

    @rule()
    def sign_in_fails(self) -> None:
        self.user.record_failed_sign_in(self.now)
        self.failures = (self.failures + [self.now])[-MAX_SIGN_IN_FAILURES:]
        self._save()

    @rule()
    def sign_in(self) -> None:
        allowed = self.active and self.enrolled and not self._blocked()
        try:
            self.user.record_sign_in(f"ses_{self.serial}", self.now, self.now + timedelta(hours=1))
        except DomainError:
            assert not allowed
            return
        assert allowed
        self.failures = []
        self._save()

    # -- invariants ----------------------------------------------------------------
    @invariant()
    def state_matches_the_model(self) -> None:
        if not hasattr(self, "user"):
            return
        assert self.user.active == self.active and self.user.enrolled == self.enrolled
        assert set(self.user.roles) == set(self.roles)
        assert set(self.user.clinic_ids) == set(self.clinics)
        assert (self.user.sign_in_blocked_until(self.now) is not None) == self._blocked()

    @invariant()
    def stored_events_rebuild_the_same_user(self) -> None:
        if not hasattr(self, "user"):
            return
        assert self.app.repository.get(self.user.id).__dict__ == self.user.__dict__


UserMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestUserMachine = UserMachine.TestCase

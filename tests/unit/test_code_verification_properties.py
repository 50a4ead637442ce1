"""Hypothesis state machine of the one-time code (V3) against a plain model.

Whatever the order of right and wrong codes, time passing, rebookings and reloads: the 5th
wrong try locks the request for good; an expired code opens nothing; a session is opened by
the right code only and allows exactly one rebooking; the stored state equals the replayed one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from aggregates.self_service import (
    MAX_WRONG_TRIES,
    TOKEN_TTL_MINUTES,
    CodeVerification,
    Outcome,
    TokenRefused,
)

START = datetime(2021, 6, 16, 12, 0, tzinfo=UTC)
CODE = "424242"
TTL = 10


class CodeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.request = CodeVerification.request(uuid4(), uuid4(), None, "email", CODE,
                                                b"0123456789", START, TTL, iterations=3)
        self.events = list(self.request.collect_events())
        self.wrong = 0
        self.token: str | None = None
        self.token_until: datetime | None = None
        self.used = False

    def _collect(self) -> None:
        self.events.extend(self.request.collect_events())

    @property
    def locked(self) -> bool:
        return self.wrong >= MAX_WRONG_TRIES

    def _expected(self, right: bool) -> Outcome:
        if self.used or (self.token is not None and not self.locked):
            return Outcome.USED
        if self.locked:
            return Outcome.LOCKED
        if self.now >= START + timedelta(minutes=TTL):
            return Outcome.EXPIRED
        if right:
            return Outcome.VERIFIED
        return Outcome.LOCKED if self.wrong + 1 >= MAX_WRONG_TRIES else Outcome.WRONG

    @rule(right=st.booleans(), wrong=st.text("0123456789", min_size=1, max_size=8))
    def try_code(self, right: bool, wrong: str) -> None:
        code = CODE if right else (wrong if wrong != CODE else "0")
        expected = self._expected(right)
        token = f"token-{len(self.events)}"
        assert self.request.try_code(code, self.now, token) is expected
        if expected is Outcome.VERIFIED:
            self.token = token
            self.token_until = self.now + timedelta(minutes=TOKEN_TTL_MINUTES)
        elif expected in (Outcome.WRONG, Outcome.LOCKED) and not self.locked:
            self.wrong += 1
        self._collect()

    @rule(minutes=st.integers(0, 40))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(own=st.booleans())
    def rebook(self, own: bool) -> None:
        token = self.token if own and self.token else "forged"
        allowed = (own and self.token is not None and not self.used
                   and self.token_until is not None and self.now < self.token_until)
        try:
            self.request.complete(uuid4(), token, self.now)
        except TokenRefused:
            assert not allowed
        else:
            assert allowed
            self.used = True
        self._collect()

    @rule()
    def reload(self) -> None:
        """What the store would give back: the events replayed from nothing."""
        replayed = None
        for stored in self.events:
            replayed = stored.mutate(replayed)
        assert isinstance(replayed, CodeVerification)
        self.request = replayed

    @invariant()
    def matches_the_model(self) -> None:
        assert self.request.wrong_tries == self.wrong <= MAX_WRONG_TRIES
        assert self.request.locked == self.locked
        assert self.request.verified == (self.token is not None)
        assert (self.request.used_by is not None) == self.used
        assert not (self.used and self.locked)
        assert not (self.request.verified and self.locked), "a locked request never verifies"
        assert CODE not in repr([e.__dict__ for e in self.events])


CodeMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestCodeVerification = CodeMachine.TestCase

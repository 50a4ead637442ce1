"""User (R1, seed 003): adding, enrolment by secret code, password reset, access, sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest
from eventsourcing.application import Application

from aggregates.errors import InvalidValue
from aggregates.one_time_secret import MAX_TRIES, SecretSpent, SecretWrong
from aggregates.user import (
    MAX_SIGN_IN_FAILURES,
    SIGN_IN_WINDOW,
    NotEnrolled,
    TooManySignInAttempts,
    User,
    UserDeactivated,
    UserEmail,
    WeakPassword,
    email_index_id,
    legacy_email_index_id,
    require_strong_password,
)

NOW = datetime(2026, 5, 22, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CODE = "K7Q2-M9XD-4RTP-W8ZC"
CLINIC = uuid4()
SECRET = b"s" * 32


def new_user(**overrides: object) -> User:
    fields: dict[str, object] = {
        "email": " Emmett.Brown@Clinique.example ", "title": "docteur", "first_name": "Emmett",
        "last_name": "Brown", "roles": ["agenda"], "clinic_ids": [CLINIC],
    }
    fields.update(overrides)
    return User.add(**fields)  # type: ignore[arg-type]  # test data, checked by the aggregate


def enrolled_user() -> User:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.enroll(CODE, NOW)
    return user


def test_add_normalises_and_checks() -> None:
    user = new_user()
    assert user.email == "emmett.brown@clinique.example"
    assert (user.roles, user.clinic_ids, user.active, user.enrolled) == (["agenda"], [CLINIC], True, False)
    cases = [
        {"email": "not-an-email"}, {"title": "sir"}, {"first_name": "  "},
        {"roles": []}, {"roles": ["agenda", "surgeon"]}, {"roles": ["agenda"], "clinic_ids": []},
    ]
    for case in cases:
        with pytest.raises(InvalidValue):
            new_user(**case)
    # 811 nurses and reorientation staff book across clinics: no clinic needed
    assert new_user(roles=["info_sante_811"], clinic_ids=[]).roles == ["info_sante_811"]


def test_email_index_is_case_insensitive_and_one_per_email() -> None:
    user = new_user()
    index = UserEmail.index(SECRET, user.email, user.id)
    assert index.id == email_index_id(SECRET, "EMMETT.brown@clinique.example")
    assert index.id == email_index_id(SECRET, user.email) and index.user_id == user.id
    # keyed: neither the unkeyed digest of the e-mail nor the e-mail itself in the event
    unkeyed = uuid5(NAMESPACE_URL, f"hub:user-email:{user.email}")
    assert index.id != unkeyed and legacy_email_index_id(user.email) == unkeyed
    assert index.id != email_index_id(b"t" * 32, user.email)
    assert user.email not in repr([vars(e) for e in index.collect_events()])


def test_secret_code_works_once_and_ignores_case_spaces_dashes() -> None:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.enroll("k7q2 m9xd 4rtp w8zc", NOW + DAY)
    assert user.enrolled and user.password_set_at == NOW + DAY
    with pytest.raises(SecretSpent) as refused:
        user.enroll(CODE, NOW + DAY)
    assert refused.value.code == "secret_code_used"


def test_code_stored_only_as_a_digest() -> None:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    events = user.collect_events()
    assert CODE not in repr(events) and "K7Q2M9XD4RTPW8ZC" not in repr(events)


def test_new_code_cancels_the_old_one() -> None:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.issue_secret_code("AAAA-BBBB-CCCC-DDDD", NOW, 3 * DAY)
    with pytest.raises(SecretWrong) as refused:
        user.enroll(CODE, NOW)  # the stolen old code
    assert refused.value.code == "secret_code_invalid"
    user.enroll("AAAA-BBBB-CCCC-DDDD", NOW)
    assert user.enrolled


def test_code_expires() -> None:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    with pytest.raises(SecretSpent) as refused:
        user.enroll(CODE, NOW + 3 * DAY)
    assert refused.value.code == "secret_code_expired"


def test_five_wrong_tries_lock_the_code_and_are_recorded() -> None:
    user = new_user()
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.collect_events()
    for attempt in range(1, MAX_TRIES + 1):
        with pytest.raises((SecretWrong, SecretSpent)) as refused:
            user.enroll("WRONG-CODE", NOW)
        expected = "secret_code_locked" if attempt == MAX_TRIES else "secret_code_invalid"
        assert refused.value.code == expected
    assert [type(e).__name__ for e in user.collect_events()] == ["SecretCodeRejected"] * MAX_TRIES
    with pytest.raises(SecretSpent) as refused:
        user.enroll(CODE, NOW)
    assert refused.value.code == "secret_code_locked"
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.enroll(CODE, NOW)


def test_enrol_without_code_or_when_deactivated() -> None:
    user = new_user()
    with pytest.raises(SecretSpent) as refused:
        user.enroll(CODE, NOW)
    assert refused.value.code == "secret_code_missing"
    user.issue_secret_code(CODE, NOW, 3 * DAY)
    user.deactivate()
    with pytest.raises(UserDeactivated):
        user.enroll(CODE, NOW)
    user.reactivate()
    with pytest.raises(SecretSpent) as refused:  # deactivation cancelled the code
        user.enroll(CODE, NOW)
    assert refused.value.code == "secret_code_cancelled"


def test_password_reset_link() -> None:
    user = new_user()
    with pytest.raises(NotEnrolled):
        user.request_password_reset("t" * 43, NOW, timedelta(hours=1))
    user = enrolled_user()
    user.request_password_reset("first-token-" + "x" * 32, NOW, timedelta(hours=1))
    user.request_password_reset("second-token-" + "y" * 32, NOW, timedelta(hours=1))
    with pytest.raises(SecretWrong) as refused:
        user.reset_password("first-token-" + "x" * 32, NOW)
    assert refused.value.code == "reset_link_invalid"
    user.reset_password("second-token-" + "y" * 32, NOW + timedelta(minutes=5))
    assert user.password_set_at == NOW + timedelta(minutes=5)
    with pytest.raises(SecretSpent) as refused:
        user.reset_password("second-token-" + "y" * 32, NOW)
    assert refused.value.code == "reset_link_used"


def test_change_access_records_what_changed() -> None:
    user = new_user()
    user.collect_events()
    other = uuid4()
    user.change_access(["agenda", "reorientation_clinic"], [CLINIC, other])
    user.change_access(["reorientation_clinic", "agenda"], [other, CLINIC])  # same sets: no event
    (changed,) = user.collect_events()
    assert changed.roles_added == ["reorientation_clinic"] and changed.roles_removed == []  # type: ignore[attr-defined]
    assert changed.clinics_added == [other]  # type: ignore[attr-defined]
    with pytest.raises(InvalidValue):
        user.change_access(["agenda"], [])
    user.change_access(["info_sante_811"], [])
    assert user.roles == ["info_sante_811"] and user.clinic_ids == []


def test_sign_in_rules() -> None:
    user = new_user()
    with pytest.raises(NotEnrolled):
        user.record_sign_in("ses_1", NOW, NOW + timedelta(hours=1))
    user = enrolled_user()
    for i in range(MAX_SIGN_IN_FAILURES):
        user.record_failed_sign_in(NOW + timedelta(minutes=i))
    with pytest.raises(TooManySignInAttempts) as refused:
        user.record_sign_in("ses_1", NOW + timedelta(minutes=5), NOW + timedelta(hours=1))
    assert refused.value.details["retry_after"] == 10 * 60 + 1
    later = NOW + SIGN_IN_WINDOW
    user.record_sign_in("ses_1", later, later + timedelta(hours=1))
    assert user.last_sign_in == later and user.failed_sign_ins == []
    user.deactivate()
    with pytest.raises(UserDeactivated):
        user.record_sign_in("ses_2", later, later + timedelta(hours=1))


def test_weak_passwords_refused() -> None:
    for weak in ["short1!", "a" * 20, "abababababababab", "x" * 129, "my-emmett-password-2026",
                 "Brown-is-my-password"]:
        with pytest.raises(WeakPassword):
            require_strong_password(weak, "emmett.brown@clinique.example", "Emmett", "Brown")
    require_strong_password("correct horse battery staple", "emmett.brown@clinique.example",
                            "Emmett", "Brown")


def test_round_trip_through_a_store() -> None:
    app: Application[object] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    user = enrolled_user()
    user.record_failed_sign_in(NOW)
    user.request_password_reset("token-" + "z" * 40, NOW, timedelta(hours=1))
    app.save(user, UserEmail.index(SECRET, user.email, user.id))
    copy = app.repository.get(user.id)
    assert copy.__dict__ == user.__dict__
    assert app.repository.get(email_index_id(SECRET, user.email)).user_id == user.id

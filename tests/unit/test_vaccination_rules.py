"""Products, intervals, coupons, batch invitations, codes and quotas: each rule by example."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from aggregates import doses
from aggregates.appointment import Appointment
from aggregates.doses import DoseIntervals, Interval
from aggregates.errors import InvalidValue
from aggregates.invitation import (
    MAX_PER_BATCH,
    AlreadyInvited,
    InvitationBatch,
    TooManyInvitations,
    invitation_channel,
)
from aggregates.self_service import (
    CodeVerification,
    Outcome,
    RequestQuota,
    TokenRefused,
    TooManyRequests,
    quota_id,
)

NOW = datetime(2021, 6, 16, 12, 0, tzinfo=UTC)


# -- products and intervals ------------------------------------------------------------
@pytest.mark.parametrize(("name", "canonical"), [
    ("Pfizer", "Pfizer-BioNTech"), ("pfizer-biontech", "Pfizer-BioNTech"),
    ("Comirnaty", "Pfizer-BioNTech"), ("MODERNA", "Moderna"), ("Spikevax", "Moderna"),
    ("Astra Zeneca", "AstraZeneca"), ("Vaxzevria", "AstraZeneca"), ("covishield", "Covishield"),
    ("Vaccin X", None), ("", None), (None, None),
])
def test_canonical_product(name: str | None, canonical: str | None) -> None:
    assert doses.canonical_product(name) == canonical


@pytest.mark.parametrize(("first", "allowed"), [
    ("Pfizer", ("Pfizer-BioNTech",)),
    ("Moderna", ("Moderna",)),
    ("AstraZeneca", ("AstraZeneca", "Pfizer-BioNTech", "Moderna")),
    ("Covishield", ("Covishield", "Pfizer-BioNTech", "Moderna")),
    (None, ()),
])
def test_second_dose_products_v4(first: str | None, allowed: tuple[str, ...]) -> None:
    assert doses.second_dose_products(first) == allowed


def test_a_pfizer_first_dose_may_not_switch_to_moderna() -> None:
    with pytest.raises(doses.ProductNotAllowed) as refused:
        doses.require_second_dose_product("Pfizer", "Moderna")
    assert refused.value.details["allowed"] == ["Pfizer-BioNTech"]
    assert doses.require_second_dose_product("AstraZeneca", "moderna") == "Moderna"
    assert doses.require_second_dose_product("AstraZeneca", None) == "AstraZeneca"


def test_default_intervals_and_window() -> None:
    intervals = DoseIntervals()
    assert intervals.for_product("Pfizer") == Interval(21, 112)
    earliest, latest = intervals.window("Moderna", NOW)
    assert (earliest, latest) == (NOW + timedelta(days=28), NOW + timedelta(days=112))
    intervals.require_within("Moderna", NOW, NOW + timedelta(days=28))
    with pytest.raises(doses.OutsideInterval):
        intervals.require_within("Moderna", NOW, NOW + timedelta(days=27))
    with pytest.raises(doses.OutsideInterval):
        intervals.require_within("Moderna", NOW, NOW + timedelta(days=113))


def test_intervals_are_configuration() -> None:
    intervals = DoseIntervals.parse("pfizer=28-84, AstraZeneca=56")
    assert intervals.for_product("Pfizer-BioNTech") == Interval(28, 84)
    assert intervals.for_product("AstraZeneca") == Interval(56, None)
    assert intervals.for_product("Moderna") == Interval(28, 112)  # default kept
    assert intervals.window("AstraZeneca", NOW)[1] is None


@pytest.mark.parametrize("text", ["Vaccin X=21", "Pfizer=abc", "Pfizer=", "Pfizer=30-20",
                                  "Pfizer=-5"])
def test_bad_interval_configuration_is_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        DoseIntervals.parse(text)


# -- coupons -----------------------------------------------------------------------------
def test_coupons_are_short_stable_and_forgiving() -> None:
    appointment_id = UUID("12345678-1234-5678-1234-567812345678")
    coupon = doses.coupon_for(appointment_id)
    assert len(coupon) == 8 and coupon == doses.coupon_for(appointment_id)
    spaced = f"{coupon[:4].lower()}-{coupon[4:]}"
    assert doses.normalise_coupon(spaced) == coupon
    assert doses.normalise_coupon("oil0-0000") == "01100000"
    with pytest.raises(InvalidValue):
        doses.normalise_coupon("ABC")
    assert len({doses.coupon_for(uuid4()) for _ in range(2000)}) == 2000


# -- doses on appointments and the course ------------------------------------------------------
def booked() -> Appointment:
    return Appointment.book(uuid4(), uuid4(), uuid4(), NOW, NOW + timedelta(minutes=10), uuid4(),
                            uuid4(), "admin", product="Pfizer")


def test_an_appointment_records_its_dose_and_product() -> None:
    second, first = booked(), booked()
    second.record_dose(2, first.id)
    second.record_dose(2, first.id)  # the same again: no event
    second.correct_product("Moderna")
    assert (second.dose, second.first_dose_id, second.product) == (2, first.id, "Moderna")
    names = [type(e).__name__ for e in second.collect_events()]
    assert names == ["Booked", "DoseRecorded", "ProductCorrected"]
    assert booked().dose is None and booked().first_dose_id is None


@pytest.mark.parametrize(("dose", "first"), [(0, None), (1, "other"), (2, "self")])
def test_bad_doses_are_refused(dose: int, first: str | None) -> None:
    appointment = booked()
    first_id = {"other": uuid4(), "self": appointment.id, None: None}[first]
    with pytest.raises(InvalidValue):
        appointment.record_dose(dose, first_id)


def test_the_course_keeps_one_active_appointment_per_dose() -> None:
    course = doses.DoseCourse(patient_id=uuid4())
    a, b, c = uuid4(), uuid4(), uuid4()
    course.book(2, a, current_active=False)
    with pytest.raises(doses.DoseAlreadyBooked):
        course.book(2, b, current_active=True)
    course.book(2, b, current_active=False)  # ``a`` was cancelled meanwhile
    with pytest.raises(doses.Conflict):
        course.rebook(2, a, c)  # stale: the course names ``b`` now
    course.rebook(2, b, c)
    assert course.appointment_for(2) == c and course.appointment_for(1) is None
    assert course.id == doses.course_id(course.patient_id)


# -- batch invitations ------------------------------------------------------------------------
def test_at_most_100_per_batch() -> None:
    ids = [uuid4() for _ in range(MAX_PER_BATCH + 1)]
    with pytest.raises(TooManyInvitations) as refused:
        InvitationBatch.start(uuid4(), "advance_date", ids)
    assert refused.value.code == "too_many" and refused.value.details["selected"] == 101
    batch = InvitationBatch.start(uuid4(), "moved_or_cancelled", ids[:100])
    assert len(batch.appointment_ids) == 100


@pytest.mark.parametrize(("ids", "message"), [([], "advance_date"), (None, "move_it")])
def test_a_batch_needs_appointments_and_a_known_message(ids: list[UUID] | None,
                                                        message: str) -> None:
    with pytest.raises(InvalidValue):
        InvitationBatch.start(uuid4(), message, [uuid4()] if ids is None else ids)


def test_each_appointment_of_a_batch_gets_one_outcome() -> None:
    a, b = uuid4(), uuid4()
    batch = InvitationBatch.start(uuid4(), "advance_date", [a, b, a])
    assert batch.appointment_ids == [a, b]
    batch.invite(a, "email", uuid4())
    with pytest.raises(AlreadyInvited):
        batch.pass_over(a, ["email_or_sms"])
    with pytest.raises(InvalidValue):
        batch.invite(uuid4(), "email", uuid4())
    with pytest.raises(InvalidValue):
        batch.invite(b, "phone", uuid4())
    assert not batch.complete
    batch.pass_over(b, ["email_or_sms"])
    assert batch.complete and batch.not_invited == {str(b): ["email_or_sms"]}


@pytest.mark.parametrize(("email", "other", "cell", "expected"), [
    ("a@x.ca", "b@x.ca", "5145550001", ("email", "a@x.ca")),
    (None, "b@x.ca", "5145550001", ("email", "b@x.ca")),
    (" ", None, "5145550001", ("sms", "5145550001")),
    (None, None, None, None),
])
def test_email_is_preferred_over_sms(email: str | None, other: str | None, cell: str | None,
                                     expected: tuple[str, str] | None) -> None:
    assert invitation_channel(email, other, cell) == expected


# -- one-time codes -------------------------------------------------------------------------------
def request(code: str = "123456", ttl: int = 10) -> CodeVerification:
    return CodeVerification.request(uuid4(), uuid4(), uuid4(), "sms", code, b"saltsalt", NOW,
                                    ttl_minutes=ttl, iterations=10)


def test_the_code_is_kept_only_as_a_hash() -> None:
    verification = request("123456")
    stored = repr([e.__dict__ for e in verification.collect_events()])
    assert "123456" not in stored and verification.code_hash


def test_right_code_opens_a_session_for_one_rebooking() -> None:
    verification = request()
    assert verification.try_code(" 123456 ", NOW, "tok") is Outcome.VERIFIED
    verification.authorize("tok", NOW)
    with pytest.raises(TokenRefused):
        verification.authorize("other", NOW)
    with pytest.raises(TokenRefused):
        verification.authorize("tok", NOW + timedelta(minutes=31))
    rebooked = uuid4()
    verification.complete(rebooked, "tok", NOW)
    assert verification.used_by == rebooked
    with pytest.raises(TokenRefused):
        verification.complete(uuid4(), "tok", NOW)
    assert verification.try_code("123456", NOW, "again") is Outcome.USED


def test_five_wrong_codes_lock_the_request() -> None:
    verification = request()
    outcomes = [verification.try_code("000000", NOW, "t") for _ in range(5)]
    assert outcomes == [Outcome.WRONG] * 4 + [Outcome.LOCKED]
    assert verification.try_code("123456", NOW, "t") is Outcome.LOCKED
    refusal = verification.refusal(Outcome.LOCKED)
    assert refusal is not None and refusal.code == "code_locked"
    with pytest.raises(TokenRefused):
        verification.authorize("t", NOW)


def test_an_expired_code_is_refused_without_counting_a_try() -> None:
    verification = request(ttl=5)
    assert verification.try_code("123456", NOW + timedelta(minutes=5), "t") is Outcome.EXPIRED
    assert verification.wrong_tries == 0 and not verification.verified


def test_wrong_code_says_how_many_tries_are_left() -> None:
    verification = request()
    verification.try_code("999999", NOW, "t")
    refusal = verification.refusal(Outcome.WRONG)
    assert refusal is not None and refusal.details["tries_left"] == 4


@pytest.mark.parametrize("kwargs", [dict(channel="phone"), dict(code=""), dict(salt=b"short"),
                                    dict(ttl_minutes=0)])
def test_bad_requests_are_refused(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = dict(patient_id=uuid4(), first_dose_id=None, second_dose_id=None,
                                   channel="email", code="1", salt=b"saltsalt", now=NOW)
    with pytest.raises(InvalidValue):
        CodeVerification.request(**{**args, **kwargs})  # type: ignore[arg-type]  # test data


# -- quotas -----------------------------------------------------------------------------------------
SECRET = b"k" * 16 + b"e" * 16


def test_quota_refuses_past_the_limit_and_frees_with_time() -> None:
    quota = RequestQuota.open(SECRET, "nam", "ROBC80621101")
    assert quota.id == quota_id(SECRET, "nam", "robc80621101 ")
    window = timedelta(hours=1)
    for minute in range(3):
        quota.take(NOW + timedelta(minutes=minute), 3, window)
    with pytest.raises(TooManyRequests) as refused:
        quota.take(NOW + timedelta(minutes=10), 3, window)
    assert refused.value.details["retry_after_seconds"] == 50 * 60 + 1
    quota.take(NOW + timedelta(minutes=61), 3, window)
    assert "ROBC" not in repr([e.__dict__ for e in quota.collect_events()])


def test_quota_ids_are_keyed_and_hold_no_reversible_digest() -> None:
    """Without the secret a quota's id and events say nothing of the NAM (the unkeyed sha256
    they held before could be reversed by trying every NAM)."""
    quota = RequestQuota.open(SECRET, "nam", "ROBC80621101")
    assert quota.id != quota_id(b"another secret of 32 bytes......", "nam", "ROBC80621101")
    unkeyed = hashlib.sha256(b"hub:self-service:robc80621101").hexdigest()
    assert quota.key != unkeyed and "ROBC" not in quota.key.upper()
    assert quota_id(SECRET, "nam", "ROBC80621101") != quota_id(SECRET, "address", "ROBC80621101")


def test_with_the_servers_key_the_stored_hash_is_keyed() -> None:
    """Without the key (never stored), the log holds nothing to guess a code from offline."""
    keyed = CodeVerification.request(uuid4(), None, None, "sms", "123456", b"saltsalt", NOW,
                                     iterations=10, key=b"server-key")
    plain = CodeVerification.request(uuid4(), None, None, "sms", "123456", b"saltsalt", NOW,
                                     iterations=10)
    assert keyed.code_hash != plain.code_hash
    assert keyed.try_code("123456", NOW, "tok") is Outcome.WRONG  # the key is needed
    assert keyed.try_code("123456", NOW, "tok", b"server-key") is Outcome.VERIFIED
    with pytest.raises(TokenRefused):
        keyed.authorize("tok", NOW)
    keyed.authorize("tok", NOW, b"server-key")

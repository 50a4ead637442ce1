"""Eligibility tables (V2, seed 000 §4, §6, §7): one row per criterion and per exception.

Each row starts from an eligible situation and breaks exactly one thing; the result must
name exactly that criterion. Breaking everything names every criterion, never only the first.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from aggregates import eligibility as el
from aggregates.doses import DoseIntervals
from aggregates.eligibility import CitizenFacts, DoseFacts

NOW = datetime(2021, 6, 16, 12, 0, tzinfo=UTC)
KNOWN = DoseIntervals().knows
FIRST = DoseFacts(start=NOW - timedelta(days=30), dose=1, status="present", product="Pfizer")
SECOND = DoseFacts(start=NOW + timedelta(days=40), dose=2, product="Pfizer-BioNTech")
CITIZEN = CitizenFacts(nam="ROBC80621101", birth_date="1980-12-11", email="c@example.ca",
                       cell="4163198365")


def invitation(second: DoseFacts = SECOND, first: DoseFacts | None = FIRST,
               citizen: CitizenFacts = CITIZEN) -> el.Eligibility:
    return el.for_invitation(second, first, citizen, NOW, KNOWN)


def self_service(first: DoseFacts | None = FIRST, second: DoseFacts | None = SECOND,
                 citizen: CitizenFacts = CITIZEN,
                 past: tuple[DoseFacts, ...] = ()) -> el.Eligibility:
    return el.for_self_service(first, second, citizen, NOW, KNOWN, past)


# -- §4: invitation --------------------------------------------------------------------
INVITATION_ROWS = [
    ("2nd dose in the past", dict(second=replace(SECOND, start=NOW - timedelta(hours=1))),
     "second_dose_in_future"),
    ("not a 2nd dose (a 1st dose selected)", dict(second=replace(SECOND, dose=1)),
     "second_dose_in_future"),
    ("no dose recorded on the appointment", dict(second=replace(SECOND, dose=None)),
     "second_dose_in_future"),
    ("2nd dose cancelled", dict(second=replace(SECOND, active=False)), "not_cancelled_nor_present"),
    ("2nd dose marked present", dict(second=replace(SECOND, status="present")),
     "not_cancelled_nor_present"),
    ("absent at the 1st dose", dict(first=replace(FIRST, status="absent")), "present_at_first_dose"),
    ("1st dose status undefined", dict(first=replace(FIRST, status="undefined")),
     "present_at_first_dose"),
    ("no 1st dose in the hub", dict(first=None), "present_at_first_dose"),
    ("no product on either dose",
     dict(first=replace(FIRST, product=None), second=replace(SECOND, product=None)),
     "product_identified"),
    ("unknown product on both doses",
     dict(first=replace(FIRST, product="Vaccin X"), second=replace(SECOND, product="")),
     "product_identified"),
    ("no NAM", dict(citizen=replace(CITIZEN, nam=None)), "nam_and_birth_date"),
    ("no birth date", dict(citizen=replace(CITIZEN, birth_date=None)), "nam_and_birth_date"),
    ("neither e-mail nor cell", dict(citizen=replace(CITIZEN, email=None, cell="  ")),
     "email_or_sms"),
    ("location inactive", dict(second=replace(SECOND, location_active=False)), "location_active"),
]


def test_the_baseline_is_eligible_for_an_invitation() -> None:
    assert invitation().eligible


@pytest.mark.parametrize(("case", "change", "code"), INVITATION_ROWS,
                         ids=[r[0] for r in INVITATION_ROWS])
def test_invitation_criterion(case: str, change: dict[str, object], code: str) -> None:
    result = invitation(**change)  # type: ignore[arg-type]  # rows hold the right types
    assert result.codes == [code], case
    assert not result.eligible


def test_invitation_covers_every_criterion_of_the_seed() -> None:
    assert {row[2] for row in INVITATION_ROWS} == {c.code for c in el.INVITATION_CRITERIA}
    assert len(el.INVITATION_CRITERIA) == 7  # seed 000 §4 lists seven


def test_invitation_product_is_known_from_either_dose() -> None:
    assert invitation(first=replace(FIRST, product=None)).eligible
    assert invitation(second=replace(SECOND, product=None)).eligible


def test_invitation_names_every_failed_criterion_in_the_seed_order() -> None:
    result = invitation(
        second=replace(SECOND, start=NOW - timedelta(days=1), status="present", product=None,
                       location_active=False),
        first=None,
        citizen=CitizenFacts(),
    )
    assert result.failed == el.INVITATION_CRITERIA


# -- §7: self-service, both variants ------------------------------------------------------
REBOOK_ROWS = [
    ("1st dose in the future", dict(first=replace(FIRST, start=NOW + timedelta(days=1))),
     ["first_dose_in_past"]),
    ("1st dose cancelled", dict(first=replace(FIRST, active=False)), ["first_dose_in_past"]),
    ("no product", dict(first=replace(FIRST, product=None), second=replace(SECOND, product=None)),
     ["product_identified"]),
    ("no NAM", dict(citizen=replace(CITIZEN, nam="")), ["nam_recorded"]),
    ("no birth date", dict(citizen=replace(CITIZEN, birth_date=None)), ["birth_date_recorded"]),
    ("no e-mail nor cell for the code", dict(citizen=replace(CITIZEN, email=None, cell=None)),
     ["email_or_sms_for_code"]),
    ("1st dose absent", dict(first=replace(FIRST, status="absent")),
     ["first_dose_present_or_undefined"]),
    ("location inactive", dict(first=replace(FIRST, location_active=False)), ["location_active"]),
    ("2nd dose already given (past, present)",
     dict(second=replace(SECOND, start=NOW - timedelta(days=1), status="present")),
     ["no_second_dose_given"]),
    ("another past 2nd dose not marked absent",
     dict(past=(replace(SECOND, start=NOW - timedelta(days=2)),)), ["no_second_dose_given"]),
    ("no 1st dose recorded", dict(first=None),
     ["first_dose_in_past", "first_dose_present_or_undefined", "location_active"]),
]


def test_the_baseline_may_move_and_may_book() -> None:
    assert self_service().eligible
    assert self_service(second=None).eligible
    assert self_service(first=replace(FIRST, status="undefined")).eligible


@pytest.mark.parametrize(("case", "change", "codes"), REBOOK_ROWS, ids=[r[0] for r in REBOOK_ROWS])
def test_rebook_criterion(case: str, change: dict[str, object], codes: list[str]) -> None:
    result = self_service(**change)  # type: ignore[arg-type]  # rows hold the right types
    assert result.codes == codes, case


FIRST_BOOKING_ROWS = [r for r in REBOOK_ROWS if "no_second_dose_given" not in r[2]]


@pytest.mark.parametrize(("case", "change", "codes"), FIRST_BOOKING_ROWS,
                         ids=[r[0] for r in FIRST_BOOKING_ROWS])
def test_first_booking_criterion(case: str, change: dict[str, object], codes: list[str]) -> None:
    change = {**change, "second": None}
    if case == "no product":
        change["first"] = replace(FIRST, product=None)
    if case == "no 1st dose recorded":  # and no 2nd dose: no product is known either
        codes = [codes[0], "product_identified", *codes[1:]]
    result = self_service(**change)  # type: ignore[arg-type]  # rows hold the right types
    assert result.codes == codes, case


def test_self_service_rows_cover_both_lists_of_the_seed() -> None:
    codes = {c for row in REBOOK_ROWS for c in row[2]}
    assert codes == {c.code for c in el.REBOOK_CRITERIA}
    assert len(el.REBOOK_CRITERIA) == 8 and len(el.FIRST_BOOKING_CRITERIA) == 7


def test_a_cancelled_2nd_dose_makes_it_a_first_booking() -> None:
    """Only a 1st dose stands: the 2nd-dose check does not apply (§7, second list)."""
    past_cancelled = replace(SECOND, start=NOW - timedelta(days=1), active=False)
    assert self_service(second=past_cancelled).eligible


def test_self_service_names_every_failed_criterion() -> None:
    result = self_service(
        first=replace(FIRST, start=NOW + timedelta(days=1), status="absent", product=None,
                      location_active=False),
        second=replace(SECOND, start=NOW - timedelta(days=1), product=None),
        citizen=CitizenFacts(),
    )
    assert result.failed == el.REBOOK_CRITERIA


def test_every_criterion_speaks_french_and_english() -> None:
    for criterion in {*el.INVITATION_CRITERIA, *el.REBOOK_CRITERIA}:
        assert criterion.fr and criterion.en and criterion.fr != criterion.en
        assert criterion.label("en") == criterion.en and criterion.label("fr") == criterion.fr
        assert criterion.as_reason() == {"code": criterion.code, "fr": criterion.fr,
                                         "en": criterion.en}


# -- §6: exception cases, each its own answer ------------------------------------------------
def test_first_dose_not_recorded_is_its_own_answer() -> None:
    refusal = el.refusal(self_service(first=None), first_recorded=False)
    assert isinstance(refusal, el.FirstDoseNotRecorded)
    assert refusal.code == "first_dose_not_recorded"


def test_product_not_identified_is_its_own_answer() -> None:
    result = self_service(first=replace(FIRST, product=None), second=replace(SECOND, product=None))
    refusal = el.refusal(result, first_recorded=True)
    assert isinstance(refusal, el.ProductNotIdentified)
    assert refusal.details["reasons"] == [el.PRODUCT_IDENTIFIED.as_reason()]


def test_other_failures_are_not_eligible_with_their_reasons() -> None:
    refusal = el.refusal(self_service(first=replace(FIRST, status="absent")), first_recorded=True)
    assert isinstance(refusal, el.NotEligible)
    assert el.refusal(self_service(), first_recorded=True) is None


@pytest.mark.parametrize(("birth", "ok"), [
    (date(2009, 6, 16), True),   # 12 today
    (date(2009, 6, 17), False),  # 12 tomorrow
    ("1950-01-01", True),
    (None, False),
])
def test_target_group(birth: date | str | None, ok: bool) -> None:
    group = el.TargetGroup(min_age_years=12)
    if ok:
        group.require_member(birth, NOW.date())
    else:
        with pytest.raises(el.NotInTargetGroup) as refused:
            group.require_member(birth, NOW.date())
        assert refused.value.code == "not_in_target_group"


def test_target_group_with_a_ceiling() -> None:
    with pytest.raises(el.NotInTargetGroup):
        el.TargetGroup(min_age_years=18, max_age_years=59).require_member("1950-01-01", NOW.date())


EXCEPTIONS = [el.NotInTargetGroup, el.IdentificationFailed, el.ProductNotIdentified,
              el.FirstDoseNotRecorded, el.ProductDeclaredWrong]


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=[e.code for e in EXCEPTIONS])
def test_each_exception_case_has_its_own_code_and_tells_where_to_turn(
    exc: type[el.SelfServiceRefused],
) -> None:
    error = exc()
    assert error.code not in {"self_service_refused", "not_eligible"}
    assert "1 877 644-4545" in error.message and "Services Québec" in error.message
    assert "1 877 644-4545" in str(error.details["message_fr"])
    assert error.message.startswith(exc.en) and str(error.details["message_fr"]).startswith(exc.fr)


def test_exception_codes_are_distinct() -> None:
    assert len({e.code for e in EXCEPTIONS}) == len(EXCEPTIONS)

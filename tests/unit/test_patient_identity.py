"""Patient identity rules in the domain (CONTRACT "Patients", SPEC T1).

NAM vs birth date, corrections of the record, identifiers added by an EMR, and the
appointment that keeps what its booking carried.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from aggregates.appointment import Appointment
from aggregates.errors import InvalidValue
from aggregates.patient import (
    IdentifierInUse,
    Patient,
    PatientClinics,
    PatientIdentifier,
    clinics_index_id,
    identifier,
)
from aggregates.pseudonyms import digest_index_id, identifier_digest
from aggregates.values import NamBirthDateMismatch, require_nam_matches_birth_date

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(("nam", "birth"), [
    ("TREM85010112", "1985-01-01"),   # YYMMDD
    ("TREM85510112", "1985-01-01"),   # women: month + 50
    ("GAGN12123199", "2012-12-31"),
    ("GAGN25062012", "1925-06-20"),   # only the last two digits of the year are in the NAM
])
def test_birth_date_matching_the_nam_is_accepted(nam: str, birth: str) -> None:
    require_nam_matches_birth_date(nam, birth)
    require_nam_matches_birth_date(nam, date.fromisoformat(birth))


@pytest.mark.parametrize(("nam", "birth"), [
    ("TREM85010112", "1986-01-01"),   # year
    ("TREM85010112", "1985-02-01"),   # month
    ("TREM85010112", "1985-01-02"),   # day
    ("TREM85510112", "1985-05-01"),   # month 51 is January, not May
])
def test_birth_date_disagreeing_with_the_nam_is_refused(nam: str, birth: str) -> None:
    with pytest.raises(NamBirthDateMismatch) as refused:
        require_nam_matches_birth_date(nam, birth)
    assert refused.value.code == "nam_birth_date_mismatch"
    assert refused.value.details == {"field": "birth_date"}
    assert isinstance(refused.value, InvalidValue)


def _patient(**details: object) -> Patient:
    fields: dict[str, object] = {
        "first_name": "Marie", "last_name": "Tremblay", "birth_date": "1985-01-01",
        "language": "fr", "email": "marie@example.ca", "cell": "514-555-0101"}
    fields.update(details)
    return Patient.register([identifier("NAM", "TREM85010112")], fields, TODAY)


def test_registration_refuses_a_mismatched_birth_date() -> None:
    with pytest.raises(NamBirthDateMismatch):
        _patient(birth_date="1990-07-14")
    assert _patient().birth_date == "1985-01-01"


def test_correction_changes_only_what_differs_and_says_what() -> None:
    patient = _patient()
    patient.collect_events()
    changed = patient.correct({"first_name": "Marie", "email": "m.tremblay@example.ca",
                               "cell": None}, TODAY)
    assert changed == ["cell", "email"]
    assert patient.email == "m.tremblay@example.ca" and patient.cell is None
    (corrected,) = patient.collect_events()
    assert type(corrected).__name__ == "Corrected"
    assert vars(corrected)["changes"] == {"email": "m.tremblay@example.ca", "cell": None}
    assert patient.correct({"first_name": "Marie"}, TODAY) == []
    assert patient.collect_events() == []


def test_correction_of_the_nam_keeps_it_in_agreement_with_the_birth_date() -> None:
    patient = _patient()
    with pytest.raises(NamBirthDateMismatch):
        patient.correct({"nam": "TREM90071412"}, TODAY)
    assert patient.correct({"nam": "trem 9007 1412", "birth_date": "1990-07-14"}, TODAY) == [
        "birth_date", "nam"]
    assert patient.nam == "TREM90071412"
    assert [i for i in patient.identifiers if i["system"] == "NAM"] == [
        {"system": "NAM", "value": "TREM90071412"}]


@pytest.mark.parametrize("changes", [
    {"first_name": ""}, {"birth_date": None}, {"nam": None}, {"shoe_size": 42},
    {"birth_date": "2999-01-01"}, {"language": "de"}, {"nam": "1234"},
])
def test_bad_corrections_are_refused_and_change_nothing(changes: dict[str, object]) -> None:
    patient = _patient()
    patient.collect_events()
    before = patient.record()
    with pytest.raises(InvalidValue):
        patient.correct(changes, TODAY)
    assert patient.record() == before and patient.collect_events() == []


def test_an_emr_identifier_is_added_but_never_a_second_nam() -> None:
    patient = _patient()
    emr = identifier("OMNIMED-MRN", "12345")
    assert patient.add_identifiers([identifier("NAM", "TREM85010112"), emr]) == [emr]
    assert patient.add_identifiers([emr]) == []
    with pytest.raises(IdentifierInUse):
        patient.add_identifiers([identifier("NAM", "GAGN12123199")])


def test_a_nam_is_added_to_a_patient_known_only_by_an_emr_id_when_it_agrees() -> None:
    patient = Patient.register([identifier("EMR", "7")], {
        "first_name": "A", "last_name": "B", "birth_date": "1985-01-01", "language": "fr"}, TODAY)
    with pytest.raises(NamBirthDateMismatch):
        patient.add_identifiers([identifier("NAM", "GAGN12123199")])
    patient.add_identifiers([identifier("NAM", "TREM85010112")])
    assert patient.nam == "TREM85010112"


def test_an_identifier_index_is_released_and_claimed_never_stolen() -> None:
    owner, other = uuid4(), uuid4()
    digest = identifier_digest(b"k" * 32, "NAM", "TREM85010112")  # keyed: the NAM not stored
    index = PatientIdentifier("NAM", digest, owner)
    assert index.id == digest_index_id(digest) and "TREM85010112" not in repr(vars(index))
    with pytest.raises(IdentifierInUse):
        index.claim(other)
    index.claim(owner)  # already ours: nothing to record
    index.release()
    index.claim(other)
    assert index.patient_id == other
    assert [type(e).__name__ for e in index.collect_events()] == [
        "IdentifierIndexed", "Released", "Claimed"]


def _appointment(**given: object) -> Appointment:
    start = datetime(2026, 12, 1, 14, tzinfo=UTC)
    return Appointment.book(
        clinic_id=uuid4(), slot_id=uuid4(), professional_id=uuid4(), start=start, end=start,
        service_id=uuid4(), patient_id=uuid4(), source="portal", as_given=given,
        booked_by="tok_portal")


RECORD = {"email": "marie@example.ca", "other_email": None, "cell": "514-555-0101",
          "phone": None, "other_cell": None, "other_phone": None}


def test_messages_go_to_the_contacts_the_booking_carried() -> None:
    appointment = _appointment(first_name="Mallory", last_name="Attacker",
                               email="mallory@example.net", nam="IGNORED", phone=None)
    assert appointment.as_given == {"first_name": "Mallory", "last_name": "Attacker",
                                    "email": "mallory@example.net"}
    assert appointment.booked_by == "tok_portal"
    contacts = appointment.message_contacts(RECORD)
    assert contacts["email"] == "mallory@example.net" and contacts["cell"] is None


def test_a_booking_without_contacts_uses_the_patient_record() -> None:
    appointment = _appointment(first_name="Marie", last_name="Tremblay")
    assert appointment.message_contacts(RECORD) == RECORD
    assert appointment.account_id is None


def test_the_clinics_of_a_patient_are_indexed_once_each() -> None:
    patient_id, here, there = uuid4(), uuid4(), uuid4()
    index = PatientClinics.start(patient_id, here)
    assert index.id == clinics_index_id(patient_id)
    assert not index.add(here) and index.add(there)
    assert index.any_of(frozenset({there})) and not index.any_of(frozenset({uuid4()}))
    assert [type(e).__name__ for e in index.collect_events()] == ["Started", "ClinicAdded"]

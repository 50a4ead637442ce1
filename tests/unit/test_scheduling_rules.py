"""Each scheduling rule (S1–S5) raises its named exception and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from aggregates.appointment import Appointment, AppointmentClosed
from aggregates.clinic import Clinic, ClinicInactive
from aggregates.errors import Conflict, InvalidValue, NotFound
from aggregates.patient import Patient
from aggregates.service import ServiceNotOnline
from aggregates.slot import ProductNotAssigned, ServiceNotAccepted, Slot, SlotFull, SlotLocked
from aggregates.values import NamBirthDateMismatch, mask_nam, normalise_nam
from hub.actor import Actor, acting_as
from hub.scheduling.service import Scheduling
from projections.eventlog import describe
from tests.support.scheduling import ADDRESS, Setup, future, patient


@pytest.fixture
def s(memory_app: Scheduling) -> Setup:
    return Setup(memory_app, capacity=2)


@contextmanager
def unchanged(app: Scheduling) -> Iterator[None]:
    """The block must leave the event log as it was."""
    head = app.head()
    try:
        yield
    finally:
        assert app.head() == head, "a refused command wrote events"


def test_capacity_is_never_exceeded(s: Setup) -> None:
    s.app.book(s.slot, s.consult, patient(1), "admin")
    s.app.book(s.slot, s.consult, patient(2), "emr")
    with unchanged(s.app), pytest.raises(SlotFull):
        s.app.book(s.slot, s.consult, patient(3), "admin")


@pytest.mark.parametrize("source", ["portal", "citizen"])
def test_locked_slot_refuses_online_sources(memory_app: Scheduling, source: str) -> None:
    s = Setup(memory_app, locked=True)
    with unchanged(s.app), pytest.raises(SlotLocked):
        s.app.book(s.slot, s.consult, patient(1), source)


@pytest.mark.parametrize("source", ["admin", "emr"])
def test_locked_slot_accepts_staff_sources(memory_app: Scheduling, source: str) -> None:
    s = Setup(memory_app, locked=True)
    s.app.book(s.slot, s.consult, patient(1), source)
    assert s.app.load(Slot, s.slot, "slot").remaining() == 9


def test_unlock_opens_the_slot_online(memory_app: Scheduling) -> None:
    s = Setup(memory_app, locked=True)
    s.app.unlock_slot(s.slot)
    s.app.book(s.slot, s.consult, patient(1), "portal")
    s.app.lock_slot(s.slot)
    with pytest.raises(SlotLocked):
        s.app.book(s.slot, s.consult, patient(2), "citizen")


def test_service_not_online_refuses_portal_but_not_admin(memory_app: Scheduling) -> None:
    s = Setup(memory_app, online=False)
    with unchanged(s.app), pytest.raises(ServiceNotOnline):
        s.app.book(s.slot, s.consult, patient(1), "portal")
    s.app.book(s.slot, s.consult, patient(1), "admin")


def test_service_must_be_accepted_by_the_slot(s: Setup) -> None:
    other = s.app.add_service(s.clinic, "Prélèvement", 10, "in_person", True, 0).id
    with unchanged(s.app), pytest.raises(ServiceNotAccepted):
        s.app.book(s.slot, other, patient(1), "admin")


def test_product_must_be_assigned_to_the_slot(s: Setup) -> None:
    bare = s.open_slot(products=[])
    with unchanged(s.app), pytest.raises(ProductNotAssigned):
        s.app.book(bare, s.vaccine, patient(1), "admin")
    s.app.assign_product(bare, "Pfizer")
    s.app.book(bare, s.vaccine, patient(1), "admin")


def test_inactive_clinic_refuses_online_bookings(s: Setup) -> None:
    clinic = s.app.load(Clinic, s.clinic, "clinic")
    clinic.deactivate()
    s.app.commit(clinic)
    with unchanged(s.app), pytest.raises(ClinicInactive):
        s.app.book(s.slot, s.consult, patient(1), "citizen")


def test_service_from_another_clinic_is_refused(s: Setup) -> None:
    other = Setup(s.app)
    with unchanged(s.app), pytest.raises(InvalidValue):
        s.app.book(s.slot, other.consult, patient(1), "admin")


def test_unknown_ids_are_not_found(s: Setup) -> None:
    with unchanged(s.app), pytest.raises(NotFound):
        s.app.book(uuid4(), s.consult, patient(1), "admin")
    with unchanged(s.app), pytest.raises(NotFound):
        s.app.book(s.clinic, s.consult, patient(1), "admin")  # a clinic is not a slot


@pytest.mark.parametrize(("start_h", "end_h", "capacity"), [(2, 1, 1), (1, 1, 1), (1, 2, 0)])
def test_slot_needs_end_after_start_and_a_place(
    s: Setup, start_h: int, end_h: int, capacity: int
) -> None:
    base = future()
    with unchanged(s.app), pytest.raises(InvalidValue):
        s.app.open_slot(s.clinic, s.gp, base + timedelta(hours=start_h),
                        base + timedelta(hours=end_h), capacity, [s.consult])


def test_slot_times_must_be_timezone_aware(s: Setup) -> None:
    naive = datetime(2030, 1, 1, 9)
    with unchanged(s.app), pytest.raises(InvalidValue, match="timezone-aware"):
        s.app.open_slot(s.clinic, s.gp, naive, naive + timedelta(hours=1), 1, [s.consult])


@pytest.mark.parametrize(
    "nam", ["TREM8501011", "TRE850101123", "1REM85010112", "TREM85130112", "TREM85014012"]
)
def test_bad_nam_is_refused(s: Setup, nam: str) -> None:
    with unchanged(s.app), pytest.raises(InvalidValue):
        s.app.book(s.slot, s.consult, patient(1, nam=nam), "admin")


def test_nam_is_normalised_and_masked() -> None:
    assert normalise_nam(" trem 8551 0112 ") == "TREM85510112"
    assert mask_nam("TREM85510112") == "********0112"


@pytest.mark.parametrize("days", [1, 0])
def test_birth_date_must_be_in_the_past(s: Setup, days: int) -> None:
    when = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    with unchanged(s.app), pytest.raises(InvalidValue, match="past"):
        s.app.book(s.slot, s.consult, patient(1, birth_date=when), "admin")


def test_impossible_birth_date_is_refused(s: Setup) -> None:
    with unchanged(s.app), pytest.raises(InvalidValue, match="YYYY-MM-DD"):
        s.app.book(s.slot, s.consult, patient(1, birth_date="1985-02-30"), "admin")


def test_a_later_booking_never_changes_the_patient_and_keeps_what_it_carried(s: Setup) -> None:
    first = s.app.book(s.slot, s.consult, patient(1), "admin")
    later = s.app.book(s.open_slot(), s.consult,
                       patient(1, first_name="Mallory", cell="+15145550000", email=None), "portal")
    appointment = s.app.load(Appointment, first.id, "appointment")
    person = s.app.load(Patient, appointment.patient_id, "patient")
    assert person.version == 1 and person.first_name == "Pat"
    assert person.cell is None and person.email == "p1@example.ca"
    assert s.app.patients.find_by_nam(str(patient(1)["nam"])).id == person.id
    second = s.app.load(Appointment, later.id, "appointment")
    assert second.patient_id == person.id and second.as_given["first_name"] == "Mallory"
    assert second.message_contacts(person.contacts())["cell"] == "+15145550000"
    assert s.app.patients.clinics(person.id) == [s.clinic]


def test_a_birth_date_disagreeing_with_the_nam_is_refused_even_for_a_known_patient(
        s: Setup) -> None:
    s.app.book(s.slot, s.consult, patient(1), "admin")
    slot = s.open_slot()
    for who in (patient(1, birth_date="1990-07-14"), patient(2, birth_date="1985-01-02")):
        with unchanged(s.app), pytest.raises(NamBirthDateMismatch):
            s.app.book(slot, s.consult, who, "portal")


def test_patient_without_nam_is_matched_by_its_authority_identifier(s: Setup) -> None:
    emr_id = {"system": "OMNIMED-MRN", "value": "12345"}
    base = {k: v for k, v in patient(1).items() if k != "nam"}
    first = s.app.book(s.slot, s.consult, {**base, "identifiers": [emr_id]}, "emr")
    later = s.app.book(s.open_slot(), s.consult, {**patient(1), "identifiers": [emr_id]}, "emr")
    by_nam = s.app.book(s.open_slot(), s.consult, patient(1), "admin")
    ids = {s.app.load(Appointment, w.id, "appointment").patient_id for w in (first, later, by_nam)}
    assert len(ids) == 1


def test_reschedule_moves_the_appointment_in_one_step(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    target = s.open_slot(capacity=1)
    s.app.reschedule(booked.id, target)
    assert not s.app.load(Slot, s.slot, "slot").holds(booked.id)
    assert s.app.load(Slot, target, "slot").holds(booked.id)
    assert s.app.load(Appointment, booked.id, "appointment").slot_id == target


def test_reschedule_into_a_full_slot_leaves_everything_in_place(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    full = s.open_slot(capacity=1)
    s.app.book(full, s.consult, patient(2), "admin")
    with unchanged(s.app), pytest.raises(SlotFull):
        s.app.reschedule(booked.id, full)
    assert s.app.load(Slot, s.slot, "slot").holds(booked.id)


def test_reschedule_to_the_same_slot_is_a_conflict(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    with unchanged(s.app), pytest.raises(Conflict):
        s.app.reschedule(booked.id, s.slot)


def test_change_service_keeps_the_slot(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    phone = s.app.add_service(s.clinic, "Téléphone", 15, "phone", True, 24).id
    s.app.change_service(booked.id, phone)
    moved = s.app.load(Appointment, booked.id, "appointment")
    assert moved.service_id == phone and moved.slot_id == s.slot


def test_cancelled_appointment_cannot_change(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    s.app.cancel(booked.id, "malade")
    elsewhere = s.open_slot()
    for command in (lambda: s.app.cancel(booked.id), lambda: s.app.set_status(booked.id, "present"),
                    lambda: s.app.reschedule(booked.id, elsewhere)):
        with unchanged(s.app), pytest.raises(AppointmentClosed):
            command()


def test_delete_returns_the_place_once(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    s.app.delete(booked.id)
    assert s.app.load(Slot, s.slot, "slot").remaining() == 2
    with unchanged(s.app), pytest.raises(AppointmentClosed):
        s.app.delete(booked.id)


def test_status_values_are_checked(s: Setup) -> None:
    booked = s.app.book(s.slot, s.consult, patient(1), "admin")
    s.app.set_status(booked.id, "present")
    with unchanged(s.app), pytest.raises(InvalidValue):
        s.app.set_status(booked.id, "late")
    assert s.app.load(Appointment, booked.id, "appointment").status == "present"


@pytest.mark.parametrize("kind", ["public_health", "enterprise"])
def test_s4_public_health_associates_the_freed_place_with_the_product(
    memory_app: Scheduling, kind: str
) -> None:
    s = Setup(memory_app, application_type=kind)
    moderna = s.app.add_service(s.clinic, "Moderna", 10, "in_person", True, 12, "Moderna").id
    start = future()
    slot = s.app.open_slot(s.clinic, s.gp, start, start + timedelta(minutes=30), 1,
                           [moderna, s.consult], ["Moderna"]).id
    booked = s.app.book(slot, moderna, patient(1), "admin")
    s.app.cancel(booked.id)
    after = s.app.load(Slot, slot, "slot")
    assert after.products == ["Moderna"] and after.remaining(online=True) == 1 and after.held == 0


def test_s4_public_health_associates_the_product_with_a_slot_that_lacked_it() -> None:
    """An appointment whose service changed to a product the slot lacks: on cancellation the
    freed place is associated with that product (the slot gains it)."""
    start = future()
    service_id = uuid4()
    slot = Slot.open(uuid4(), uuid4(), start, start + timedelta(minutes=30), 1, [service_id],
                     ["Moderna"])
    appointment_id = uuid4()
    slot.reserve(appointment_id, service_id, None, online=False)
    slot.release(appointment_id, "Pfizer", "public_health")
    assert slot.products == ["Moderna", "Pfizer"] and slot.remaining(online=True) == 1


def test_s4_pharmacy_keeps_the_place_offline_until_a_product_is_assigned(
    memory_app: Scheduling,
) -> None:
    s = Setup(memory_app, application_type="pharmacy", capacity=1)
    booked = s.app.book(s.slot, s.vaccine, patient(1), "portal")
    s.app.cancel(booked.id)
    slot = s.app.load(Slot, s.slot, "slot")
    assert slot.remaining(online=True) == 0 and slot.remaining() == 1
    with pytest.raises(SlotFull):
        s.app.book(s.slot, s.consult, patient(2), "portal")
    s.app.assign_product(s.slot, "Pfizer")
    assert s.app.load(Slot, s.slot, "slot").remaining(online=True) == 1
    s.app.book(s.slot, s.vaccine, patient(2), "portal")


def test_s4_pharmacy_held_place_is_bookable_by_staff(memory_app: Scheduling) -> None:
    s = Setup(memory_app, application_type="pharmacy", capacity=1)
    s.app.cancel(s.app.book(s.slot, s.vaccine, patient(1), "admin").id)
    s.app.book(s.slot, s.consult, patient(2), "admin")
    slot = s.app.load(Slot, s.slot, "slot")
    assert slot.held == 0 and slot.remaining() == 0


def test_s4_clinic_returns_the_place_as_it_was(memory_app: Scheduling) -> None:
    s = Setup(memory_app, application_type="clinic", capacity=1)
    s.app.cancel(s.app.book(s.slot, s.vaccine, patient(1), "portal").id)
    slot = s.app.load(Slot, s.slot, "slot")
    assert slot.remaining(online=True) == 1 and slot.held == 0


def test_commands_return_the_log_position_they_wrote(s: Setup) -> None:
    first = s.app.book(s.slot, s.consult, patient(1), "admin")
    assert first.position == s.app.head()
    second = s.app.set_status(first.id, "present")
    assert second.position == s.app.head() == first.position + 1


def test_events_record_who_acted(s: Setup) -> None:
    with acting_as(Actor(subject="token:abc", role="clinic_staff", channel="http")):
        written = s.app.book(s.slot, s.consult, patient(1), "admin")
    [notification] = s.app.recorder.select_notifications(start=written.position, limit=1)
    record = describe(notification, s.app.mapper)
    assert record.meta == {"subject": "token:abc", "role": "clinic_staff", "channel": "http"}


def test_clinic_name_and_type_are_checked(memory_app: Scheduling) -> None:
    with unchanged(memory_app), pytest.raises(InvalidValue):
        memory_app.register_clinic("x" * 201, ADDRESS, "418", "clinic")
    with unchanged(memory_app), pytest.raises(InvalidValue):
        memory_app.register_clinic("Clinique", ADDRESS, "418", "hospital")


def test_professional_type_is_checked(s: Setup) -> None:
    with unchanged(s.app), pytest.raises(InvalidValue, match="gp, ips"):
        s.app.add_professional(s.clinic, "Dr X", "surgeon")


def test_service_needs_a_duration(s: Setup) -> None:
    with unchanged(s.app), pytest.raises(InvalidValue):
        s.app.add_service(s.clinic, "Vide", 0, "in_person", True, 0)

"""Racing bookings for one slot never exceed its capacity (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aggregates.appointment import Appointment
from aggregates.slot import Slot, SlotFull
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, patient


def test_sixteen_threads_book_one_hundred_patients_into_ten_places(app: Scheduling, setup: Setup) -> None:
    def attempt(n: int) -> str:
        try:
            setup.app.book(setup.slot, setup.consult, patient(n), "portal")
            return "booked"
        except SlotFull:
            return "full"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(100)))

    assert outcomes.count("booked") == 10
    assert outcomes.count("full") == 90
    slot = app.load(Slot, setup.slot, "slot")
    assert len(slot.booked) == 10 and len(set(slot.booked)) == 10
    booked_events = app.recorder.select_notifications(
        start=1, limit=10_000, topics=["aggregates.appointment:Appointment.Booked"]
    )
    assert len(booked_events) == 10


def test_racing_bookings_of_one_new_patient_register_one_patient(app: Scheduling,
                                                                 setup: Setup) -> None:
    """The first to register the NAM wins; the others, who saw it free, run again and book
    that patient (never ``identifier_in_use``, never a second patient)."""
    slots = [setup.open_slot(capacity=1, hours=72 + h) for h in range(1, 9)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        booked = list(pool.map(lambda s: app.book(s, setup.consult, patient(500), "portal").id,
                               slots))
    patients = {app.load(Appointment, a, "appointment").patient_id for a in booked}
    assert len(booked) == 8 and len(patients) == 1
    found = app.patients.find_by_nam(str(patient(500)["nam"]))
    assert found is not None and {found.id} == patients

"""The same scheduling flows on SQLite and PostgreSQL: persistence, atomicity, snapshots."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from aggregates.appointment import Appointment
from aggregates.slot import Slot, SlotFull
from hub.scheduling.service import Scheduling
from projections.eventlog import describe
from tests.support.scheduling import Setup, make_app, patient


def test_state_survives_a_restart(store_url: str) -> None:
    first = make_app(store_url)
    s = Setup(first, capacity=3)
    booked = first.book(s.slot, s.consult, patient(1), "portal")
    first.cancel(first.book(s.slot, s.vaccine, patient(2), "admin").id, "malade")
    head = first.head()
    first.close()

    again = make_app(store_url)
    assert again.head() == head
    slot = again.load(Slot, s.slot, "slot")
    assert slot.booked == [booked.id] and slot.products == ["Pfizer"]
    types = [describe(n, again.mapper).type
             for n in again.recorder.select_notifications(start=1, limit=1000)]
    assert types.count("Booked") == 2 and types.count("Cancelled") == 1
    assert types.count("PlaceReleased") == 1
    again.close()


def test_reschedule_is_one_transaction(app: Scheduling, setup: Setup) -> None:
    booked = app.book(setup.slot, setup.consult, patient(1), "admin")
    target = setup.open_slot(capacity=1)
    before = app.head()
    written = app.reschedule(booked.id, target)
    moved = app.recorder.select_notifications(start=before + 1, limit=10)
    assert [describe(n, app.mapper).type for n in moved] == [
        "PlaceReserved", "PlaceReleased", "Rescheduled"]
    assert written.position == moved[-1].id == app.head()


def test_racing_reschedules_into_the_last_place(app: Scheduling, setup: Setup) -> None:
    """Eight appointments race for one place: exactly one moves, the others stay put."""
    ids = [app.book(setup.slot, setup.consult, patient(n), "admin").id for n in range(8)]
    last_place = setup.open_slot(capacity=1)

    def move(appointment_id):
        try:
            app.reschedule(appointment_id, last_place)
            return True
        except SlotFull:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        moved = list(pool.map(move, ids))
    assert moved.count(True) == 1
    in_target = app.load(Slot, last_place, "slot").booked
    in_source = app.load(Slot, setup.slot, "slot").booked
    assert len(in_target) == 1 and len(in_source) == 7
    assert set(in_target) | set(in_source) == set(ids)
    for appointment_id in ids:
        appointment = app.load(Appointment, appointment_id, "appointment")
        assert (appointment.slot_id == last_place) == (appointment_id in in_target)


def test_busy_slots_are_snapshotted(app: Scheduling, setup: Setup) -> None:
    big = setup.open_slot(capacity=60)
    for n in range(55):
        app.book(big, setup.consult, patient(n), "emr")
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(big))
    assert snapshots and snapshots[-1].originator_version == 50
    assert len(app.load(Slot, big, "slot").booked) == 55


@pytest.mark.parametrize("source", ["portal", "admin"])
def test_full_slot_writes_nothing(app: Scheduling, source: str) -> None:
    s = Setup(app, capacity=1)
    app.book(s.slot, s.consult, patient(1), source)
    head = app.head()
    with pytest.raises(SlotFull):
        app.book(s.slot, s.consult, patient(2), source)
    assert app.head() == head

"""Racing bookings for one slot never exceed its capacity (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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

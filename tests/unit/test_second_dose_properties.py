"""Hypothesis state machine: a rebooking never leaves a citizen with two active 2nd doses or
none, even when rebookings race for the last place of a slot (V3, seed 000 §5).

The aggregates are saved in an in-memory eventsourcing store with optimistic concurrency:
a "race" loads and decides several rebookings before saving any, then saves them in turn;
a loser that conflicts retries from fresh state (as the application does) and may then be
refused (slot full, product, ...). Staff may cancel a 2nd dose meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from aggregates.appointment import Appointment
from aggregates.doses import DoseCourse, DoseIntervals, course_id
from aggregates.errors import DomainError
from aggregates.rebooking import book_second_dose
from aggregates.slot import Slot

NOW = datetime(2021, 6, 16, 12, 0, tzinfo=UTC)
INTERVALS = DoseIntervals()
APPLICATION_TYPE = "public_health"


class SecondDoseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = Application[UUID]()
        self.clinic, self.professional, self.service = uuid4(), uuid4(), uuid4()
        self.slots: list[UUID] = []
        self.citizens: list[UUID] = []
        self.appointments: list[UUID] = []
        self.had_second: dict[UUID, bool] = {}

    # -- set-up -----------------------------------------------------------------------
    def _slot(self, days: float, capacity: int, products: list[str]) -> Slot:
        start = NOW + timedelta(days=days)
        return Slot.open(self.clinic, self.professional, start, start + timedelta(minutes=10),
                         capacity, [self.service], products)

    def _book(self, slot: Slot, product: str, patient: UUID) -> Appointment:
        appointment = Appointment.book(self.clinic, slot.id, self.professional, slot.start,
                                       slot.end, self.service, patient, "admin", product=product)
        slot.reserve(appointment.id, self.service, product, online=False)
        self.appointments.append(appointment.id)
        return appointment

    @initialize(
        citizens=st.lists(st.tuples(st.sampled_from(["Pfizer", "AstraZeneca"]), st.booleans()),
                          min_size=2, max_size=4),
        capacities=st.lists(st.integers(1, 2), min_size=2, max_size=3),
    )
    def open_the_site(self, citizens: list[tuple[str, bool]], capacities: list[int]) -> None:
        past = self._slot(-30, len(citizens), ["Pfizer", "AstraZeneca"])
        planned = self._slot(60, len(citizens), ["Pfizer", "AstraZeneca"])
        saved: list[Aggregate] = [past, planned]
        for product, has_second in citizens:
            patient = uuid4()
            course = DoseCourse(patient_id=patient)
            first = self._book(past, product, patient)
            first.record_dose(1)
            first.set_status("present")
            course.book(1, first.id, current_active=False)
            saved += [first, course]
            if has_second:
                second = self._book(planned, product, patient)
                second.record_dose(2, first.id)
                course.book(2, second.id, current_active=False)
                saved.append(second)
            self.citizens.append(patient)
            self.had_second[patient] = has_second
        for n, capacity in enumerate(capacities):
            slot = self._slot(25 + n, capacity, ["Pfizer", "AstraZeneca", "Moderna"])
            saved.append(slot)
            self.slots.append(slot.id)
        self.store.save(*saved)

    # -- one rebooking: load, decide, save ------------------------------------------------
    def _decide(self, patient: UUID, slot_id: UUID, product: str | None) -> list[Aggregate] | None:
        get = self.store.repository.get
        course = get(course_id(patient))
        first = get(course.appointment_for(1))
        current_id = course.appointment_for(2)
        current = get(current_id) if current_id else None
        try:
            booking = book_second_dose(
                course=course, first=first, current=current,
                current_slot=get(current.slot_id) if current else None,
                slot=get(slot_id), service_id=self.service, product=product,
                application_type=APPLICATION_TYPE, intervals=INTERVALS, now=NOW,
            )
        except DomainError:
            return None
        return list(booking.changed)

    def _save(self, changed: list[Aggregate]) -> bool:
        try:
            self.store.save(*changed)
        except RecordConflictError:
            return False
        self.appointments.extend(a.id for a in changed if isinstance(a, Appointment)
                                 and a.id not in self.appointments)
        return True

    def _rebook(self, patient: UUID, slot: UUID, product: str | None,
                decided: list[Aggregate] | None) -> None:
        before = self.active_second_doses(patient)
        lost = False
        while decided is not None and not self._save(decided):
            lost = True
            decided = self._decide(patient, slot, product)  # lost the race: retry afresh
        event(f"{'lost a race, then ' if lost else ''}{'refused' if decided is None else 'saved'}")
        after = self.active_second_doses(patient)
        assert len(after) >= len(before), "a rebooking left the citizen without a 2nd dose"
        if decided is None:
            assert after == before, "a refused rebooking changed the 2nd dose"

    @rule(data=st.data(), product=st.sampled_from([None, "Pfizer", "Moderna"]))
    def rebook(self, data: st.DataObject, product: str | None) -> None:
        patient = data.draw(st.sampled_from(self.citizens))
        slot = data.draw(st.sampled_from(self.slots))
        self._rebook(patient, slot, product, self._decide(patient, slot, product))

    @rule(data=st.data(), racers=st.integers(2, 3))
    def race(self, data: st.DataObject, racers: int) -> None:
        """Several rebookings decided on the same state (same or different citizens)."""
        plans = [(data.draw(st.sampled_from(self.citizens)), data.draw(st.sampled_from(self.slots)))
                 for _ in range(racers)]
        decided = [self._decide(p, s, None) for p, s in plans]
        for (patient, slot), decision in zip(plans, decided, strict=True):
            self._rebook(patient, slot, None, decision)

    @precondition(lambda self: bool(self.appointments))
    @rule(data=st.data())
    def staff_cancel_a_second_dose(self, data: st.DataObject) -> None:
        patient = data.draw(st.sampled_from(self.citizens))
        for appointment in self.active_second_doses(patient):
            slot = self.store.repository.get(appointment.slot_id)
            appointment.cancel("staff")
            slot.release(appointment.id, appointment.product, APPLICATION_TYPE)
            self.store.save(appointment, slot)

    # -- what must always hold ---------------------------------------------------------------
    def active_second_doses(self, patient: UUID) -> list[Appointment]:
        loaded = [self.store.repository.get(a) for a in self.appointments]
        return [a for a in loaded if a.patient_id == patient and a.dose == 2 and a.active]

    @invariant()
    def at_most_one_active_second_dose_and_the_course_names_it(self) -> None:
        for patient in self.citizens:
            active = self.active_second_doses(patient)
            assert len(active) <= 1, "two active 2nd doses"
            course = self.store.repository.get(course_id(patient))
            if active:
                assert course.appointment_for(2) == active[0].id
                first = self.store.repository.get(course.appointment_for(1))
                assert active[0].first_dose_id == first.id

    @invariant()
    def slots_hold_exactly_their_active_appointments(self) -> None:
        loaded = [self.store.repository.get(a) for a in self.appointments]
        for slot_id in self.slots:
            slot = self.store.repository.get(slot_id)
            inside = {a.id for a in loaded if a.active and a.slot_id == slot_id}
            assert set(slot.booked) == inside and len(slot.booked) <= slot.capacity


SecondDoseMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=20,
                                               deadline=None)
TestSecondDoseRebooking = SecondDoseMachine.TestCase

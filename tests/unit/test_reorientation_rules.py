"""Reorientation (R2): slots kept for 811 or reorientation, referrals on bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from aggregates.appointment import Appointment
from aggregates.errors import DomainError, InvalidValue
from aggregates.reorientation import Referral, SlotNotReserved, SlotReserved
from aggregates.slot import Slot

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SERVICE = uuid4()
RESERVATIONS = st.sampled_from([None, "811", "reorientation"])


def slot(reserved_for: str | None, capacity: int = 2, locked: bool = False) -> Slot:
    return Slot.open(uuid4(), uuid4(), START, START + timedelta(minutes=15), capacity, [SERVICE],
                     [], locked=locked, reserved_for=reserved_for)


def book(s: Slot, through: str | None = None, referral: Referral | None = None) -> Appointment:
    return Appointment.book(s.clinic_id, s.id, s.professional_id, s.start, s.end, SERVICE,
                            uuid4(), "admin", through=through, referral=referral)


@given(reserved_for=RESERVATIONS, through=RESERVATIONS, online=st.booleans(), locked=st.booleans())
def test_who_may_take_a_place(reserved_for: str | None, through: str | None, online: bool,
                              locked: bool) -> None:
    """Online never into a reserved slot; 811/reorientation only into slots kept for them;
    the clinic's own bookings (EMR, staff) anywhere."""
    s = slot(reserved_for, locked=locked)
    allowed = ((reserved_for is None or not online) and (through is None or through == reserved_for)
               and not (online and locked))
    try:
        s.reserve(uuid4(), SERVICE, None, online=online, through=through)
    except DomainError as refused:
        assert not allowed
        if reserved_for is not None and online:
            assert isinstance(refused, SlotReserved)
        elif through is not None and through != reserved_for:
            assert isinstance(refused, SlotNotReserved)
    else:
        assert allowed
    assert s.remaining(online=True) == (0 if (reserved_for or locked) else s.capacity - len(s.booked))


def test_unknown_reservation_refused() -> None:
    with pytest.raises(InvalidValue):
        slot("vip")
    s = slot(None)
    with pytest.raises(InvalidValue):
        s.reserve_for("vip")
    s.reserve_for("811")
    s.reserve_for("811")  # no change, no event
    assert [type(e).__name__ for e in s.collect_events()] == ["Opened", "ReservationChanged"]


def test_referral_values() -> None:
    referral = Referral.of("  Hôpital  Sainte-Justine ", "P4", "  entorse  ")
    assert referral.as_dict() == {"from_site": "Hôpital Sainte-Justine", "priority": "P4",
                                  "reason": "entorse"}
    assert Referral.from_dict(referral.as_dict()) == referral
    assert Referral.of("CH", "P5", "").reason is None
    for bad in [("", "P4", None), ("CH", "P3", None), ("CH", "p4", None), ("x" * 201, "P4", None),
                ("CH", "P4", "y" * 501)]:
        with pytest.raises(InvalidValue):
            Referral.of(*bad)


def test_reorientation_booking_carries_its_referral() -> None:
    s = slot("reorientation")
    referral = Referral.of("Urgence CH Hôtel-Dieu", "P5")
    appointment = book(s, "reorientation", referral)
    assert appointment.through == "reorientation"
    assert appointment.referral == {"from_site": "Urgence CH Hôtel-Dieu", "priority": "P5",
                                    "reason": None}
    with pytest.raises(InvalidValue):
        book(s, "reorientation")  # no referral
    with pytest.raises(InvalidValue):
        book(s, "811", referral)  # 811 bookings carry none
    with pytest.raises(InvalidValue):
        book(s, None, referral)
    plain = book(slot(None))
    assert plain.through is None and plain.referral is None


class ReservedSlotMachine(RuleBasedStateMachine):
    """A slot whose reservation changes while bookings come through every channel: capacity
    is never exceeded and only allowed bookings ever hold a place."""

    def __init__(self) -> None:
        super().__init__()
        self.slot = slot(None, capacity=3)
        self.held: dict[UUID, tuple[str | None, bool]] = {}

    @rule(reserved_for=RESERVATIONS)
    def reserve_for(self, reserved_for: str | None) -> None:
        self.slot.reserve_for(reserved_for)
        assert self.slot.reserved_for == reserved_for

    @rule(through=RESERVATIONS, online=st.booleans())
    def book(self, through: str | None, online: bool) -> None:
        appointment_id = uuid4()
        reserved_for = self.slot.reserved_for
        full = len(self.slot.booked) >= self.slot.capacity
        try:
            self.slot.reserve(appointment_id, SERVICE, None, online=online, through=through)
        except DomainError:
            assert full or (online and reserved_for) or (through and through != reserved_for)
            return
        assert not full and not (online and reserved_for)
        assert through is None or through == reserved_for
        self.held[appointment_id] = (through, online)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.held:
            appointment_id = data.draw(st.sampled_from(sorted(self.held)))
            self.slot.release(appointment_id, None, "clinic")
            del self.held[appointment_id]

    @invariant()
    def within_capacity_and_hidden_online_when_reserved(self) -> None:
        assert set(self.slot.booked) == set(self.held)
        assert len(self.slot.booked) <= self.slot.capacity
        if self.slot.reserved_for:
            assert self.slot.remaining(online=True) == 0


TestReservedSlotMachine = ReservedSlotMachine.TestCase

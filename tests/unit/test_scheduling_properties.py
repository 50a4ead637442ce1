"""Hypothesis stateful test of the scheduling invariants against a simple model.

Invariants, after every step: capacity never exceeded (staff and online views); every active
appointment sits in exactly one slot, its own; cancelled or deleted ones in none; S4 held
places and product associations match the model.
"""

from __future__ import annotations

from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.slot import Slot, SlotFull, SlotLocked
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, make_app, patient

SOURCES = st.sampled_from(["emr", "portal", "admin", "citizen"])


class SchedulingMachine(RuleBasedStateMachine):
    slots = Bundle("slots")
    appointments = Bundle("appointments")

    def __init__(self) -> None:
        super().__init__()
        self.app: Scheduling = make_app("memory://")
        self.n = 0
        # model: slot id -> {"capacity", "locked", "held", "products", "booked": set}
        self.model: dict[UUID, dict] = {}
        self.where: dict[UUID, UUID | None] = {}  # appointment -> slot (None when closed)
        self.product_of: dict[UUID, str | None] = {}

    @initialize(target=slots, kind=st.sampled_from(["public_health", "pharmacy", "clinic", "enterprise"]))
    def clinic(self, kind: str):
        self.kind = kind
        self.setup = Setup(self.app, application_type=kind, capacity=2)
        self._track(self.setup.slot, 2, False, ["Pfizer"])
        return self.setup.slot

    def _track(self, slot_id: UUID, capacity: int, locked: bool, products: list[str]) -> None:
        self.model[slot_id] = {"capacity": capacity, "locked": locked, "held": 0,
                               "products": list(products), "booked": set()}

    @rule(target=slots, capacity=st.integers(1, 3), locked=st.booleans(),
          products=st.sampled_from([[], ["Pfizer"], ["Moderna"], ["Pfizer", "Moderna"]]))
    def open_slot(self, capacity: int, locked: bool, products: list[str]):
        slot_id = self.setup.open_slot(capacity=capacity, locked=locked, products=products)
        self._track(slot_id, capacity, locked, products)
        return slot_id

    def _free(self, m: dict, online: bool) -> int:
        if online:
            return 0 if m["locked"] else m["capacity"] - len(m["booked"]) - m["held"]
        return m["capacity"] - len(m["booked"])

    @rule(target=appointments, slot=slots, source=SOURCES, vaccine=st.booleans())
    def book(self, slot: UUID, source: str, vaccine: bool):
        self.n += 1
        m = self.model[slot]
        online = source in ("portal", "citizen")
        service = self.setup.vaccine if vaccine else self.setup.consult
        product = "Pfizer" if vaccine else None
        expected_ok = (not (online and m["locked"])
                       and (product is None or product in m["products"])
                       and self._free(m, online) > 0)
        try:
            written = self.app.book(slot, service, patient(self.n), source)
        except DomainError as exc:
            assert not expected_ok, f"refused unexpectedly: {exc.code}"
            if online and m["locked"]:
                assert isinstance(exc, SlotLocked)
            return multiple()
        assert expected_ok
        self._reserve(m)
        m["booked"].add(written.id)
        self.where[written.id] = slot
        self.product_of[written.id] = product
        return written.id

    @staticmethod
    def _reserve(m: dict) -> None:
        if len(m["booked"]) + m["held"] >= m["capacity"]:
            m["held"] -= 1

    def _release(self, appointment: UUID) -> None:
        m = self.model[self.where[appointment]]
        m["booked"].discard(appointment)
        product = self.product_of[appointment]
        if product and self.kind in ("public_health", "enterprise") and product not in m["products"]:
            m["products"].append(product)
        if product and self.kind == "pharmacy":
            m["held"] += 1

    @rule(appointment=appointments, destination=slots)
    def reschedule(self, appointment: UUID, destination: UUID) -> None:
        target = destination
        before = self.where.get(appointment)
        try:
            self.app.reschedule(appointment, target)
        except SlotFull:
            assert before is not None and self._free(self.model[target], False) < 1
        except DomainError:
            pass
        else:
            assert before is not None and before != target
            m = self.model[target]
            self._reserve(m)
            self._release(appointment)
            m["booked"].add(appointment)
            self.where[appointment] = target

    @rule(appointment=consumes(appointments), delete=st.booleans())
    def close(self, appointment: UUID, delete: bool):
        if self.where.get(appointment) is None:
            return
        (self.app.delete if delete else self.app.cancel)(appointment)
        self._release(appointment)
        self.where[appointment] = None

    @rule(slot=slots, product=st.sampled_from(["Pfizer", "Moderna"]))
    def assign(self, slot: UUID, product: str):
        self.app.assign_product(slot, product)
        m = self.model[slot]
        if product not in m["products"]:
            m["products"].append(product)
        m["held"] = 0

    @rule(slot=slots, locked=st.booleans())
    def lock(self, slot: UUID, locked: bool):
        (self.app.lock_slot if locked else self.app.unlock_slot)(slot)
        self.model[slot]["locked"] = locked

    @invariant()
    def slots_match_the_model_and_never_overflow(self) -> None:
        for slot_id, m in self.model.items():
            slot = self.app.load(Slot, slot_id, "slot")
            assert len(slot.booked) <= slot.capacity
            assert len(slot.booked) + slot.held <= slot.capacity
            assert set(slot.booked) == m["booked"]
            assert slot.held == m["held"]
            assert slot.products == m["products"]

    @invariant()
    def each_active_appointment_is_in_exactly_one_slot(self) -> None:
        for appointment_id, slot_id in self.where.items():
            holders = [s for s in self.model if appointment_id in self.model[s]["booked"]]
            appointment = self.app.load(Appointment, appointment_id, "appointment")
            if slot_id is None:
                assert holders == [] and not appointment.active
            else:
                assert holders == [slot_id] == [appointment.slot_id]


SchedulingMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_scheduling_invariants = SchedulingMachine.TestCase

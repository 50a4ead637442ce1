"""Property: after any sequence of scheduling commands, followed in batches of any size, every
projection equals the same projection rebuilt from zero, and both agree with the aggregates."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from hub.bootstrap import build_projector
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from projections.queries import availability
from tests.support.scheduling import ADDRESS, future, make_app, patient

ZONE = ZoneInfo("America/Montreal")
index = st.integers(min_value=0, max_value=50)
ARGS = {
    "open": (st.integers(1, 4), st.booleans(), st.sampled_from([[], ["Pfizer"]])),
    "book": (index, index, st.integers(0, 6), st.sampled_from(["emr", "portal", "admin", "citizen"])),
    "cancel": (index,), "reschedule": (index, index), "delete": (index,),
    "status": (index, st.sampled_from(["undefined", "present", "absent"])),
    "lock": (index,), "unlock": (index,), "assign": (index, st.sampled_from(["Pfizer", "Moderna"])),
    "service": (index, index), "rename": (st.integers(0, 6), st.sampled_from(["Roy", "Côté"])),
    "project": (st.integers(1, 7),),
    "reservice": (index, st.booleans(), st.sampled_from(["Consultation", "Clinique"])),
    "restaff": (st.integers(0, 1), st.sampled_from(["Dre Test", "Dr Autre"])),
}
KINDS = ["book"] * 8 + ["project"] * 3 + ["open"] * 2 + [k for k in ARGS if k not in ("book", "project", "open")]


@st.composite
def command(draw: st.DrawFn) -> tuple:
    kind = draw(st.sampled_from(KINDS))
    return (kind, *(draw(arg) for arg in ARGS[kind]))


class World:
    """A clinic of each application type, their services, and what the commands created."""

    def __init__(self, app: Scheduling) -> None:
        self.app = app
        self.slots: list = []
        self.appointments: list = []
        self.clinics = []
        self.services_of: dict = {}
        for kind in ("public_health", "pharmacy"):
            clinic = app.register_clinic(f"Clinique {kind}", ADDRESS, "418-555-0000", kind).id
            gp = app.add_professional(clinic, "Dre Test", "gp").id
            services = [app.add_service(clinic, "Consultation", 15, "in_person", True, 24).id,
                        app.add_service(clinic, "Vaccin", 10, "in_person", True, 12, "Pfizer").id,
                        app.add_service(clinic, "Note", 5, "silent", False, 0).id]
            self.clinics.append((clinic, gp, services))
        self.services = [s for _, _, services in self.clinics for s in services]
        for n in range(6):
            self.run(("open", 3 + n % 2, n == 5, ["Pfizer"] if n % 2 else []), None)

    def run(self, step: tuple, projector: Projector | None) -> None:
        app, kind, pick = self.app, step[0], lambda seq, i: seq[i % len(seq)] if seq else None
        if kind == "open":
            clinic, gp, services = self.clinics[len(self.slots) % 2]
            start = future(24 + len(self.slots))
            self.slots.append(app.open_slot(clinic, gp, start, start + timedelta(minutes=30),
                                            step[1], services, step[3], step[2]).id)
            self.services_of[self.slots[-1]] = services
        elif kind == "book" and self.slots:
            slot = pick(self.slots, step[1])
            self.appointments.append(app.book(slot, pick(self.services_of[slot], step[2]),
                                              patient(step[3]), step[4]).id)
        elif kind == "cancel" and self.appointments:
            app.cancel(pick(self.appointments, step[1]))
        elif kind == "reschedule" and self.appointments and self.slots:
            app.reschedule(pick(self.appointments, step[1]), pick(self.slots, step[2]))
        elif kind == "status" and self.appointments:
            app.set_status(pick(self.appointments, step[1]), step[2])
        elif kind == "delete" and self.appointments:
            app.delete(pick(self.appointments, step[1]))
        elif kind in ("lock", "unlock") and self.slots:
            (app.lock_slot if kind == "lock" else app.unlock_slot)(pick(self.slots, step[1]))
        elif kind == "assign" and self.slots:
            app.assign_product(pick(self.slots, step[1]), step[2])
        elif kind == "service" and self.appointments:
            app.change_service(pick(self.appointments, step[1]), pick(self.services, step[2]))
        elif kind == "rename" and self.slots:
            self.appointments.append(app.book(self.slots[0], self.services[0],
                                              patient(step[1], last_name=step[2]), "emr").id)
        elif kind == "reservice":
            service = pick(self.services, step[1])
            details = self.app.load(Service, service, "service")
            app.update_service(service, step[3], 15, details.category, step[2], 24, details.product)
        elif kind == "restaff":
            app.update_professional(self.clinics[step[1]][1], step[2], "gp")
        elif kind == "project" and projector is not None:
            projector.batch_size = step[1]
            projector.step()


def snapshot(projector: Projector) -> dict[str, list[dict]]:
    return {t.name: p.view.rows(t.name) for p in projector.projections.values() for t in p.tables}


def check_against_aggregates(world: World, projector: Projector) -> None:
    app = world.app
    model = projector.get("suivi").view
    rows = {r["appointment_id"]: r for r in model.rows("suivi_appointments")}
    for appointment_id in set(world.appointments):
        appointment = app.load(Appointment, appointment_id, "appointment")
        row = rows.pop(str(appointment_id), None)
        assert (row is None) == appointment.deleted
        if row:
            assert row["status"] == appointment.status
            assert bool(row["cancelled"]) == appointment.cancelled
            assert row["slot_id"] == str(appointment.slot_id)
            assert row["service_id"] == str(appointment.service_id)
    assert not rows
    for p in model.rows("suivi_patients"):
        found = app.load(Patient, UUID(p["patient_id"]), "patient")
        assert (p["first_name"], p["last_name"]) == (found.first_name, found.last_name)
        assert p["nam_masked"] == "*" * 8 + found.nam[-4:]
    for row in model.rows("suivi_services"):
        assert row["name"] == app.load(Service, UUID(row["service_id"]), "service").name
    for row in model.rows("suivi_professionals"):
        assert row["name"] == app.load(Professional, UUID(row["professional_id"]), "professional").name
    slots_view = projector.get("availability").view
    for online in (False, True):
        listed = {i["slot_id"]: i for i in availability(
            slots_view, future(0), future(24 * 365), online=online, limit=10_000)}
        for slot_id in world.slots:
            slot = app.load(Slot, slot_id, "slot")
            item = listed.get(str(slot_id))
            bookable = any(app.load(Service, s, "service").online for s in slot.service_ids)
            if online and (slot.locked or not bookable):
                assert item is None
            else:
                assert item is not None and item["remaining"] == slot.remaining(online=online)
                assert sorted(item["products"]) == sorted(slot.products)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(command(), min_size=5, max_size=60), chunk=st.integers(1, 50))
def test_projections_equal_their_rebuild_from_zero(steps: list[tuple], chunk: int) -> None:
    app = make_app("memory://")
    projector = build_projector(app)
    try:
        world = World(app)
        for step in steps:
            try:
                world.run(step, projector)
            except DomainError:
                pass  # a refused command writes nothing
        event(f"appointments: {min(len(set(world.appointments)), 10) // 5 * 5}+")
        projector.batch_size = 1_000
        projector.catch_up()
        live = snapshot(projector)
        check_against_aggregates(world, projector)
        for name in projector.projections:
            assert projector.rebuild(name, chunk=chunk) == app.head()
        assert snapshot(projector) == live
        assert sum(len(rows) for rows in live.values()) > 0
    finally:
        projector.close()
        app.close()

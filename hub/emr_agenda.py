"""The EMR is master of its own agenda: apply an EMR's scheduling message to its clinic.

A message (from HL7 v2 SIU or any other EMR connector) arrives as an ``EmrMessage``. What it
names (professionals, services, locations, resources) is created when missing, the
appointment gets an EMR-managed slot, and everything it changes is saved in ONE transaction
with an ``Hl7Receipt``: a message applies once, and a refused one writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.emr import (
    AppointmentIdentifier, EmrCode, EmrResource, EmrSlotKey, Hl7Receipt, Hl7Sender,
    appointment_identifier_id, emr_code_id, emr_slot_id, receipt_id,
)
from aggregates.errors import InvalidValue, NotFound
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot

if TYPE_CHECKING:
    from hub.scheduling import Scheduling

log = structlog.get_logger("hub.emr_agenda")
A = TypeVar("A", bound=Aggregate)
#: Placer/filler ids in this system are the hub's own appointment ids (echoed back by EMRs).
HUB_SYSTEM = "HUB"
TRIGGERS = ("book", "reschedule", "modify", "cancel", "delete", "no_show", "block", "open")


@dataclass(frozen=True)
class EmrParty:
    """A professional, service, location or resource as the EMR names it."""

    code: str
    name: str
    role: str | None = None
    duration_minutes: int | None = None


@dataclass(frozen=True)
class EmrMessage:
    """What an EMR says about one appointment or slot, in the hub's words."""

    action: str
    control_id: str
    trigger: str
    digest: str
    identifiers: list[dict[str, str]] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    patient: dict[str, Any] | None = None
    professionals: list[EmrParty] = field(default_factory=list)
    services: list[EmrParty] = field(default_factory=list)
    locations: list[EmrParty] = field(default_factory=list)
    resources: list[EmrParty] = field(default_factory=list)
    reason: str | None = None
    professional_type: str = "gp"
    service_category: str = "in_person"
    cancellation_delay_hours: int = 24


@dataclass(frozen=True)
class Applied:
    """The outcome of a message: the ACK to answer, and whether it was a replay."""

    ack: str
    note: str
    effects: dict[str, Any]
    position: int
    replayed: bool = False


class _Batch:
    """Aggregates loaded or created while applying one message, saved together."""

    def __init__(self, app: Scheduling, clinic_id: UUID) -> None:
        self.app = app
        self.clinic_id = clinic_id
        self.pending: dict[UUID, Aggregate] = {}
        self.created: list[str] = []

    def get(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        known = self.pending.get(aggregate_id)
        if isinstance(known, cls):
            return known
        loaded = self.app.load(cls, aggregate_id, what)
        if getattr(loaded, "clinic_id", self.clinic_id) != self.clinic_id:
            raise NotFound(f"{what} {aggregate_id} does not exist in this clinic")
        self.pending[aggregate_id] = loaded
        return loaded

    def has(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.pending or aggregate_id in self.app.repository

    def add(self, *aggregates: Aggregate, created: bool = True) -> None:
        for aggregate in aggregates:
            self.pending[aggregate.id] = aggregate
            if created:
                self.created.append(f"{type(aggregate).__name__}:{aggregate.id}")


class EmrAgenda:
    """Applies ``EmrMessage``s for a registered sender to its clinic's agenda."""

    def __init__(self, app: Scheduling) -> None:
        self.app = app

    def apply(self, sender: Hl7Sender, message: EmrMessage, ack_for: Callable[[str], str]) -> Applied:
        """Apply once: a known (sender, control id) replays the stored ACK."""
        if message.action not in TRIGGERS:
            raise InvalidValue(f"unknown EMR action {message.action!r}")

        def run() -> Applied:
            key = receipt_id(sender.id, message.control_id)
            if key in self.app.repository:
                receipt = self.app.load(Hl7Receipt, key, "hl7 receipt")
                if receipt.digest != message.digest:
                    log.warning("resent control id with different content; replaying first ACK",
                                sender=sender.subject, control_id=message.control_id)
                return Applied(receipt.ack, "replayed", receipt.effects, self.app.head(), True)
            self.app.load(Clinic, sender.clinic_id, "clinic")
            batch = _Batch(self.app, sender.clinic_id)
            note, effects = getattr(self, f"_{message.action}")(batch, message)
            ack = ack_for(note)
            effects = {**effects, "created": batch.created}
            receipt = Hl7Receipt(sender.id, message.control_id, message.trigger, message.digest,
                                 ack, effects)
            position = self.app.commit(*batch.pending.values(), receipt)
            return Applied(ack, note, effects, position)

        applied = self.app.retrying(run, f"emr {message.action}")
        log.info("emr message applied", sender=sender.subject, control_id=message.control_id,
                 trigger=message.trigger, note=applied.note, replayed=applied.replayed)
        return applied

    # -- actions -------------------------------------------------------------------------
    def _book(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        known = self._find(batch, m)
        if known is not None:
            note, effects = self._converge(batch, m, known)
            return f"already booked as {known.id}; {note}", effects
        start, end = _times(m)
        if m.patient is None:
            raise InvalidValue("a booking needs the patient (PID segment)", field="PID")
        if not _own_identifiers(m):
            raise InvalidValue("a booking needs the EMR's placer or filler appointment id",
                               field="SCH-1")
        professional = self._professional(batch, m)
        service = self._service(batch, m, start, end)
        self._resources(batch, m)
        slot = self._slot_for(batch, professional, service, start, end)
        patient_id = self._patient(batch, m)
        appointment = Appointment.book(
            clinic_id=batch.clinic_id, slot_id=slot.id, professional_id=professional.id,
            start=slot.start, end=slot.end, service_id=service.id, patient_id=patient_id,
            source="emr", product=service.product, identifiers=_own_identifiers(m),
        )
        slot.reserve(appointment.id, service.id, service.product, online=False)
        batch.add(appointment)
        self._index(batch, appointment, _own_identifiers(m))
        return f"appointment {appointment.id} booked", {"appointment_id": str(appointment.id),
                                                        "slot_id": str(slot.id)}

    def _reschedule(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        return self._converge(batch, m, self._require(batch, m))

    _modify = _reschedule

    def _cancel(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = self._require(batch, m)
        effects = {"appointment_id": str(appointment.id)}
        if not appointment.active:
            return f"appointment {appointment.id} was already closed", effects
        appointment.cancel(m.reason)
        self._release(batch, appointment)
        return f"appointment {appointment.id} cancelled", effects

    def _delete(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = self._require(batch, m)
        effects = {"appointment_id": str(appointment.id)}
        if appointment.deleted:
            return f"appointment {appointment.id} was already deleted", effects
        if appointment.active:
            self._release(batch, appointment)
        appointment.delete()
        return f"appointment {appointment.id} deleted", effects

    def _no_show(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = self._require(batch, m)
        appointment.set_status("absent")
        return f"appointment {appointment.id} marked absent", {"appointment_id": str(appointment.id)}

    def _block(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        start, end = _times(m)
        professional = self._professional(batch, m)
        key = emr_slot_id(batch.clinic_id, professional.id, start.isoformat(), end.isoformat())
        if not batch.has(key):
            return "no EMR slot at that time; nothing to block", {}
        slot = batch.get(Slot, batch.get(EmrSlotKey, key, "emr slot").slot_id, "slot")
        slot.lock()
        return f"slot {slot.id} locked", {"slot_id": str(slot.id)}

    def _open(self, batch: _Batch, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        start, end = _times(m)
        professional = self._professional(batch, m)
        service = self._service(batch, m, start, end)
        key = emr_slot_id(batch.clinic_id, professional.id, start.isoformat(), end.isoformat())
        if batch.has(key):
            slot = batch.get(Slot, batch.get(EmrSlotKey, key, "emr slot").slot_id, "slot")
            slot.unlock()
            return f"slot {slot.id} unlocked", {"slot_id": str(slot.id)}
        slot = Slot.open(batch.clinic_id, professional.id, start, end, 1, [service.id],
                         [service.product] if service.product else [], locked=False)
        batch.add(slot, EmrSlotKey(batch.clinic_id, professional.id, start.isoformat(),
                                   end.isoformat(), slot.id))
        return f"slot {slot.id} opened", {"slot_id": str(slot.id)}

    # -- parts ---------------------------------------------------------------------------
    def _converge(self, batch: _Batch, m: EmrMessage, appointment: Appointment) -> tuple[str, dict[str, Any]]:
        """Bring an appointment to what the EMR says: time, professional, service, ids."""
        appointment.require_active()
        effects: dict[str, Any] = {"appointment_id": str(appointment.id)}
        changes: list[str] = []
        if m.patient is not None and self._patient(batch, m) != appointment.patient_id:
            raise InvalidValue("PID names another patient than the appointment's", field="PID")
        start = m.start or appointment.start
        end = m.end or (start + (appointment.end - appointment.start))
        professional = (self._professional(batch, m) if (m.professionals or m.resources)
                        else batch.get(Professional, appointment.professional_id, "professional"))
        service = (self._service(batch, m, start, end) if m.services
                   else batch.get(Service, appointment.service_id, "service"))
        self._resources(batch, m)
        moved = (start, end, professional.id) != (appointment.start, appointment.end,
                                                   appointment.professional_id)
        if moved:
            new_slot = self._slot_for(batch, professional, service, start, end)
            new_slot.reserve(appointment.id, service.id, service.product, online=False)
            self._release(batch, appointment)
            appointment.reschedule(new_slot.id, professional.id, new_slot.start, new_slot.end,
                                   service.id, service.product)
            effects["slot_id"] = str(new_slot.id)
            changes.append(f"moved to {new_slot.start.isoformat()}")
        elif service.id != appointment.service_id:
            appointment.change_service(service.id, service.product)
            changes.append(f"service changed to {service.name!r}")
        new_ids = [i for i in _own_identifiers(m) if i not in appointment.identifiers]
        for ident in new_ids:
            appointment.add_identifier(ident["system"], ident["value"])
        self._index(batch, appointment, new_ids)
        if new_ids:
            changes.append("identifiers added")
        return f"appointment {appointment.id} " + (", ".join(changes) or "unchanged"), effects

    def _find(self, batch: _Batch, m: EmrMessage) -> Appointment | None:
        for ident in m.identifiers:
            if ident["system"] == HUB_SYSTEM:
                try:
                    hub_id = UUID(ident["value"])
                except ValueError:
                    continue
                if batch.has(hub_id):
                    return batch.get(Appointment, hub_id, "appointment")
                continue
            key = appointment_identifier_id(batch.clinic_id, ident["system"], ident["value"])
            if batch.has(key):
                index = batch.get(AppointmentIdentifier, key, "appointment identifier")
                return batch.get(Appointment, index.appointment_id, "appointment")
        return None

    def _require(self, batch: _Batch, m: EmrMessage) -> Appointment:
        found = self._find(batch, m)
        if found is None:
            names = ", ".join(f"{i['value']} ({i['system']})" for i in m.identifiers) or "none"
            raise NotFound(f"no appointment of this clinic has the ids given (SCH-1/SCH-2: {names})")
        return found

    def _index(self, batch: _Batch, appointment: Appointment, identifiers: list[dict[str, str]]) -> None:
        for ident in identifiers:
            key = appointment_identifier_id(batch.clinic_id, ident["system"], ident["value"])
            if batch.has(key):
                other = batch.get(AppointmentIdentifier, key, "appointment identifier")
                if other.appointment_id != appointment.id:
                    raise InvalidValue(f"appointment id {ident['value']} ({ident['system']}) "
                                       "already belongs to another appointment", field="SCH-2")
                continue
            batch.add(AppointmentIdentifier(batch.clinic_id, ident["system"], ident["value"],
                                            appointment.id), created=False)

    def _release(self, batch: _Batch, appointment: Appointment) -> None:
        slot = batch.get(Slot, appointment.slot_id, "slot")
        clinic = batch.get(Clinic, batch.clinic_id, "clinic")
        slot.release(appointment.id, appointment.product, clinic.application_type)

    def _slot_for(self, batch: _Batch, professional: Professional, service: Service,
                  start: datetime, end: datetime) -> Slot:
        """A slot the EMR opened (S24) at that time with room, else a new locked one-place slot."""
        key = emr_slot_id(batch.clinic_id, professional.id, start.isoformat(), end.isoformat())
        if batch.has(key):
            slot = batch.get(Slot, batch.get(EmrSlotKey, key, "emr slot").slot_id, "slot")
            if slot.remaining() >= 1 and service.id in slot.service_ids and (
                not service.product or service.product in slot.products
            ):
                return slot
        slot = Slot.open(batch.clinic_id, professional.id, start, end, 1, [service.id],
                         [service.product] if service.product else [], locked=True)
        batch.add(slot)
        return slot

    def _patient(self, batch: _Batch, m: EmrMessage) -> UUID:
        aggregates = self.app.patients.register_or_update(dict(m.patient or {}))
        batch.add(*aggregates, created=False)
        return aggregates[0].id

    def _professional(self, batch: _Batch, m: EmrMessage) -> Professional:
        if m.professionals:
            party = m.professionals[0]
            kind = party.role or m.professional_type
        elif m.resources:
            party, kind = m.resources[0], "other"
        else:
            raise InvalidValue("the message names no professional (AIP) nor resource (AIG)",
                               field="AIP")
        return self._coded(batch, "professional", party, Professional,
                           lambda: Professional.register(batch.clinic_id, party.name or party.code, kind))

    def _service(self, batch: _Batch, m: EmrMessage, start: datetime, end: datetime) -> Service:
        if not m.services:
            raise InvalidValue("the message names no service (AIS, or SCH-7/SCH-8)", field="AIS")
        party = m.services[0]
        minutes = party.duration_minutes or max(1, int((end - start).total_seconds() // 60))
        return self._coded(batch, "service", party, Service, lambda: Service.define(
            batch.clinic_id, party.name or party.code, minutes, m.service_category, False,
            m.cancellation_delay_hours))

    def _resources(self, batch: _Batch, m: EmrMessage) -> None:
        resources = m.resources if m.professionals else m.resources[1:]
        for kind, parties in (("location", m.locations), ("resource", resources)):
            for party in parties:
                self._coded(batch, kind, party, EmrResource, lambda p=party, k=kind:
                            EmrResource.register(batch.clinic_id, k, p.code, p.name))

    def _coded(self, batch: _Batch, kind: str, party: EmrParty, cls: type[A],
               create: Callable[[], A]) -> A:
        key = emr_code_id(batch.clinic_id, kind, party.code)
        if batch.has(key):
            return batch.get(cls, batch.get(EmrCode, key, "emr code").target_id, kind)
        made = create()
        batch.add(made, created=True)
        batch.add(EmrCode(batch.clinic_id, kind, party.code, made.id), created=False)
        return made


def _times(m: EmrMessage) -> tuple[datetime, datetime]:
    if m.start is None:
        raise InvalidValue("the message gives no start time (TQ1-7, SCH-11.4 or AIS-4)", field="TQ1-7")
    if m.end is None:
        raise InvalidValue("the message gives no end time nor duration (TQ1-8, SCH-11.5, SCH-9, "
                           "AIS-7)", field="TQ1-8")
    return m.start, m.end


def _own_identifiers(m: EmrMessage) -> list[dict[str, str]]:
    return [i for i in m.identifiers if i["system"] != HUB_SYSTEM]

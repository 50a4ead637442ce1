"""The EMR is master of its own agenda: apply an EMR's scheduling message to its clinic.

What a message names is created when missing, the appointment gets an EMR-managed slot, and
everything it changes is saved in ONE transaction with an ``Hl7Receipt``: a message applies
once (a resend replays the first ACK), and a refused one writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.emr import EmrSlotKey, Hl7Receipt, Hl7Sender, emr_slot_id, receipt_id
from aggregates.errors import InvalidValue, NotFound
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from hub.actor import current_actor
from hub.emr.changes import (
    HUB_SYSTEM,
    AgendaChanges,
    EmrMessage,
    EmrParty,
    own_identifiers,
    times,
)

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

__all__ = ["HUB_SYSTEM", "Applied", "EmrAgenda", "EmrMessage", "EmrParty"]
log = structlog.get_logger("hub.emr.agenda")
TRIGGERS = ("book", "reschedule", "modify", "cancel", "delete", "no_show", "block", "open")


@dataclass(frozen=True)
class Applied:
    """The outcome of a message: the ACK to answer, and whether it was a replay."""

    ack: str
    note: str
    effects: dict[str, Any]
    position: int
    replayed: bool = False


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
            batch = AgendaChanges(self.app, sender.clinic_id)
            batch.prefetch_message(message, also=[key])
            receipt = batch.read.get(key)
            if isinstance(receipt, Hl7Receipt):
                if receipt.digest != message.digest:
                    log.warning("resent control id with different content; replaying first ACK",
                                sender=sender.subject, control_id=message.control_id)
                return Applied(receipt.ack, "replayed", receipt.effects, self.app.head(), True)
            if not isinstance(batch.read.get(sender.clinic_id), Clinic):
                raise NotFound(f"clinic {sender.clinic_id} does not exist", id=str(sender.clinic_id))
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
    def _book(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        known = batch.find(m)
        if known is not None:
            note, effects = self._converge(batch, m, known)
            return f"already booked as {known.id}; {note}", effects
        start, end = times(m)
        if m.patient is None:
            raise InvalidValue("a booking needs the patient (PID segment)", field="PID")
        if not own_identifiers(m):
            raise InvalidValue("a booking needs the EMR's placer or filler appointment id",
                               field="SCH-1")
        professional = batch.professional(m)
        service = batch.service(m, start, end)
        named = batch.resources(m)
        slot = batch.slot_for(professional, service, start, end)
        patient = batch.patient(m)
        appointment = Appointment.book(
            clinic_id=batch.clinic_id, slot_id=slot.id, professional_id=professional.id,
            start=slot.start, end=slot.end, service_id=service.id, patient_id=patient.patient.id,
            source="emr", product=service.product, identifiers=own_identifiers(m),
            as_given=patient.as_given, booked_by=current_actor().subject,
        )
        slot.reserve(appointment.id, service.id, service.product, online=False)
        appointment.link_resources(named)
        batch.add(appointment)
        batch.add(*self.app.patients.note_clinic(patient.patient.id, batch.clinic_id,
                                                 patient.registered),
                  created=False)
        batch.index(appointment, own_identifiers(m), known_new=True)
        return f"appointment {appointment.id} booked", {"appointment_id": str(appointment.id),
                                                        "slot_id": str(slot.id)}

    def _reschedule(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        return self._converge(batch, m, batch.require(m))

    _modify = _reschedule

    def _cancel(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = batch.require(m)
        effects = {"appointment_id": str(appointment.id)}
        if not appointment.active:
            return f"appointment {appointment.id} was already closed", effects
        appointment.cancel(m.reason)
        batch.release(appointment)
        return f"appointment {appointment.id} cancelled", effects

    def _delete(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = batch.require(m)
        effects = {"appointment_id": str(appointment.id)}
        if appointment.deleted:
            return f"appointment {appointment.id} was already deleted", effects
        if appointment.active:
            batch.release(appointment)
        appointment.delete()
        return f"appointment {appointment.id} deleted", effects

    def _no_show(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        appointment = batch.require(m)
        appointment.set_status("absent")
        return f"appointment {appointment.id} marked absent", {"appointment_id": str(appointment.id)}

    def _block(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        start, end = times(m)
        professional = batch.professional(m)
        key = emr_slot_id(batch.clinic_id, professional.id, start.isoformat(), end.isoformat())
        if not batch.has(key):
            return "no EMR slot at that time; nothing to block", {}
        slot = batch.get(Slot, batch.get(EmrSlotKey, key, "emr slot").slot_id, "slot")
        slot.lock()
        return f"slot {slot.id} locked", {"slot_id": str(slot.id)}

    def _open(self, batch: AgendaChanges, m: EmrMessage) -> tuple[str, dict[str, Any]]:
        start, end = times(m)
        professional = batch.professional(m)
        service = batch.service(m, start, end)
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
    def _converge(self, batch: AgendaChanges, m: EmrMessage, appointment: Appointment) -> tuple[str, dict[str, Any]]:
        """Bring an appointment to what the EMR says: time, professional, service, ids."""
        appointment.require_active()
        effects: dict[str, Any] = {"appointment_id": str(appointment.id)}
        changes: list[str] = []
        if m.patient is not None and batch.patient(m).patient.id != appointment.patient_id:
            raise InvalidValue("PID names another patient than the appointment's", field="PID")
        start = m.start or appointment.start
        end = m.end or (start + (appointment.end - appointment.start))
        professional = (batch.professional(m) if (m.professionals or m.resources)
                        else batch.get(Professional, appointment.professional_id, "professional"))
        service = (batch.service(m, start, end) if m.services
                   else batch.get(Service, appointment.service_id, "service"))
        named = batch.resources(m)
        if named and tuple(named) != appointment.emr_resources:  # naming none: left as they were
            appointment.link_resources(named)
            changes.append("locations and resources: " + ", ".join(r["code"] for r in named))
        moved = (start, end, professional.id) != (appointment.start, appointment.end,
                                                   appointment.professional_id)
        if moved:
            new_slot = batch.slot_for(professional, service, start, end)
            new_slot.reserve(appointment.id, service.id, service.product, online=False)
            batch.release(appointment)
            appointment.reschedule(new_slot.id, professional.id, new_slot.start, new_slot.end,
                                   service.id, service.product)
            effects["slot_id"] = str(new_slot.id)
            changes.append(f"moved to {new_slot.start.isoformat()}")
        elif service.id != appointment.service_id:
            appointment.change_service(service.id, service.product)
            changes.append(f"service changed to {service.name!r}")
        new_ids = [i for i in own_identifiers(m) if i not in appointment.identifiers]
        for ident in new_ids:
            appointment.add_identifier(ident["system"], ident["value"])
        batch.index(appointment, new_ids)
        if new_ids:
            changes.append("identifiers added")
        return f"appointment {appointment.id} " + (", ".join(changes) or "unchanged"), effects

"""Batch invitation to move 2nd doses (V1, seed 000 §3–4).

Staff select at most 100 appointments (Suivi, ``view=without_cancellation``) and a message
type. Each appointment is checked against §4; an eligible citizen gets the invitation by
e-mail, else SMS. ``preview`` answers the exact messages and writes nothing; otherwise the
batch, one ``Notification`` per invitation (the rendered message inside it, so the sender
delivers exactly what was previewed) and the appointments' communications are saved at once.
The notification sender then delivers them (claims, retries, kill-safety: hub/notifications).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.doses import coupon_for
from aggregates.eligibility import Criterion, Eligibility, for_invitation
from aggregates.errors import NotFound
from aggregates.invitation import InvitationBatch, checked_selection, invitation_channel
from aggregates.notification import AppointmentCommunication, Notification, communication_id
from aggregates.patient import Patient
from hub.scheduling.service import Scheduling
from hub.vaccination import messages
from hub.vaccination.records import DoseRecords

log = structlog.get_logger("hub.vaccination.invitations")

KIND = "invitation"
NOT_FOUND = Criterion("appointment_found", "Le rendez-vous existe dans cette clinique",
                      "The appointment exists in this clinic")


@dataclass(frozen=True)
class InvitationOutcome:
    """One selected appointment: eligible or why not, the channel and the exact message."""

    appointment_id: UUID
    eligible: bool
    reasons: list[dict[str, str]]
    channel: str | None = None
    message: dict[str, str] | None = None
    notification_id: UUID | None = None
    # what sending needs (not shown)
    address: str | None = field(default=None, repr=False)
    language: str = "fr"
    start: datetime | None = None


@dataclass(frozen=True)
class InvitationResult:
    preview: bool
    message: str
    items: list[InvitationOutcome]
    batch_id: UUID | None = None
    position: int | None = None

    @property
    def invited(self) -> int:
        return sum(1 for i in self.items if i.eligible)


class Invitations:
    """Preview or send one batch of invitations for a clinic."""

    def __init__(self, app: Scheduling, records: DoseRecords, zone: str, public_url: str) -> None:
        self.app = app
        self.records = records
        self.zone = ZoneInfo(zone)
        self.url = f"{public_url.rstrip('/')}/self-service"

    def invite(self, clinic_id: UUID, appointment_ids: list[UUID], message: str,
               preview: bool) -> InvitationResult:
        selection, message = checked_selection(appointment_ids, message)
        clinic = self.app.load(Clinic, clinic_id, "clinic")
        now = self.app.clock()
        items = [self._consider(clinic, a, message, now) for a in selection]
        if preview:
            return InvitationResult(True, message, items)

        def run() -> InvitationResult:
            batch = InvitationBatch.start(clinic_id, message, selection)
            changed: list[Aggregate] = [batch]
            sent = []
            for item in items:
                if not item.eligible:
                    batch.pass_over(item.appointment_id, [r["code"] for r in item.reasons])
                    sent.append(item)
                    continue
                notification = self._notification(batch, clinic_id, item, now)
                batch.invite(item.appointment_id, str(item.channel), notification.id)
                changed += [notification, self._communication(item.appointment_id, notification)]
                sent.append(replace(item, notification_id=notification.id))
            position = self.app.commit(*changed)
            return InvitationResult(False, message, sent, batch.id, position)

        result = self.app.retrying(run, "invite")
        log.info("invitations sent", batch_id=str(result.batch_id), clinic_id=str(clinic_id),
                 message=message, invited=result.invited, passed_over=len(items) - result.invited)
        return result

    # -- one appointment -----------------------------------------------------------------------
    def _consider(self, clinic: Clinic, appointment_id: UUID, message: str,
                  now: datetime) -> InvitationOutcome:
        appointment = self._appointment(clinic.id, appointment_id)
        if appointment is None:
            return InvitationOutcome(appointment_id, False, [NOT_FOUND.as_reason()])
        patient = self.app.load(Patient, appointment.patient_id, "patient")
        first = self.records.first_dose_of(appointment)
        result: Eligibility = for_invitation(
            self.records.facts(appointment), self.records.facts(first) if first else None,
            self.records.citizen(patient), now, self.records.intervals.knows)
        contacts = appointment.message_contacts(patient.contacts())  # the booking's own
        chosen = invitation_channel(contacts["email"], contacts["other_email"], contacts["cell"])
        if not result.eligible or chosen is None:
            return InvitationOutcome(appointment_id, False, result.reasons(),
                                     chosen[0] if chosen else None)
        channel, address = chosen
        language = appointment.language or patient.language or "fr"
        rendered = messages.invitation(message, language, appointment.message_name(patient.name),
                                       appointment.start,
                                       clinic.name, coupon_for(appointment.id), self.url, channel,
                                       self.zone)
        return InvitationOutcome(appointment_id, True, [], channel, messages.as_dict(rendered),
                                 address=address, language=language, start=appointment.start)

    def _appointment(self, clinic_id: UUID, appointment_id: UUID) -> Appointment | None:
        if not self.app.exists(appointment_id):
            return None
        try:
            appointment = self.app.load(Appointment, appointment_id, "appointment")
        except NotFound:  # another kind of aggregate has that id
            return None
        return appointment if appointment.clinic_id == clinic_id else None

    def _notification(self, batch: InvitationBatch, clinic_id: UUID, item: InvitationOutcome,
                      now: datetime) -> Notification:
        start = item.start.isoformat() if item.start else None
        return Notification(
            appointment_id=item.appointment_id, origin=f"invitation:{batch.id}", kind=KIND,
            clinic_id=clinic_id, channel=str(item.channel), address=str(item.address),
            language=item.language, due_at=now,
            details={"start": start, "message": item.message,
                     "batch_id": str(batch.id), "invitation": batch.message},
        )

    def _communication(self, appointment_id: UUID, notification: Notification
                       ) -> AppointmentCommunication:
        """The appointment's communication lists the invitation (opened here if the planning
        process has not yet seen the booking)."""
        key = communication_id(appointment_id)
        if self.app.exists(key):
            communication = self.app.load(AppointmentCommunication, key, "appointment communication")
        else:
            appointment = self.app.load(Appointment, appointment_id, "appointment")
            communication = AppointmentCommunication(
                appointment_id=appointment_id, clinic_id=appointment.clinic_id,
                patient_id=appointment.patient_id, booked_by=None)
        communication.add([notification.id])
        return communication


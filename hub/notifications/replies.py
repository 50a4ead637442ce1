"""Patients' answers (N3): e-mail confirm/cancel links, SMS "OK/Oui/Yes", phone "press 1"."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.errors import Conflict, NotFound
from aggregates.notification import (
    AppointmentCommunication,
    Notification,
    ReplyThread,
    communication_id,
    legacy_reply_thread_id,
    reply_thread_id,
    reply_thread_key,
)
from aggregates.service import Service
from hub.actor import Actor, acting_as
from hub.notifications.links import LinkClaim, verify
from hub.scheduling.service import Scheduling

log = structlog.get_logger("hub.notifications.replies")
YES = frozenset({"ok", "oui", "yes"})


class CancellationTooLate(Conflict):
    code = "cancellation_too_late"


class AppointmentOver(Conflict):
    code = "appointment_over"


class LinkSuperseded(Conflict):
    """The link was sent for an earlier time of the appointment (it was moved since)."""

    code = "link_superseded"


def is_yes(text: str) -> bool:
    """"OK", "Oui", "Yes" in any case, with or without accents, spaces or punctuation."""
    plain = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in plain.casefold() if c.isalnum() and not unicodedata.combining(c))
    return letters in YES


@dataclass(frozen=True)
class Reply:
    """What a reply did: ``confirmed``, ``cancelled``, ``already`` or ``ignored``."""

    outcome: str
    appointment_id: UUID | None = None
    message: str = ""


@dataclass(frozen=True)
class LinkDetails:
    """What the page behind an e-mail link shows before the patient clicks (no personal data:
    the appointment's time and place only)."""

    action: str
    appointment_id: UUID
    start: datetime
    clinic: str
    address: dict[str, str]
    clinic_phone: str
    service: str
    active: bool
    #: Latest time the appointment can be cancelled online, and whether it still can be now.
    cancel_by: datetime
    cancellable: bool


def cancel_deadline(appointment: Appointment, service: Service) -> datetime:
    """Patients cancel online up to the service's cancellation delay before the start."""
    return appointment.start - timedelta(hours=service.cancellation_delay_hours)


class Replies:
    """Applies patients' answers to their appointments; every change is an event."""

    def __init__(self, scheduling: Scheduling, link_secret: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.app = scheduling
        self.link_secret = link_secret
        self.clock = clock or scheduling.clock

    # -- e-mail links -------------------------------------------------------------------------
    def read_link(self, token: str) -> LinkClaim:
        """The claim of a valid link for the appointment as it is now: a link is signed over the
        appointment's start (its expiry), so one sent before a reschedule no longer works."""
        claim = verify(self.link_secret, token, self.clock())
        appointment = self.app.load(Appointment, claim.appointment_id, "appointment")
        if int(appointment.start.timestamp()) != int(claim.expires.timestamp()):
            raise LinkSuperseded(
                "Ce lien vise une ancienne heure de votre rendez-vous : utilisez celui du dernier "
                "courriel. / This link is for an earlier time of your appointment: use the one in "
                "your latest e-mail.")
        return claim

    def link_details(self, token: str) -> LinkDetails:
        """``read_link``'s claim with the appointment's time and place, for the link's page."""
        claim = self.read_link(token)
        appointment = self.app.load(Appointment, claim.appointment_id, "appointment")
        clinic = self.app.load(Clinic, appointment.clinic_id, "clinic")
        service = self.app.load(Service, appointment.service_id, "service")
        return LinkDetails(
            action=claim.action, appointment_id=claim.appointment_id, start=appointment.start,
            clinic=clinic.name, address={k: str(v) for k, v in clinic.address.items()},
            clinic_phone=clinic.phone, service=service.name, active=appointment.active,
            cancel_by=cancel_deadline(appointment, service),
            cancellable=appointment.active and self.clock() < cancel_deadline(appointment, service))

    def follow_link(self, token: str) -> Reply:
        claim = self.read_link(token)
        if claim.action == "confirm":
            return self.confirm(claim.appointment_id, "email")
        return self.cancel(claim.appointment_id)

    def cancel(self, appointment_id: UUID) -> Reply:
        appointment = self.app.load(Appointment, appointment_id, "appointment")
        if not appointment.active:
            return Reply("already", appointment_id, "this appointment is already cancelled")
        service = self.app.load(Service, appointment.service_id, "service")
        clinic = self.app.load(Clinic, appointment.clinic_id, "clinic")
        deadline = cancel_deadline(appointment, service)
        if self.clock() >= deadline:
            raise CancellationTooLate(
                f"Ce rendez-vous ne peut plus être annulé en ligne (au plus tard "
                f"{service.cancellation_delay_hours} h avant). Appelez la clinique au {clinic.phone}. / "
                f"This appointment can no longer be cancelled online (up to "
                f"{service.cancellation_delay_hours} h before). Please call the clinic at {clinic.phone}.",
                deadline=deadline.isoformat(), clinic_phone=clinic.phone)
        actor = Actor(subject=f"patient:{appointment.patient_id}", role="citizen", channel="email")
        with acting_as(actor):
            self.app.cancel(appointment_id, "cancelled by the patient (e-mail link)")
        log.info("appointment cancelled by the patient", appointment_id=str(appointment_id))
        return Reply("cancelled", appointment_id, "your appointment is cancelled")

    # -- confirmations ------------------------------------------------------------------------
    def confirm(self, appointment_id: UUID, channel: str) -> Reply:
        """Record "confirmed by e-mail/SMS/phone" on the appointment's communication."""
        appointment = self.app.load(Appointment, appointment_id, "appointment")
        if not appointment.active:
            raise AppointmentOver("this appointment was cancelled; there is nothing to confirm")
        if appointment.start <= self.clock():
            raise AppointmentOver("this appointment has already started")
        actor = Actor(subject=f"patient:{appointment.patient_id}", role="citizen", channel=channel)

        def run() -> bool:
            communication = self.app.load(AppointmentCommunication, communication_id(appointment_id),
                                          "appointment communication")
            changed = communication.confirm(channel, self.clock())
            self.app.commit(communication)
            return changed

        with acting_as(actor):
            changed = self.app.retrying(run, "confirm")
        log.info("presence confirmed", appointment_id=str(appointment_id), channel=channel)
        return Reply("confirmed" if changed else "already", appointment_id,
                     "thank you, your attendance is confirmed")

    def sms(self, sender: str, text: str) -> Reply:
        """An inbound SMS: "OK", "Oui" or "Yes" confirms the appointment last texted to ``sender``."""
        if not is_yes(text):
            return Reply("ignored", None, "only OK, Oui or Yes are understood")
        keyed = reply_thread_id(reply_thread_key(self.app.index_secret, "sms", sender))
        found = [k for k in (keyed, legacy_reply_thread_id("sms", sender)) if self.app.exists(k)]
        if not found:  # (a thread of before keyed ids is still found by its legacy id)
            return Reply("ignored", None, "no message was sent to this number")
        thread = self.app.load(ReplyThread, found[0], "reply thread")
        return self._confirm_reply(thread.appointment_id, "sms")

    def call(self, call_id: UUID, digits: str) -> Reply:
        """A call's keypad answer: 1 confirms. ``call_id`` is the id the hub gave the call."""
        try:
            notification = self.app.load(Notification, call_id, "call")
        except NotFound:
            return Reply("ignored", None, "unknown call")
        if notification.channel != "phone":
            return Reply("ignored", None, "unknown call")
        if digits.strip() != "1":
            return Reply("ignored", notification.appointment_id, "only 1 confirms")
        return self._confirm_reply(notification.appointment_id, "phone")

    def _confirm_reply(self, appointment_id: UUID, channel: str) -> Reply:
        """Gateways get an answer, not an error, for a reply about a closed appointment."""
        try:
            return self.confirm(appointment_id, channel)
        except AppointmentOver as exc:
            return Reply("ignored", appointment_id, exc.message)

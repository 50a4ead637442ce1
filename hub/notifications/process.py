"""The process that follows appointment events and plans patient messages, exactly once.

Each appointment event is handled in one transaction that writes the planned ``Notification``
aggregates, the withdrawals, the appointment's ``AppointmentCommunication`` and a ``Tracking``
record (``notifications``, position) into the hub's own store: a crash or a second follower can
never plan the same message twice, and the new events land in the same log (Kafka relay).
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, RecordConflictError
from eventsourcing.persistence import Notification as LogEntry

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.notification import (
    AppointmentCommunication,
    Notification,
    PortalCommunication,
    communication_id,
    portal_setting_id,
)
from aggregates.notification_rules import Contacts, Situation, Trigger, plan
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.values import Source
from hub.actor import Actor, acting_as
from hub.application import HubApplication
from hub.emr.vendors import load_profiles
from hub.follow import LogFollower

log = structlog.get_logger("hub.notifications")

TRACKING_NAME = "notifications"
PROCESS_ACTOR = Actor(subject="notifications", role="admin", channel="process")
TRIGGERS = {
    "Booked": Trigger.BOOKED,
    "Rescheduled": Trigger.RESCHEDULED,
    "Cancelled": Trigger.CANCELLED,
    "Deleted": Trigger.DELETED,
}
TOPICS = [f"aggregates.appointment:Appointment.{name}" for name in TRIGGERS]


def format_address(address: dict[str, Any]) -> str:
    parts = [address.get(k) for k in ("street", "city", "province", "postal_code")]
    return ", ".join(str(p) for p in parts if p)


class NotificationProcess:
    """Follows the log's appointment events (tracked) and plans what N1/N2/N4 say to send."""

    def __init__(self, app: HubApplication, zone: str = "America/Montreal", batch: int = 200) -> None:
        self.app = app
        self.zone = ZoneInfo(zone)
        self.follower = LogFollower(app, TRACKING_NAME, TOPICS, batch_size=batch)

    def position(self) -> int:
        """The log position up to which appointment events were handled (0 before the first)."""
        return self.follower.position()

    def run_once(self, stop: int | None = None) -> int:
        """Handle the next batch of appointment events (up to ``stop``); return how many log
        positions were passed (0: nothing new, or a transaction still writing)."""
        start = self.position()
        batch = self.follower.read(start, stop=stop)
        for entry in batch.events:
            self._handle(entry)
        self.follower.advance(batch.reached)
        return batch.reached - start

    def catch_up(self, timeout: float = 5.0) -> bool:
        """Handle every appointment event committed so far; False if ``timeout`` ran out."""
        head = self.app.head()
        deadline = time.monotonic() + timeout
        while self.position() < head:
            if time.monotonic() > deadline:
                return False
            if not self.run_once(stop=head):
                time.sleep(0.01)
        return True

    # -- one event -------------------------------------------------------------------------
    def _handle(self, entry: LogEntry) -> None:
        for attempt in range(32):
            try:
                with acting_as(PROCESS_ACTOR):
                    self.follower.save_tracked(entry.id, *self._decide(entry))
                return
            except (RecordConflictError, IntegrityError):
                if self.follower.handled(entry.id):
                    return  # another follower handled it (its tracking record won)
                log.debug("notification planning conflict, retrying", position=entry.id,
                          attempt=attempt + 1)
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RecordConflictError(f"could not plan notifications for log position {entry.id}")

    def _decide(self, entry: LogEntry) -> list[Aggregate]:
        event: Any = self.app.mapper.to_domain_event(entry)
        trigger = TRIGGERS[type(event).__name__]
        now: datetime = event.timestamp
        appointment: Appointment = self.app.repository.get(
            UUID(str(entry.originator_id)), version=entry.originator_version
        )
        meta = dict(getattr(event, "meta", None) or {})
        communication = self._communication(appointment, meta)
        changed: list[Aggregate] = [communication]
        if trigger is not Trigger.BOOKED:
            changed += self._withdraw(communication, f"appointment {trigger.value}")
        patient = self.app.load(Patient, appointment.patient_id, "patient")
        service = self.app.load(Service, appointment.service_id, "service")
        professional = self.app.load(Professional, appointment.professional_id, "professional")
        clinic = self.app.load(Clinic, appointment.clinic_id, "clinic")
        language = appointment.language or patient.language or "fr"
        decision = plan(Situation(
            trigger=trigger, now=now, start=appointment.start, category=service.category,
            professional_type=professional.type,
            contacts=Contacts(**appointment.message_contacts(patient.contacts())),
            language=language, zone=self.zone,
            portal_notifies_itself=self._portal_notifies(communication.booked_by, appointment.source,
                                                          appointment.identifiers),
            was_cancelled=bool(getattr(event, "was_cancelled", False)),
        ))
        details = {
            "patient_name": appointment.message_name(patient.name), "clinic_name": clinic.name, "clinic_phone": clinic.phone,
            "clinic_address": format_address(clinic.address), "professional_name": professional.name,
            "service_name": service.name, "category": service.category,
            "start": appointment.start.isoformat(), "end": appointment.end.isoformat(),
            "cancellation_delay_hours": service.cancellation_delay_hours,
        }
        origin = str(entry.id)
        planned = [
            Notification(appointment_id=appointment.id, origin=origin, kind=n.kind.value,
                         clinic_id=appointment.clinic_id, channel=n.channel.value,
                         address=n.address, language=n.language, due_at=n.due_at, details=details)
            for n in decision.notices
        ]
        communication.add([n.id for n in planned])
        log.info("notifications planned", appointment_id=str(appointment.id), trigger=trigger.value,
                 planned=[f"{n.kind}/{n.channel}" for n in planned], reason=decision.reason or None)
        return [*changed, *planned]

    def _communication(self, appointment: Appointment, meta: dict[str, Any]) -> AppointmentCommunication:
        key = communication_id(appointment.id)
        if self.app.exists(key):
            return self.app.load(AppointmentCommunication, key, "appointment communication")
        booked_by = meta.get("subject") if meta.get("role") == "portal" else None
        return AppointmentCommunication(appointment_id=appointment.id, clinic_id=appointment.clinic_id,
                                        patient_id=appointment.patient_id, booked_by=booked_by)

    def _withdraw(self, communication: AppointmentCommunication, reason: str) -> list[Aggregate]:
        withdrawn: list[Aggregate] = []
        for notification_id in communication.notification_ids:
            notification = self.app.load(Notification, notification_id, "notification")
            if notification.withdraw(reason):
                withdrawn.append(notification)
        return withdrawn

    def _portal_notifies(self, booked_by: str | None, source: str,
                         identifiers: list[dict[str, str]] | None = None) -> bool:
        """N4: a setting for the booking token's subject, else for the portal whose appointment
        identifier the booking carries (vendor profiles; set by the setup wizard for the portals
        that message their own bookings), else for its source (``portal``)."""
        online = Source(source).is_online if source in set(Source) else False
        named = load_profiles().portals_named_by(identifiers or []) if online else []
        for key in (booked_by, *named, source):
            if key and self.app.exists(portal_setting_id(key)):
                setting = self.app.load(PortalCommunication, portal_setting_id(key), "portal")
                return setting.notifies_itself
        return False

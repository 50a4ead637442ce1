"""Outbound SIU: follow the event log and send a clinic's appointments to the EMR that subscribed.

One follower per subscribed sender, with its position tracked in the store (eventsourcing
tracking records, ``hl7-out:{sender id}``). Delivery is at least once: a message is sent,
its ACK checked, then the position advances. MSH-10 is derived from the log position, so a
resend after a crash carries the same control id and the EMR can drop the duplicate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import structlog
from eventsourcing.persistence import Notification

from aggregates.appointment import Appointment
from aggregates.emr import EmrCodeOf, Hl7Sender, emr_code_of_id
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from connectors.hl7v2.er7 import Hl7Problem, header, parse, segment, value
from connectors.hl7v2.mllp import MllpClient, MllpError
from connectors.hl7v2.siu_out import TRIGGERS, SiuContent, build_siu
from hub.emr.feeds import EmrFeeds
from hub.follow import LogFollower
from projections.eventlog import describe

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

log = structlog.get_logger("connectors.hl7v2.outbound")
APPOINTMENT_TOPICS = [f"{Appointment.__module__}:Appointment.{name}" for name in TRIGGERS]


class Transport(Protocol):
    def send(self, text: str) -> str: ...
    def close(self) -> None: ...


class DeliveryFailed(Exception):
    """The EMR did not acknowledge a message after all retries; the feed stops there."""


@dataclass(frozen=True)
class FeedResult:
    sent: int
    skipped: int
    position: int
    #: How many log positions this round passed (0: caught up, or a transaction still writing).
    read: int = 0


def ack_code(ack: str, control_id: str) -> str:
    """MSA-1 of an ACK answering ``control_id``; raises ``MllpError`` for anything else."""
    try:
        message = parse(ack)
    except Hl7Problem as exc:
        raise MllpError(f"unreadable ACK: {exc}") from None
    msa = segment(message, "MSA")
    if msa is None or header(ack).message_type != "ACK":
        raise MllpError("the answer is not an ACK with an MSA segment")
    if value(msa, "msa_2") != control_id:
        raise MllpError(f"ACK answers {value(msa, 'msa_2')!r}, not {control_id!r}")
    return value(msa, "msa_1")


class SiuFeed:
    """Sends one sender's clinic appointments as SIU, from its tracked position."""

    def __init__(self, app: Scheduling, sender: Hl7Sender,
                 transport: Callable[[str, int], Transport] | None = None,
                 retries: int = 5, backoff_seconds: float = 0.5, timeout: float = 5.0) -> None:
        if sender.outbound is None:
            raise ValueError(f"sender {sender.subject} has no outbound subscription")
        self.app = app
        self.sender = sender
        self.tracking_name = f"hl7-out:{sender.id}"
        self.follower = LogFollower(app, self.tracking_name, APPOINTMENT_TOPICS, batch_size=100,
                                    floor=int(sender.outbound["from_position"]))
        factory = transport or (lambda host, port: MllpClient(host, port, timeout=timeout))
        self.transport = factory(sender.outbound["host"], int(sender.outbound["port"]))
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    def position(self) -> int:
        return self.follower.position()

    def run_once(self, limit: int = 100) -> FeedResult:
        """Send what is due (events up to ``limit`` log positions on); raises ``DeliveryFailed``
        and keeps the position of the first message not acknowledged."""
        sent = skipped = 0
        start = self.position()
        batch = self.follower.read(start, stop=start + limit)
        for notification in batch.events:
            siu = self.siu_for(notification)
            if siu is None:
                skipped += 1
            else:
                self.deliver(siu, f"HUB{notification.id}")
                sent += 1
            self.follower.advance(notification.id)
        self.follower.advance(batch.reached)
        return FeedResult(sent, skipped, batch.reached, batch.reached - start)

    def siu_for(self, notification: Notification) -> str | None:
        record = describe(notification, self.app.mapper)
        if record.meta.get("subject") == self.sender.subject:
            return None  # the EMR's own change, echoed back: it knows already
        trigger = TRIGGERS.get(record.type)
        if trigger is None or (trigger == "S26" and record.data.get("status") != "absent"):
            return None
        appointment: Appointment = self.app.repository.get(record.aggregate_id, version=record.version)
        if appointment.clinic_id != self.sender.clinic_id:
            return None
        professional = self.app.load(Professional, appointment.professional_id, "professional")
        service = self.app.load(Service, appointment.service_id, "service")
        return build_siu(SiuContent(
            trigger=trigger,
            control_id=f"HUB{notification.id}",
            receiving_application=self.sender.application,
            receiving_facility=self.sender.facility,
            appointment=appointment,
            patient=self.app.load(Patient, appointment.patient_id, "patient"),
            professional=professional,
            service=service,
            professional_code=self.emr_code("professional", professional.id) or professional.licence or "",
            service_code=self.emr_code("service", service.id) or "",
        ))

    def emr_code(self, kind: str, target_id: UUID) -> str | None:
        """The EMR's own code for a hub professional or service, when it named it."""
        key = emr_code_of_id(self.sender.clinic_id, kind, target_id)
        if key not in self.app.repository:
            return None
        return self.app.load(EmrCodeOf, key, "emr code").code

    def deliver(self, siu: str, control_id: str) -> None:
        """Send until AA (or AE: the EMR refused the content; logged, not resent)."""
        for attempt in range(1, self.retries + 1):
            try:
                code = ack_code(self.transport.send(siu), control_id)
                if code in ("AA", "CA"):
                    return
                if code in ("AE", "CE"):
                    log.warning("EMR refused an outbound SIU", sender=self.sender.subject,
                                control_id=control_id)
                    return
                log.info("EMR rejected an outbound SIU; retrying", code=code, attempt=attempt)
            except MllpError as exc:
                log.info("outbound SIU not acknowledged; retrying", sender=self.sender.subject,
                         control_id=control_id, attempt=attempt, error=str(exc))
            if attempt < self.retries:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise DeliveryFailed(f"{self.sender.subject}: no AA for {control_id} after {self.retries} tries")

    def close(self) -> None:
        self.transport.close()


def run_feeds(app: Scheduling, stop: threading.Event, interval: float = 1.0, once: bool = False,
              **feed_options: object) -> int:
    """Follow every subscribed sender until ``stop`` is set (or one pass with ``once``)."""
    total = 0
    while not stop.is_set():
        for sender in EmrFeeds(app).senders():
            if sender.outbound is None:
                continue
            feed = SiuFeed(app, sender, **feed_options)  # type: ignore[arg-type]  # SiuFeed's keyword options
            try:
                while (result := feed.run_once()).read:
                    total += result.sent
            except DeliveryFailed as exc:
                log.error("outbound SIU feed stopped", error=str(exc))
                if once:
                    raise
            finally:
                feed.close()
        if once:
            break
        stop.wait(interval)
    return total

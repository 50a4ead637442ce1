"""EMR feeds (CONTRACT "HL7 v2 senders"): register who may send a clinic's agenda, and where
the hub sends that clinic's appointments back (outbound SIU over MLLP)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import structlog

from aggregates.clinic import Clinic
from aggregates.emr import Hl7Receipt, Hl7Sender, receipt_id, sender_id
from hub.scheduling.service import Written

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

log = structlog.get_logger("hub.emr.feeds")
SENDER_TOPIC = f"{Hl7Sender.__module__}:{Hl7Sender.__qualname__}.Registered"


class EmrFeeds:
    """Sender registrations of a ``Scheduling`` application."""

    def __init__(self, app: Scheduling) -> None:
        self.app = app

    def register_sender(self, clinic_id: UUID, application: str, facility: str) -> tuple[Written, bool]:
        """Register MSH-3/MSH-4 for a clinic; returns (written, created). Idempotent per clinic."""
        def run() -> tuple[Written, bool]:
            self.app.load(Clinic, clinic_id, "clinic")
            candidate = Hl7Sender.register(clinic_id, application, facility)
            known = self.find_sender(candidate.application, candidate.facility)
            if known is not None:
                known.require_clinic(clinic_id)
                return Written(known.id, self.app.head()), False
            return Written(candidate.id, self.app.commit(candidate)), True

        written, created = self.app.retrying(run, "register hl7 sender")
        if created:
            log.info("hl7 sender registered", sender_id=str(written.id), clinic_id=str(clinic_id),
                     application=application, facility=facility)
        return written, created

    def subscribe(self, clinic_id: UUID, sender: UUID, host: str, port: int) -> Written:
        """Ask for this clinic's appointments as SIU at ``host:port``, from now on."""
        def run() -> Written:
            registered = self.app.load(Hl7Sender, sender, "hl7 sender")
            registered.require_clinic(clinic_id)
            registered.subscribe(host, port, from_position=self.app.head())
            return Written(registered.id, self.app.commit(registered))

        return self.app.retrying(run, "subscribe hl7 sender")

    def unsubscribe(self, clinic_id: UUID, sender: UUID) -> Written:
        registered = self.app.load(Hl7Sender, sender, "hl7 sender")
        registered.require_clinic(clinic_id)
        registered.unsubscribe()
        return Written(registered.id, self.app.commit(registered))

    def find_sender(self, application: str, facility: str) -> Hl7Sender | None:
        found = self.app.load_many([sender_id(application, facility)])
        sender = next(iter(found.values()), None)
        return sender if isinstance(sender, Hl7Sender) else None

    def senders(self, clinic_id: UUID | None = None) -> list[Hl7Sender]:
        """All registered senders (of one clinic), oldest first."""
        found: list[Hl7Sender] = []
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start, 500, topics=[SENDER_TOPIC])
            for notification in page:
                sender = self.app.load(Hl7Sender, UUID(str(notification.originator_id)), "hl7 sender")
                if clinic_id is None or sender.clinic_id == clinic_id:
                    found.append(sender)
            if len(page) < 500:
                return found
            start = page[-1].id + 1

    def known_sender(self, application: str, facility: str) -> Hl7Sender | None:
        """The sender for inbound messages: its clinic and subject never change once registered
        and a sender is never removed, so the cached one is used without a query when present."""
        cached = self.app.peek(sender_id(application, facility))
        return cached if isinstance(cached, Hl7Sender) else self.find_sender(application, facility)

    def receipt(self, sender: UUID, control_id: str) -> Hl7Receipt | None:
        found = self.app.load_many([receipt_id(sender, control_id)])
        receipt = next(iter(found.values()), None)
        return receipt if isinstance(receipt, Hl7Receipt) else None

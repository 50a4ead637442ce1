"""EMR feeds (SPEC P4, CONTRACT "HL7 v2 senders"): who may send a clinic's agenda, and the
index aggregates that make an EMR's own codes and appointment numbers findable.

Index aggregates have ids derived from what they index (uuid5), so two racing writers of the
same key conflict on save and one of them retries.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue

#: Kinds of things an EMR names by its own codes (AIP, AIS, AIL, AIG segments).
EMR_CODE_KINDS = ("professional", "service", "location", "resource")


def _key(kind: str, *parts: object) -> UUID:
    return uuid5(NAMESPACE_URL, f"hub:{kind}:" + "|".join(str(p) for p in parts))


def sender_id(application: str, facility: str) -> UUID:
    """The id of the sender registered for MSH-3 (application) and MSH-4 (facility)."""
    return _key("hl7-sender", application.strip(), facility.strip())


class SenderTaken(Conflict):
    code = "sender_taken"


class Hl7Sender(Aggregate):
    """An EMR feed: SIU from MSH-3/MSH-4 apply to one clinic; it may subscribe to its SIU."""

    @staticmethod
    def create_id(clinic_id: UUID, application: str, facility: str) -> UUID:
        return sender_id(application, facility)

    @classmethod
    def register(cls, clinic_id: UUID, application: str, facility: str) -> Hl7Sender:
        application, facility = application.strip(), facility.strip()
        for name, value in (("sending_application", application), ("sending_facility", facility)):
            if not value or len(value) > 227 or any(c in value for c in "|^~\\&\r\n"):
                raise InvalidValue(
                    f"{name} must be a non-empty HL7 namespace id without delimiters", field=name
                )
        return cls(clinic_id=clinic_id, application=application, facility=facility)

    @event("Registered")
    def __init__(self, clinic_id: UUID, application: str, facility: str) -> None:
        self.clinic_id = clinic_id
        self.application = application
        self.facility = facility
        self.outbound: dict[str, Any] | None = None

    @property
    def subject(self) -> str:
        """The actor subject stamped on events this sender causes."""
        return f"hl7:{self.application}^{self.facility}"

    def require_clinic(self, clinic_id: UUID) -> None:
        if clinic_id != self.clinic_id:
            raise SenderTaken(
                f"sender {self.application}^{self.facility} is registered for another clinic",
                sender_id=str(self.id),
            )

    def subscribe(self, host: str, port: int, from_position: int) -> None:
        """Send this clinic's appointments as SIU to ``host:port`` (MLLP), after ``from_position``."""
        if not host.strip() or not 0 < port < 65536:
            raise InvalidValue("outbound MLLP needs a host and a port 1-65535", field="outbound")
        wanted = {"host": host.strip(), "port": port}
        if self.outbound is None or {k: self.outbound[k] for k in wanted} != wanted:
            self._subscribed(host=host.strip(), port=port, from_position=from_position)

    def unsubscribe(self) -> None:
        if self.outbound is not None:
            self._unsubscribed()

    @event("Subscribed")
    def _subscribed(self, host: str, port: int, from_position: int) -> None:
        self.outbound = {"host": host, "port": port, "from_position": from_position}

    @event("Unsubscribed")
    def _unsubscribed(self) -> None:
        self.outbound = None


def emr_code_id(clinic_id: UUID, kind: str, code: str) -> UUID:
    return _key("emr-code", clinic_id, kind, code)


class EmrCode(Aggregate):
    """Index: an EMR's code for a professional, service, location or resource → hub id."""

    @staticmethod
    def create_id(clinic_id: UUID, kind: str, code: str, target_id: UUID) -> UUID:
        return emr_code_id(clinic_id, kind, code)

    @event("CodeIndexed")
    def __init__(self, clinic_id: UUID, kind: str, code: str, target_id: UUID) -> None:
        if kind not in EMR_CODE_KINDS:
            raise InvalidValue(f"EMR code kind must be one of {', '.join(EMR_CODE_KINDS)}")
        self.clinic_id = clinic_id
        self.kind = kind
        self.code = code
        self.target_id = target_id


def emr_code_of_id(clinic_id: UUID, kind: str, target_id: UUID) -> UUID:
    return _key("emr-code-of", clinic_id, kind, target_id)


class EmrCodeOf(Aggregate):
    """Index the other way: a hub professional, service, ... → the EMR's code for it."""

    @staticmethod
    def create_id(clinic_id: UUID, kind: str, target_id: UUID, code: str) -> UUID:
        return emr_code_of_id(clinic_id, kind, target_id)

    @event("CodeOfIndexed")
    def __init__(self, clinic_id: UUID, kind: str, target_id: UUID, code: str) -> None:
        self.clinic_id = clinic_id
        self.kind = kind
        self.target_id = target_id
        self.code = code


class EmrResource(Aggregate):
    """A location (AIL) or general resource (AIG: room, equipment) an EMR names."""

    @classmethod
    def register(cls, clinic_id: UUID, kind: str, code: str, name: str) -> EmrResource:
        if kind not in ("location", "resource"):
            raise InvalidValue("an EMR resource is a location or a resource", field="kind")
        return cls(clinic_id=clinic_id, kind=kind, code=code, name=(name or code).strip())

    @event("Registered")
    def __init__(self, clinic_id: UUID, kind: str, code: str, name: str) -> None:
        self.clinic_id = clinic_id
        self.kind = kind
        self.code = code
        self.name = name


def appointment_identifier_id(clinic_id: UUID, system: str, value: str) -> UUID:
    return _key("appointment-identifier", clinic_id, system, value)


class AppointmentIdentifier(Aggregate):
    """Index: an EMR's placer or filler appointment id (SCH-1, SCH-2) → hub appointment."""

    @staticmethod
    def create_id(clinic_id: UUID, system: str, value: str, appointment_id: UUID) -> UUID:
        return appointment_identifier_id(clinic_id, system, value)

    @event("IdentifierIndexed")
    def __init__(self, clinic_id: UUID, system: str, value: str, appointment_id: UUID) -> None:
        self.clinic_id = clinic_id
        self.system = system
        self.value = value
        self.appointment_id = appointment_id


def emr_slot_id(clinic_id: UUID, professional_id: UUID, start: str, end: str) -> UUID:
    return _key("emr-slot", clinic_id, professional_id, start, end)


class EmrSlotKey(Aggregate):
    """Index: a slot an EMR opened (S24) for a professional, start and end → hub slot."""

    @staticmethod
    def create_id(
        clinic_id: UUID, professional_id: UUID, start: str, end: str, slot_id: UUID
    ) -> UUID:
        return emr_slot_id(clinic_id, professional_id, start, end)

    @event("SlotIndexed")
    def __init__(
        self, clinic_id: UUID, professional_id: UUID, start: str, end: str, slot_id: UUID
    ) -> None:
        self.clinic_id = clinic_id
        self.professional_id = professional_id
        self.start = start
        self.end = end
        self.slot_id = slot_id


def receipt_id(sender: UUID, control_id: str) -> UUID:
    return _key("hl7-receipt", sender, control_id)


class Hl7Receipt(Aggregate):
    """A message applied for a sender (MSH-10), with the ACK it got: a resend is replayed.

    Saved in the same transaction as the message's effects, so a message applies once.
    """

    @staticmethod
    def create_id(
        sender: UUID, control_id: str, trigger: str, digest: str, ack: str, effects: dict[str, Any]
    ) -> UUID:
        return receipt_id(sender, control_id)

    @event("MessageApplied")
    def __init__(
        self, sender: UUID, control_id: str, trigger: str, digest: str, ack: str,
        effects: dict[str, Any],
    ) -> None:
        self.sender = sender
        self.control_id = control_id
        self.trigger = trigger
        self.digest = digest
        self.ack = ack
        self.effects = dict(effects)

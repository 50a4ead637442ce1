"""One EMR message's changes to its clinic's agenda, gathered to be saved in one transaction.

``EmrMessage`` is what an EMR says (from HL7 v2 SIU or another connector) in the hub's words;
``AgendaChanges`` finds or creates what it names: professionals, services, locations and
resources by the EMR's codes, EMR-managed slots, the patient, the appointment's ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.emr import (
    AppointmentIdentifier,
    EmrCode,
    EmrCodeOf,
    EmrResource,
    EmrSlotKey,
    appointment_identifier_id,
    emr_code_id,
    emr_slot_id,
)
from aggregates.errors import InvalidValue, NotFound
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from hub.imports.service import imported_id
from hub.scheduling.patients import Matched

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

A = TypeVar("A", bound=Aggregate)
#: EMR code kinds that the staff and services import also creates (``hub.imports.service``).
IMPORT_KINDS = {"professional": "staff", "service": "services"}
#: Placer/filler ids in this system are the hub's own appointment ids (echoed back by EMRs).
HUB_SYSTEM = "HUB"


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


class AgendaChanges:
    """What one EMR message changes: aggregates loaded or created, saved together, and the
    lookups and creations (professionals, services, slots, ids) it needs."""

    def __init__(self, app: Scheduling, clinic_id: UUID) -> None:
        self.app = app
        self.clinic_id = clinic_id
        self.pending: dict[UUID, Aggregate] = {}
        self.created: list[str] = []
        #: What was read from the store for this message (None: does not exist).
        self.read: dict[UUID, Aggregate | None] = {}

    def prefetch(self, aggregate_ids: Iterable[UUID]) -> None:
        """Read these aggregates (those not read yet) in one query."""
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in self.read and i not in self.pending]
        if wanted:
            found = self.app.load_many(wanted)
            self.read.update({i: found.get(i) for i in wanted})

    def prefetch_message(self, m: EmrMessage, also: Iterable[UUID] = ()) -> None:
        """Read what a message names, in two queries: its EMR codes, appointment ids and patient
        index entries, then what those point to (professionals, services, appointments, slot)."""
        codes = [emr_code_id(self.clinic_id, kind, party.code)
                 for kind, parties in (("professional", m.professionals[:1] or m.resources[:1]),
                                       ("service", m.services[:1]), ("location", m.locations),
                                       ("resource", m.resources))
                 for party in parties]
        imported = [imported_id(self.clinic_id, IMPORT_KINDS[kind], party.code)
                    for kind, parties in (("professional", m.professionals[:1]), ("service", m.services[:1]))
                    for party in parties]
        identifiers = []
        for ident in m.identifiers:
            if ident["system"] == HUB_SYSTEM:
                try:
                    identifiers.append(UUID(ident["value"]))
                except ValueError:
                    continue
            else:
                identifiers.append(appointment_identifier_id(self.clinic_id, ident["system"], ident["value"]))
        patient = self.app.patients.index_ids(dict(m.patient)) if m.patient else []
        # What the codes pointed to when last seen here (an EMR's codes seldom change), read in
        # the same query: the two reads below then cost nothing, unless a code moved meanwhile.
        seen = [self.app.peek(code) for code in codes]
        expected = [c.target_id for c in seen if isinstance(c, EmrCode)]
        first_seen = seen[0] if seen else None
        if isinstance(first_seen, EmrCode) and m.start is not None and m.end is not None:
            expected.append(emr_slot_id(self.clinic_id, first_seen.target_id, m.start.isoformat(),
                                        m.end.isoformat()))
        self.prefetch([*also, self.clinic_id, *codes, *imported, *identifiers, *patient, *expected])
        targets: list[UUID] = []
        for aggregate in self.read.values():
            if isinstance(aggregate, EmrCode):
                targets.append(aggregate.target_id)
            elif isinstance(aggregate, AppointmentIdentifier):
                targets.append(aggregate.appointment_id)
        self.prefetch(targets)
        first = self.read.get(codes[0]) if codes else None
        if isinstance(first, EmrCode) and m.start is not None and m.end is not None:
            self.prefetch([emr_slot_id(self.clinic_id, first.target_id, m.start.isoformat(), m.end.isoformat())])

    def get(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        known = self.pending.get(aggregate_id)
        if isinstance(known, cls):
            return known
        self.prefetch([aggregate_id])
        loaded = self.read.get(aggregate_id)
        if not isinstance(loaded, cls):
            raise NotFound(f"{what} {aggregate_id} does not exist", id=str(aggregate_id))
        if getattr(loaded, "clinic_id", self.clinic_id) != self.clinic_id:
            raise NotFound(f"{what} {aggregate_id} does not exist in this clinic")
        self.pending[aggregate_id] = loaded
        return loaded

    def has(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.pending:
            return True
        self.prefetch([aggregate_id])
        return self.read.get(aggregate_id) is not None

    def add(self, *aggregates: Aggregate, created: bool = True) -> None:
        for aggregate in aggregates:
            self.pending[aggregate.id] = aggregate
            if created:
                self.created.append(f"{type(aggregate).__name__}:{aggregate.id}")

    def find(self, m: EmrMessage) -> Appointment | None:
        for ident in m.identifiers:
            if ident["system"] == HUB_SYSTEM:
                try:
                    hub_id = UUID(ident["value"])
                except ValueError:
                    continue
                if self.has(hub_id):
                    return self.get(Appointment, hub_id, "appointment")
                continue
            key = appointment_identifier_id(self.clinic_id, ident["system"], ident["value"])
            if self.has(key):
                index = self.get(AppointmentIdentifier, key, "appointment identifier")
                return self.get(Appointment, index.appointment_id, "appointment")
        return None

    def require(self, m: EmrMessage) -> Appointment:
        found = self.find(m)
        if found is None:
            names = ", ".join(f"{i['value']} ({i['system']})" for i in m.identifiers) or "none"
            raise NotFound(f"no appointment of this clinic has the ids given (SCH-1/SCH-2: {names})")
        return found

    def index(self, appointment: Appointment, identifiers: list[dict[str, str]],
              known_new: bool = False) -> None:
        """Index the appointment's EMR ids. ``known_new``: ``find`` just saw none of them, so a
        concurrent writer of the same id makes the save conflict and the message is retried."""
        for ident in identifiers:
            key = appointment_identifier_id(self.clinic_id, ident["system"], ident["value"])
            if not known_new and self.has(key):
                other = self.get(AppointmentIdentifier, key, "appointment identifier")
                if other.appointment_id != appointment.id:
                    raise InvalidValue(f"appointment id {ident['value']} ({ident['system']}) "
                                       "already belongs to another appointment", field="SCH-2")
                continue
            self.add(AppointmentIdentifier(self.clinic_id, ident["system"], ident["value"],
                                            appointment.id), created=False)

    def release(self, appointment: Appointment) -> None:
        slot = self.get(Slot, appointment.slot_id, "slot")
        clinic = self.get(Clinic, self.clinic_id, "clinic")
        slot.release(appointment.id, appointment.product, clinic.application_type)

    def slot_for(self, professional: Professional, service: Service,
                  start: datetime, end: datetime) -> Slot:
        """A slot the EMR opened (S24) at that time with room, else a new locked one-place slot."""
        key = emr_slot_id(self.clinic_id, professional.id, start.isoformat(), end.isoformat())
        if self.has(key):
            slot = self.get(Slot, self.get(EmrSlotKey, key, "emr slot").slot_id, "slot")
            if slot.remaining() >= 1 and service.id in slot.service_ids and (
                not service.product or service.product in slot.products
            ):
                return slot
        slot = Slot.open(self.clinic_id, professional.id, start, end, 1, [service.id],
                         [service.product] if service.product else [], locked=True)
        self.add(slot)
        return slot

    def patient(self, m: EmrMessage) -> Matched:
        """The PID's patient (a known one unchanged; the EMR's identifiers added). Its index
        entries were read with the message (``prefetch_message``)."""
        matched = self.app.patients.match(dict(m.patient or {}), by_emr=True)
        self.add(*matched.changed, created=False)
        return matched

    def professional(self, m: EmrMessage) -> Professional:
        if m.professionals:
            party = m.professionals[0]
            kind = party.role or m.professional_type
        elif m.resources:
            party, kind = m.resources[0], "other"
        else:
            raise InvalidValue("the message names no professional (AIP) nor resource (AIG)",
                               field="AIP")
        return self._coded("professional", party, Professional,
                           lambda: Professional.register(self.clinic_id, party.name or party.code, kind))

    def service(self, m: EmrMessage, start: datetime, end: datetime) -> Service:
        if not m.services:
            raise InvalidValue("the message names no service (AIS, or SCH-7/SCH-8)", field="AIS")
        party = m.services[0]
        minutes = party.duration_minutes or max(1, int((end - start).total_seconds() // 60))
        return self._coded("service", party, Service, lambda: Service.define(
            self.clinic_id, party.name or party.code, minutes, m.service_category, False,
            m.cancellation_delay_hours))

    def resources(self, m: EmrMessage) -> list[dict[str, str]]:
        """The locations (AIL) and resources (AIG, past the one standing for the professional)
        the message names, found or registered, as an appointment links them."""
        resources = m.resources if m.professionals else m.resources[1:]
        named = []
        for kind, parties in (("location", m.locations), ("resource", resources)):
            for party in parties:
                def register(p: Any = party, k: str = kind) -> EmrResource:
                    return EmrResource.register(self.clinic_id, k, p.code, p.name)

                found = self._coded(kind, party, EmrResource, register)
                named.append({"id": str(found.id), "kind": kind, "code": found.code,
                              "name": found.name})
        return named

    def _coded(self, kind: str, party: EmrParty, cls: type[A],
               create: Callable[[], A]) -> A:
        """What the EMR's code names: known by that code, else imported from the same EMR with
        that code as source id (seed 002 staff and services import), else created now."""
        key = emr_code_id(self.clinic_id, kind, party.code)
        if self.has(key):
            return self.get(cls, self.get(EmrCode, key, "emr code").target_id, kind)
        import_kind = IMPORT_KINDS.get(kind)
        imported = imported_id(self.clinic_id, import_kind, party.code) if import_kind else None
        if imported is not None and self.has(imported):
            made = self.get(cls, imported, kind)
        else:
            made = create()
            self.add(made, created=True)
        self.add(EmrCode(self.clinic_id, kind, party.code, made.id),
                 EmrCodeOf(self.clinic_id, kind, made.id, party.code), created=False)
        return made


def times(m: EmrMessage) -> tuple[datetime, datetime]:
    if m.start is None:
        raise InvalidValue("the message gives no start time (TQ1-7, SCH-11.4 or AIS-4)", field="TQ1-7")
    if m.end is None:
        raise InvalidValue("the message gives no end time nor duration (TQ1-8, SCH-11.5, SCH-9, "
                           "AIS-7)", field="TQ1-8")
    return m.start, m.end


def own_identifiers(m: EmrMessage) -> list[dict[str, str]]:
    return [i for i in m.identifiers if i["system"] != HUB_SYSTEM]

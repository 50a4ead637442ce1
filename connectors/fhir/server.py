"""FHIR R4 reads and searches over the hub, within a caller's scope.

A ``Scope`` says which clinics the caller acts for and whether it sees the online view (a
portal: unlocked slots of online services only). Everything outside the scope is "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from aggregates.account import Account
from aggregates.account_icons import NO_ACCOUNT
from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.errors import InvalidValue
from aggregates.patient import NAM_SYSTEM, Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from connectors.fhir import codes, resources
from connectors.fhir.outcome import FhirError
from connectors.fhir.search import Query, date_range, reference_id, searchset, token, uuid_of
from hub.access.visibility import Viewer
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling
from projections.tables import parse_instant

RESOURCE_TYPES = ("Location", "Practitioner", "HealthcareService", "Schedule", "Slot", "Appointment")
SEARCH_PARAMETERS = {
    "Location": frozenset(),
    "Practitioner": frozenset({"identifier"}),
    "HealthcareService": frozenset({"location"}),
    "Schedule": frozenset({"actor"}),
    "Slot": frozenset({"schedule", "start", "status", "service-type"}),
    "Appointment": frozenset({"identifier", "patient.identifier", "date", "status"}),
}


@dataclass(frozen=True)
class Scope:
    """Who is asking: the clinics it acts for (None: all) and whether it sees the online view."""

    clinic_ids: frozenset[UUID] | None
    online: bool = False
    source: str = "admin"
    #: which appointments it sees (``hub.access.visibility``); default: those of its clinics
    viewer: Viewer | None = None

    def sees(self, clinic_id: UUID) -> bool:
        return self.clinic_ids is None or clinic_id in self.clinic_ids

    @property
    def appointments(self) -> Viewer:
        return self.viewer or Viewer(self.clinic_ids)


@dataclass(frozen=True)
class SlotRow:
    """A slot as the availability read model has it: what ``resources.slot`` renders."""

    id: UUID
    clinic_id: UUID
    professional_id: UUID
    start: datetime
    end: datetime
    capacity: int
    booked_count: int
    held: int
    locked: bool
    service_ids: list[UUID]
    products: list[str]
    reserved_for: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> SlotRow:
        return cls(UUID(row["slot_id"]), UUID(row["clinic_id"]), UUID(row["professional_id"]),
                   parse_instant(row["start_at"]), parse_instant(row["end_at"]),  # type: ignore[arg-type]  # a slot always has both
                   int(row["capacity"]), int(row["booked"]), int(row["held"]), bool(row["locked"]),
                   [UUID(s) for s in row["service_ids"]], list(row.get("products") or []),
                   row.get("reserved_for"))

    @property
    def offered_online(self) -> bool:
        """As ``Slot.offered_online``."""
        return not self.locked and self.reserved_for is None

    def remaining(self, online: bool = False) -> int:
        """As ``Slot.remaining``."""
        if online:
            return 0 if not self.offered_online else max(0, self.capacity - self.booked_count - self.held)
        return self.capacity - self.booked_count


@dataclass(frozen=True)
class ServiceRow:
    """A service as the availability read model has it: what a Slot's ``serviceType`` shows."""

    id: UUID
    clinic_id: UUID
    name: str
    online: bool


#: Slots by (clinic ids, professional, start ≥, start <, end >) from a read model, or None when
#: the read model is not up to date with the store (the caller then reads the store).
SlotSource = Callable[[frozenset[UUID] | None, UUID | None, datetime | None, datetime | None,
                       datetime | None], list[dict[str, Any]] | None]


class FhirServer:
    """Read and search Location, Practitioner, HealthcareService, Schedule, Slot, Appointment."""

    def __init__(self, app: Scheduling, zone: ZoneInfo, slot_source: SlotSource | None = None) -> None:
        self.app = app
        self.zone = zone
        self.reads = StoreReads(app, own_id_system=codes.HUB_ID)
        self.slot_source = slot_source

    # -- read ------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str, scope: Scope) -> dict[str, Any]:
        self._known(resource_type)
        ident = uuid_of(resource_id, "id")
        found = self._visible(resource_type, ident, scope)
        if found is None:
            raise FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known",
                            code="not_found")
        return found

    def _visible(self, resource_type: str, ident: UUID, scope: Scope) -> dict[str, Any] | None:
        aggregate = self.app.repository.get(ident, deepcopy_from_cache=False) if ident in self.app.repository else None
        cls = {"Location": Clinic, "Practitioner": Professional, "Schedule": Professional,
               "HealthcareService": Service, "Slot": Slot, "Appointment": Appointment}[resource_type]
        if not isinstance(aggregate, cls):
            return None
        clinic_id = aggregate.id if isinstance(aggregate, Clinic) else aggregate.clinic_id
        if not scope.sees(clinic_id):
            return None
        if isinstance(aggregate, Appointment) and not scope.appointments.appointment(aggregate):
            return None
        if resource_type == "HealthcareService" and scope.online and not aggregate.online:
            return None
        if resource_type == "Slot":
            services = self._services(frozenset({clinic_id}), scope)
            if scope.online and not self._published(aggregate, services):
                return None
            return resources.slot(aggregate, services, scope.online)
        if resource_type == "Appointment":
            return self.appointment(aggregate, scope)
        return self._render(resource_type, aggregate)

    def _render(self, resource_type: str, aggregate: Any) -> dict[str, Any]:
        if resource_type == "Location":
            return resources.location(aggregate)
        if resource_type == "Practitioner":
            return resources.practitioner(aggregate)
        if resource_type == "Schedule":
            return resources.schedule(aggregate)
        return resources.healthcare_service(aggregate)

    def appointment(self, appointment: Appointment, scope: Scope) -> dict[str, Any]:
        """The Appointment as ``scope`` may see it: a portal gets the patient as it gave it
        (the NAM it sent, the name as given), never the hub's record."""
        scope.appointments.shows([appointment.patient_id])  # the read trail (Loi 25)
        service: Service = self.app.repository.get(appointment.service_id, deepcopy_from_cache=False)
        patient = self.reads.patient(appointment.patient_id)
        icons = NO_ACCOUNT
        if appointment.account_id is not None:
            account = self.app.load(Account, appointment.account_id, "account")
            icons = account.icons_for(appointment.patient_id)
        return resources.appointment(appointment, service, patient,
                                     record=scope.appointments.reads_patients, icons=icons)

    # -- search ----------------------------------------------------------------------
    def search(self, resource_type: str, query: Query, scope: Scope, base: str) -> dict[str, Any]:
        self._known(resource_type)
        query.check(SEARCH_PARAMETERS[resource_type], resource_type)
        ids = {uuid_of(v, "_id") for v in query.values("_id")} or None
        finder: Callable[[Query, Scope], list[dict[str, Any]]] = getattr(
            self, f"_search_{resource_type.lower()}")
        found = [r for r in finder(query, scope) if ids is None or UUID(r["id"]) in ids]
        return searchset(found, base, resource_type, query)

    def _search_location(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        return [resources.location(c) for c in self.reads.clinics(scope.clinic_ids)]

    def _search_practitioner(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        found = [resources.practitioner(p) for p in self.reads.professionals(scope.clinic_ids)]
        for value in query.values("identifier"):
            system, code = token(value)
            found = [r for r in found if any(
                i["value"] == code and system in (None, i["system"]) for i in r["identifier"])]
        return found

    def _search_healthcareservice(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        services = list(self._services(scope.clinic_ids, scope).values())
        location = query.one("location")
        if location is not None:
            clinic_id = reference_id(location, "Location", "location")
            services = [s for s in services if s.clinic_id == clinic_id]
        return [resources.healthcare_service(s) for s in services]

    def _search_schedule(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        found = self.reads.professionals(scope.clinic_ids)
        actor = query.one("actor")
        if actor is not None:
            kind = actor.split("/")[-2] if "/" in actor else "Practitioner"
            ident = reference_id(actor, kind, "actor")
            found = [p for p in found if ident in (p.id, p.clinic_id)]
        return [resources.schedule(p) for p in found]

    def _search_slot(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        schedule = query.one("schedule")
        professional_id = reference_id(schedule, "Schedule", "schedule") if schedule else None
        low, high = date_range(query.values("start"), self.zone, "start")
        status = query.one("status")
        if status not in (None, "free", "busy"):
            raise FhirError(400, "invalid", f"status must be free or busy; got {status!r}")
        service_types = [token(v)[1] for v in query.values("service-type")]
        found = []
        rows = self.slot_source(scope.clinic_ids, professional_id, low, high, None) if self.slot_source else None
        slots: list[Any] = ([SlotRow.of(r) for r in rows] if rows is not None
                            else self.reads.slots(scope.clinic_ids, professional_id, low, high))
        # from the read model, its slots come with their services (no scan of the store)
        services: dict[UUID, Any] = ({
            UUID(s["service_id"]): ServiceRow(UUID(s["service_id"]), UUID(s["clinic_id"]), s["name"],
                                              s["online"])
            for r in rows for s in r["services"] if s["online"] or not scope.online}
            if rows is not None else self._services(scope.clinic_ids, scope))
        for slot in slots:
            if scope.online and not self._published(slot, services):
                continue
            if service_types and not {str(s) for s in slot.service_ids} & set(service_types):
                continue
            rendered = resources.slot(slot, services, scope.online)
            if status is None or rendered["status"] == status:
                found.append(rendered)
        return found

    def _search_appointment(self, query: Query, scope: Scope) -> list[dict[str, Any]]:
        identifier = query.one("identifier")
        patient_id: UUID | None = None
        patient_identifier = query.one("patient.identifier")
        if patient_identifier is not None:
            patient = self._patient(*token(patient_identifier))
            if patient is None:
                return []
            patient_id = patient.id
        found = self.reads.appointments(
            scope.appointments, token(identifier) if identifier else None, patient_id)
        low, high = date_range(query.values("date"), self.zone, "date")
        found = [a for a in found if (low is None or a.start >= low) and (high is None or a.start < high)]
        rendered = [self.appointment(a, scope) for a in found]
        statuses = set(query.values("status"))
        return [r for r in rendered if not statuses or r["status"] in statuses]

    # -- helpers ---------------------------------------------------------------------
    def _patient(self, system: str | None, value: str) -> Patient | None:
        hub_system = NAM_SYSTEM if system in (None, codes.NAM, NAM_SYSTEM) else system
        try:
            return self.app.patients.find([{"system": hub_system, "value": value.strip().upper()
                                            if hub_system == NAM_SYSTEM else value}])
        except InvalidValue:
            return None

    def _services(self, clinic_ids: frozenset[UUID] | None, scope: Scope) -> dict[UUID, Service]:
        return {s.id: s for s in self.reads.services(clinic_ids) if s.online or not scope.online}

    @staticmethod
    def _published(slot: Slot | SlotRow, online_services: dict[UUID, Service]) -> bool:
        """Online view: an unlocked slot that accepts at least one online service."""
        return slot.offered_online and any(s in online_services for s in slot.service_ids)

    @staticmethod
    def _known(resource_type: str) -> None:
        if resource_type not in RESOURCE_TYPES:
            raise FhirError(404, "not-supported",
                            f"resource type {resource_type!r} is not served here; served: "
                            f"{', '.join(RESOURCE_TYPES)}", code="unsupported_resource_type")

"""The reads FHIR search needs (slots by schedule and time, appointments by identifier, ...).

Served straight from the event store: the created-event topics list the aggregates, which are
then loaded. This is the one place to switch to the projections' read models (availability,
patient history) once they offer these lookups; callers only see ``StoreReads``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from connectors.fhir.codes import HUB_ID

if TYPE_CHECKING:
    from hub.application import HubApplication

A = TypeVar("A")
_PAGE = 1000


class StoreReads:
    """Lists of the hub's aggregates, filtered the way FHIR search asks."""

    def __init__(self, app: HubApplication) -> None:
        self.app = app

    def _created(self, created_event: type, cls: type[A]) -> Iterator[A]:
        topic = get_topic(created_event)
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start=start, limit=_PAGE, topics=[topic])
            for notification in page:
                aggregate = self.app.repository.get(notification.originator_id)
                if isinstance(aggregate, cls):
                    yield aggregate
            if len(page) < _PAGE:
                return
            start = page[-1].id + 1

    def clinics(self, clinic_ids: frozenset[UUID] | None = None) -> list[Clinic]:
        return [c for c in self._created(Clinic.Registered, Clinic) if _in(c.id, clinic_ids)]

    def professionals(self, clinic_ids: frozenset[UUID] | None = None) -> list[Professional]:
        return [
            p for p in self._created(Professional.Registered, Professional)
            if _in(p.clinic_id, clinic_ids)
        ]

    def services(self, clinic_ids: frozenset[UUID] | None = None) -> list[Service]:
        return [s for s in self._created(Service.Defined, Service) if _in(s.clinic_id, clinic_ids)]

    def slots(
        self,
        clinic_ids: frozenset[UUID] | None = None,
        professional_id: UUID | None = None,
        start_ge: datetime | None = None,
        start_lt: datetime | None = None,
    ) -> list[Slot]:
        found = [
            s for s in self._created(Slot.Opened, Slot)
            if _in(s.clinic_id, clinic_ids)
            and (professional_id is None or s.professional_id == professional_id)
            and (start_ge is None or s.start >= start_ge)
            and (start_lt is None or s.start < start_lt)
        ]
        return sorted(found, key=lambda s: (s.start, str(s.id)))

    def appointments(
        self,
        clinic_ids: frozenset[UUID] | None = None,
        identifier: tuple[str | None, str] | None = None,
        patient_id: UUID | None = None,
    ) -> list[Appointment]:
        """``identifier`` is (system or None for any, value); the hub id matches too."""
        found = []
        for appointment in self._created(Appointment.Booked, Appointment):
            if not _in(appointment.clinic_id, clinic_ids):
                continue
            if patient_id is not None and appointment.patient_id != patient_id:
                continue
            if identifier is not None and not _has_identifier(appointment, *identifier):
                continue
            found.append(appointment)
        return sorted(found, key=lambda a: (a.start, str(a.id)))

    def patient(self, patient_id: UUID) -> Patient | None:
        found = self.app.repository.get(patient_id) if patient_id in self.app.repository else None
        return found if isinstance(found, Patient) else None


def _in(clinic_id: UUID, clinic_ids: frozenset[UUID] | None) -> bool:
    return clinic_ids is None or clinic_id in clinic_ids


def _has_identifier(appointment: Appointment, system: str | None, value: str) -> bool:
    if (system in (None, HUB_ID)) and str(appointment.id) == value:
        return True
    return any(
        i["value"] == value and (system is None or i["system"] == system)
        for i in appointment.identifiers
    )

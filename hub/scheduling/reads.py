"""The reads FHIR search needs (slots by schedule and time, appointments by identifier, ...).

Served straight from the event store: the created-event topics list the aggregates, which are
then loaded. This is the one place to switch to the projections' read models (availability,
patient history) once they offer these lookups; callers only see ``StoreReads``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from hub.access.visibility import EVERYTHING, Viewer

if TYPE_CHECKING:
    from hub.application import HubApplication

A = TypeVar("A")
_PAGE = 1000


class StoreReads:
    """Lists of the hub's aggregates, filtered the way FHIR search asks."""

    def __init__(self, app: HubApplication, own_id_system: str | None = None) -> None:
        self.app = app
        #: The identifier system under which an appointment's hub id is its identifier.
        self.own_id_system = own_id_system

    def _created(
        self, created_event: type, cls: type[A], keep: Callable[[Any], bool] | None = None
    ) -> Iterator[A]:
        """Aggregates by their creation event; ``keep`` sees that event first, so only the
        aggregates it accepts are loaded (filter there on what never changes: clinic, start)."""
        topic = get_topic(created_event)
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start=start, limit=_PAGE, topics=[topic])
            for notification in page:
                if keep is not None and not keep(self.app.mapper.to_domain_event(notification)):
                    continue
                aggregate: Any = self.app.repository.get(UUID(str(notification.originator_id)),
                                                         deepcopy_from_cache=False)
                if isinstance(aggregate, cls):
                    yield aggregate
            if len(page) < _PAGE:
                return
            start = page[-1].id + 1

    def clinics(self, clinic_ids: frozenset[UUID] | None = None) -> list[Clinic]:
        return list(self._created(Clinic.Registered, Clinic,
                                  lambda e: _in(e.originator_id, clinic_ids)))

    def professionals(self, clinic_ids: frozenset[UUID] | None = None) -> list[Professional]:
        return list(self._created(Professional.Registered, Professional,
                                  lambda e: _in(e.clinic_id, clinic_ids)))

    def services(self, clinic_ids: frozenset[UUID] | None = None) -> list[Service]:
        return list(self._created(Service.Defined, Service, lambda e: _in(e.clinic_id, clinic_ids)))

    def slots(
        self,
        clinic_ids: frozenset[UUID] | None = None,
        professional_id: UUID | None = None,
        start_ge: datetime | None = None,
        start_lt: datetime | None = None,
        end_gt: datetime | None = None,
    ) -> list[Slot]:
        """Slots in time order; the filters apply to what never changes (read from ``Opened``
        before any slot is loaded): ``end_gt`` leaves the slots that have ended unloaded."""
        def keep(opened: Any) -> bool:
            return (
                _in(opened.clinic_id, clinic_ids)
                and (professional_id is None or opened.professional_id == professional_id)
                and (start_ge is None or opened.start >= start_ge)
                and (start_lt is None or opened.start < start_lt)
                and (end_gt is None or opened.end > end_gt)
            )

        found = list(self._created(Slot.Opened, Slot, keep))
        return sorted(found, key=lambda s: (s.start, str(s.id)))

    def appointments(
        self,
        viewer: Viewer = EVERYTHING,
        identifier: tuple[str | None, str] | None = None,
        patient_id: UUID | None = None,
    ) -> list[Appointment]:
        """The appointments ``viewer`` sees; ``identifier`` is (system or None for any,
        value), the hub id matches too."""
        def keep(booked: Any) -> bool:
            return viewer.booked(booked.clinic_id, getattr(booked, "booked_by", None)) and (
                patient_id is None or booked.patient_id == patient_id)

        found = []
        for appointment in self._created(Appointment.Booked, Appointment, keep):
            if identifier is not None and not _has_identifier(appointment, *identifier, self.own_id_system):
                continue
            found.append(appointment)
        return sorted(found, key=lambda a: (a.start, str(a.id)))

    def patient(self, patient_id: UUID) -> Patient | None:
        found = self.app.repository.get(patient_id, deepcopy_from_cache=False) if patient_id in self.app.repository else None
        return found if isinstance(found, Patient) else None


def _in(clinic_id: UUID, clinic_ids: frozenset[UUID] | None) -> bool:
    return clinic_ids is None or clinic_id in clinic_ids


def _has_identifier(appointment: Appointment, system: str | None, value: str,
                    own_system: str | None) -> bool:
    if (system is None or system == own_system) and str(appointment.id) == value:
        return True
    return any(
        i["value"] == value and (system is None or i["system"] == system)
        for i in appointment.identifiers
    )

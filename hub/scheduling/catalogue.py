"""Scheduling commands S1–S2: clinics, professionals, services and slots (``Scheduling``'s
catalogue; appointments are in ``hub.scheduling.service``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from aggregates.clinic import Clinic
from aggregates.errors import InvalidValue
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from hub.application import HubApplication


@dataclass(frozen=True)
class Written:
    """What a command wrote: the aggregate it concerns and the last log position."""

    id: UUID
    position: int
    #: The aggregate as saved (the API answers with it instead of reading it again).
    saved: Any = field(default=None, compare=False, repr=False)


class Catalogue(HubApplication):
    """What appointments are given in: clinics, their professionals, services and slots."""

    # -- S1 ------------------------------------------------------------------------
    def register_clinic(
        self, name: str, address: dict[str, Any], phone: str, application_type: str
    ) -> Written:
        clinic = Clinic.register(name, address, phone, application_type)
        return Written(clinic.id, self.commit(clinic))

    def add_professional(
        self,
        clinic_id: UUID,
        name: str,
        type: str,
        licence: str | None = None,
        id: UUID | None = None,
    ) -> Written:
        self.load(Clinic, clinic_id, "clinic")
        professional = Professional.register(clinic_id, name, type, licence, id=id)
        return Written(professional.id, self.commit(professional))

    def update_professional(
        self, professional_id: UUID, name: str, type: str, licence: str | None = None
    ) -> Written:
        """Change a professional's name, type or licence (no event when nothing changed)."""
        professional = self.load(Professional, professional_id, "professional")
        professional.update(name, type, licence)
        return Written(professional.id, self.commit(professional))

    def add_service(
        self,
        clinic_id: UUID,
        name: str,
        duration_minutes: int,
        category: str,
        online: bool,
        cancellation_delay_hours: int,
        product: str | None = None,
        id: UUID | None = None,
    ) -> Written:
        self.load(Clinic, clinic_id, "clinic")
        service = Service.define(
            clinic_id, name, duration_minutes, category, online, cancellation_delay_hours, product,
            id=id,
        )
        return Written(service.id, self.commit(service))

    def update_service(
        self,
        service_id: UUID,
        name: str,
        duration_minutes: int,
        category: str,
        online: bool,
        cancellation_delay_hours: int,
        product: str | None = None,
    ) -> Written:
        """Change a service's details (no event when nothing changed)."""
        service = self.load(Service, service_id, "service")
        service.update(name, duration_minutes, category, online, cancellation_delay_hours, product)
        return Written(service.id, self.commit(service))

    # -- S2 ------------------------------------------------------------------------
    def open_slot(
        self,
        clinic_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        capacity: int,
        service_ids: list[UUID],
        products: list[str] | None = None,
        locked: bool = False,
        id: UUID | None = None,
        reserved_for: str | None = None,
    ) -> Written:
        self.load(Clinic, clinic_id, "clinic")
        professional = self.load(Professional, professional_id, "professional")
        self._same_clinic(clinic_id, professional, "professional")
        for service_id in service_ids:
            self._same_clinic(clinic_id, self.load(Service, service_id, "service"), "service")
        slot = Slot.open(
            clinic_id, professional_id, start, end, capacity, service_ids, products or [], locked,
            id=id, reserved_for=reserved_for,
        )
        return Written(slot.id, self.commit(slot))

    def lock_slot(self, slot_id: UUID) -> Written:
        return self._slot_change(slot_id, Slot.lock, "lock slot")

    def unlock_slot(self, slot_id: UUID) -> Written:
        return self._slot_change(slot_id, Slot.unlock, "unlock slot")

    def reserve_slot_for(self, slot_id: UUID, reserved_for: str | None) -> Written:
        """Keep a slot for 811 or reorientation bookings, or give it back (R2)."""
        return self._slot_change(slot_id, lambda s: s.reserve_for(reserved_for), "reserve slot")

    def assign_product(self, slot_id: UUID, product: str) -> Written:
        return self._slot_change(slot_id, lambda s: s.assign_product(product), "assign product")

    def _slot_change(self, slot_id: UUID, change: Any, what: str) -> Written:
        def run() -> Written:
            slot = self.load(Slot, slot_id, "slot")
            change(slot)
            return Written(slot.id, self.commit(slot))

        return self.retrying(run, what)

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _same_clinic(clinic_id: UUID, aggregate: Any, what: str) -> None:
        if aggregate.clinic_id != clinic_id:
            raise InvalidValue(f"that {what} belongs to another clinic", field=f"{what}_id")

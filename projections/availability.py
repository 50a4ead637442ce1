"""Availability (S2, S4): remaining places per slot, by clinic, service, product and period.

Mirrors ``Slot.remaining``: staff (EMR, admin) see ``capacity - booked``; the online view
(portals, citizens) sees ``capacity - booked - held`` and never a locked slot, a service that
is not bookable online, or an inactive clinic.
"""

from __future__ import annotations

from typing import Any

from aggregates.clinic import Clinic
from aggregates.service import Service
from aggregates.slot import Slot
from projections.base import ReadModelProjection, event_of, handles
from projections.changes import Changes
from projections.tables import Table, instant

TEXT, INT = "text", "int"
SLOTS = "availability_slots"
SERVICES = "availability_services"
CLINICS = "availability_clinics"
SLOT_SERVICES = "availability_slot_services"
SLOT_PRODUCTS = "availability_slot_products"




class AvailabilityProjection(ReadModelProjection):
    """Slots with their places, accepted services and assigned products."""

    name = "availability"
    tables = (
        Table(SLOTS, (
            ("slot_id", TEXT), ("clinic_id", TEXT), ("professional_id", TEXT), ("start_at", TEXT),
            ("end_at", TEXT), ("capacity", INT), ("booked", INT), ("held", INT), ("locked", INT),
            ("last_position", INT), ("reserved_for", TEXT),
        ), ("slot_id",), (("clinic_id", "start_at"), ("start_at",), ("professional_id", "start_at"),
                          ("end_at",))),
        Table(SLOT_SERVICES, (("slot_id", TEXT), ("service_id", TEXT)), ("slot_id", "service_id")),
        Table(SLOT_PRODUCTS, (("slot_id", TEXT), ("product", TEXT)), ("slot_id", "product")),
        Table(SERVICES, (("service_id", TEXT), ("clinic_id", TEXT), ("name", TEXT), ("online", INT),
                         ("product", TEXT)), ("service_id",)),
        Table(CLINICS, (("clinic_id", TEXT), ("name", TEXT), ("application_type", TEXT), ("active", INT)),
              ("clinic_id",)),
    )

    # -- slots ---------------------------------------------------------------------
    @handles(event_of(Slot, "Opened"))
    def opened(self, e: Any, position: int, changes: Changes) -> None:
        slot_id = str(e.originator_id)
        changes.put(SLOTS, {
            "slot_id": slot_id, "clinic_id": str(e.clinic_id),
            "professional_id": str(e.professional_id), "start_at": instant(e.start),
            "end_at": instant(e.end), "capacity": e.capacity, "booked": 0, "held": 0,
            "locked": int(e.locked), "last_position": position,
            "reserved_for": getattr(e, "reserved_for", None),
        })
        for service_id in e.service_ids:
            changes.put(SLOT_SERVICES, {"slot_id": slot_id, "service_id": str(service_id)})
        for product in e.products:
            changes.put(SLOT_PRODUCTS, {"slot_id": slot_id, "product": product})

    @handles(event_of(Slot, "PlaceReserved"), reads=SLOTS)
    def reserved(self, e: Any, position: int, changes: Changes) -> None:
        slot = changes.get(SLOTS, str(e.originator_id))
        if slot is not None:
            changes.update(SLOTS, slot["slot_id"], booked=slot["booked"] + 1,
                           held=slot["held"] - (1 if e.from_held else 0), last_position=position)

    @handles(event_of(Slot, "PlaceReleased"), reads=SLOTS)
    def released(self, e: Any, position: int, changes: Changes) -> None:
        slot = changes.get(SLOTS, str(e.originator_id))
        if slot is None:
            return
        changes.update(SLOTS, slot["slot_id"], booked=slot["booked"] - 1,
                       held=slot["held"] + (1 if e.held else 0), last_position=position)
        if e.associated_product:
            changes.put(SLOT_PRODUCTS, {"slot_id": slot["slot_id"], "product": e.associated_product})

    @handles(event_of(Slot, "Locked"), reads=SLOTS)
    def locked(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(SLOTS, str(e.originator_id), locked=1, last_position=position)

    @handles(event_of(Slot, "Unlocked"), reads=SLOTS)
    def unlocked(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(SLOTS, str(e.originator_id), locked=0, last_position=position)

    @handles(event_of(Slot, "ReservationChanged"), reads=SLOTS)
    def reservation_changed(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(SLOTS, str(e.originator_id), reserved_for=e.reserved_for,
                       last_position=position)

    @handles(event_of(Slot, "ProductAssigned"), reads=SLOTS)
    def product_assigned(self, e: Any, position: int, changes: Changes) -> None:
        if changes.update(SLOTS, str(e.originator_id), held=0, last_position=position):
            changes.put(SLOT_PRODUCTS, {"slot_id": str(e.originator_id), "product": e.product})

    # -- services and clinics ------------------------------------------------------
    @handles(event_of(Service, "Defined"))
    def service_defined(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(SERVICES, {"service_id": str(e.originator_id), "clinic_id": str(e.clinic_id),
                               "name": e.name, "online": int(e.online), "product": e.product})

    @handles(event_of(Service, "Updated"), reads=SERVICES)
    def service_updated(self, e: Any, position: int, changes: Changes) -> None:
        fields = {k: e.changes[k] for k in ("name", "product") if k in e.changes}
        if "online" in e.changes:
            fields["online"] = int(e.changes["online"])
        if fields:
            changes.update(SERVICES, str(e.originator_id), **fields)

    @handles(event_of(Service, "OnlineChanged"), reads=SERVICES)
    def online_changed(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(SERVICES, str(e.originator_id), online=int(e.online))

    @handles(event_of(Clinic, "Registered"))
    def clinic_registered(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(CLINICS, {"clinic_id": str(e.originator_id), "name": e.name,
                              "application_type": e.application_type, "active": 1})

    @handles(event_of(Clinic, "Deactivated"), reads=CLINICS)
    def clinic_deactivated(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(CLINICS, str(e.originator_id), active=0)

    @handles(event_of(Clinic, "Activated"), reads=CLINICS)
    def clinic_activated(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(CLINICS, str(e.originator_id), active=1)

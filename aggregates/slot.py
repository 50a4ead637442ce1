"""Slot (S2, S4): a period of a professional's time with a number of places.

An appointment is always given in a slot; the slot is the consistency boundary that keeps
its appointments within capacity, whatever the concurrency (optimistic concurrency on the
slot's version serialises racing bookings).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.reorientation import check_booking, reservation
from aggregates.values import ApplicationType, require_aware


class SlotFull(Conflict):
    code = "slot_full"


class SlotLocked(Conflict):
    code = "slot_locked"


class ServiceNotAccepted(Conflict):
    code = "service_not_accepted"


class ProductNotAssigned(Conflict):
    code = "product_not_assigned"


class Slot(Aggregate):
    """A "plage horaire": start, end, professional, capacity, services, products, lock.

    ``held`` counts places freed by a cancellation in a pharmacy (S4): they stay with the
    general service, bookable by staff but not online, until a product is assigned.
    ``reserved_for`` keeps it for 811 or reorientation bookings, hidden online (R2).
    """

    if TYPE_CHECKING:  # made by ``@event("Opened")`` when the class is defined
        Opened: ClassVar[type[Aggregate.Created]]

    #: Default for slots stored (or snapshotted) before reservations existed.
    reserved_for: str | None = None

    @classmethod
    def open(
        cls,
        clinic_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        capacity: int,
        service_ids: list[UUID],
        products: list[str],
        locked: bool = False,
        id: UUID | None = None,
        reserved_for: str | None = None,
    ) -> Slot:
        """``id`` is given by feed ingestion, so a re-ingested slot is recognised;
        ``reserved_for`` keeps the slot for 811 or reorientation bookings (R2)."""
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            raise InvalidValue("slot end must be after its start", field="end")
        if capacity < 1:
            raise InvalidValue("slot capacity must be at least 1", field="capacity")
        if not service_ids:
            raise InvalidValue("a slot must accept at least one service", field="service_ids")
        return cls._create(
            cls.Opened,
            clinic_id=clinic_id,
            professional_id=professional_id,
            start=start,
            end=end,
            capacity=capacity,
            service_ids=list(dict.fromkeys(service_ids)),
            products=list(dict.fromkeys(p for p in products if p)),
            locked=locked,
            id=id,
            reserved_for=reservation(reserved_for),
        )

    @event("Opened")
    def __init__(
        self,
        clinic_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        capacity: int,
        service_ids: list[UUID],
        products: list[str],
        locked: bool,
        reserved_for: str | None = None,
    ) -> None:
        self.clinic_id = clinic_id
        self.professional_id = professional_id
        self.start = start
        self.end = end
        self.capacity = capacity
        self.service_ids = list(service_ids)
        self.products = list(products)
        self.locked = locked
        self.reserved_for = reserved_for
        self.booked: list[UUID] = []
        self.held = 0

    # -- queries -------------------------------------------------------------------
    @property
    def offered_online(self) -> bool:
        """Portals and citizens see it: neither locked nor reserved (S2, R2)."""
        return not self.locked and self.reserved_for is None

    def remaining(self, online: bool = False) -> int:
        """Places left: for staff (EMR, admin) or for the online view (portal, citizen),
        which sees no place in a locked or reserved slot."""
        if online:
            return 0 if not self.offered_online else max(0, self.capacity - len(self.booked) - self.held)
        return self.capacity - len(self.booked)

    def holds(self, appointment_id: UUID) -> bool:
        return appointment_id in self.booked

    # -- commands ------------------------------------------------------------------
    def reserve(
        self,
        appointment_id: UUID,
        service_id: UUID,
        product: str | None,
        online: bool,
        through: str | None = None,
    ) -> None:
        """Take one place for an appointment, or raise the rule that refuses it; ``through``
        names the 811 or reorientation channel of the booking (None for the others)."""
        check_booking(self.reserved_for, through, online)
        if online and self.locked:
            raise SlotLocked("this slot is locked: it cannot be booked online", slot_id=str(self.id))
        if service_id not in self.service_ids:
            raise ServiceNotAccepted(
                "this slot does not accept that service",
                slot_id=str(self.id),
                service_id=str(service_id),
            )
        if product and product not in self.products:
            raise ProductNotAssigned(
                f"product {product!r} is not assigned to this slot",
                slot_id=str(self.id),
                product=product,
            )
        if self.remaining(online=online) < 1:
            raise SlotFull("no place is left in this slot", slot_id=str(self.id))
        from_held = len(self.booked) + self.held >= self.capacity
        self._place_reserved(appointment_id=appointment_id, from_held=from_held)

    def release(self, appointment_id: UUID, product: str | None, application_type: str) -> None:
        """Return an appointment's place (S4 decides where a product's place goes)."""
        if appointment_id not in self.booked:
            raise Conflict("that appointment holds no place in this slot", slot_id=str(self.id))
        associate = None
        held = False
        if product and application_type in (
            ApplicationType.PUBLIC_HEALTH,
            ApplicationType.ENTERPRISE,
        ):
            associate = product
        elif product and application_type == ApplicationType.PHARMACY:
            held = True
        self._place_released(appointment_id=appointment_id, associated_product=associate, held=held)

    def lock(self) -> None:
        if not self.locked:
            self._locked()

    def unlock(self) -> None:
        if self.locked:
            self._unlocked()

    def reserve_for(self, reserved_for: str | None) -> None:
        """Keep the slot for 811 or reorientation bookings, or give it back (None)."""
        checked = reservation(reserved_for)
        if checked != self.reserved_for:
            self._reservation_changed(reserved_for=checked)

    def assign_product(self, product: str) -> None:
        product = product.strip()
        if not product:
            raise InvalidValue("product must not be empty", field="product")
        if product not in self.products or self.held:
            self._product_assigned(product=product)

    # -- events --------------------------------------------------------------------
    @event("PlaceReserved")
    def _place_reserved(self, appointment_id: UUID, from_held: bool) -> None:
        self.booked.append(appointment_id)
        if from_held:
            self.held -= 1

    @event("PlaceReleased")
    def _place_released(
        self, appointment_id: UUID, associated_product: str | None, held: bool
    ) -> None:
        self.booked.remove(appointment_id)
        if associated_product and associated_product not in self.products:
            self.products.append(associated_product)
        if held:
            self.held += 1

    @event("Locked")
    def _locked(self) -> None:
        self.locked = True

    @event("Unlocked")
    def _unlocked(self) -> None:
        self.locked = False

    @event("ReservationChanged")
    def _reservation_changed(self, reserved_for: str | None) -> None:
        self.reserved_for = reserved_for

    @event("ProductAssigned")
    def _product_assigned(self, product: str) -> None:
        if product not in self.products:
            self.products.append(product)
        self.held = 0

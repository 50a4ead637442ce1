"""Slots (S2): open, lock, unlock, assign a product; portals see only unlocked slots of
online services."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import AwareDatetime, BaseModel, Field

from aggregates.service import Service
from aggregates.slot import Slot
from entrypoints.api.deps import Reader, SchedulingDep, Writer, require_clinic
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.idempotency import IdempotencyKey
from entrypoints.api.listing import created
from entrypoints.api.schemas import Page, PageParams, Strict, page_params
from hub.access.tokens import Principal, Role
from hub.scheduling.service import Scheduling, Written

router = APIRouter(tags=["slots"])
Product = Annotated[str, Field(min_length=1, max_length=100, examples=["Pfizer-BioNTech"])]
Reserved = Literal["811", "reorientation"] | None
RESERVED_HELP = ("kept for Info-Santé 811 or for reorientation bookings (R2): hidden online, "
                 "bookable by 811 or reorientation users of any clinic; null: an ordinary slot")


class SlotIn(Strict):
    start: AwareDatetime = Field(examples=["2026-12-01T09:00:00-05:00"])
    end: AwareDatetime = Field(examples=["2026-12-01T09:30:00-05:00"])
    professional_id: UUID
    capacity: int = Field(ge=1, le=10_000, examples=[10])
    service_ids: list[UUID] = Field(min_length=1, max_length=50)
    products: list[Product] = Field(default_factory=list, max_length=20)
    locked: bool = Field(default=False, description="locked slots are not visible online")
    reserved_for: Reserved = Field(default=None, description=RESERVED_HELP)


class ProductIn(Strict):
    product: Product


class ReservationIn(Strict):
    reserved_for: Reserved = Field(description=RESERVED_HELP)


class SlotOut(BaseModel):
    id: UUID
    clinic_id: UUID
    professional_id: UUID
    start: AwareDatetime
    end: AwareDatetime
    capacity: int
    service_ids: list[UUID]
    products: list[str]
    locked: bool
    reserved_for: str | None
    booked: int = Field(description="appointments the slot holds")
    remaining: int = Field(description="places left for this token (online view for portals)")
    version: int


class SlotWritten(SlotOut):
    position: int = Field(ge=0, description="log position of the last event written")


def slot_out(slot: Slot, principal: Principal) -> SlotOut:
    return SlotOut(id=slot.id, clinic_id=slot.clinic_id, professional_id=slot.professional_id,
                   start=slot.start, end=slot.end, capacity=slot.capacity,
                   service_ids=list(slot.service_ids), products=list(slot.products),
                   locked=slot.locked, reserved_for=slot.reserved_for, booked=len(slot.booked),
                   remaining=slot.remaining(online=principal.role == Role.PORTAL),
                   version=slot.version)


def visible_slot(scheduling: Scheduling, principal: Principal, slot: Slot) -> bool:
    """In the token's clinics; for a portal, unlocked and accepting an online service."""
    if not principal.acts_for(slot.clinic_id):
        return False
    if principal.role != Role.PORTAL:
        return True
    if not slot.offered_online:
        return False
    return any(scheduling.load(Service, s, "service").online for s in slot.service_ids)


def load_visible_slot(scheduling: Scheduling, principal: Principal, slot_id: UUID) -> Slot:
    slot = scheduling.load(Slot, slot_id, "slot")
    if not visible_slot(scheduling, principal, slot):
        raise ApiError(404, "not_found", "no such resource for this token")
    return slot


def _written(scheduling: Scheduling, principal: Principal, written: Written) -> SlotWritten:
    slot = scheduling.load(Slot, written.id, "slot")
    return SlotWritten(**slot_out(slot, principal).model_dump(), position=written.position)


@router.post("/v1/clinics/{clinic_id}/slots", status_code=status.HTTP_201_CREATED,
             response_model=SlotWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def open_slot(clinic_id: UUID, body: SlotIn, principal: Writer, scheduling: SchedulingDep,
              _key: IdempotencyKey = None) -> SlotWritten:
    """Open a slot of a clinic's professional (admin, EMR, clinic staff of that clinic)."""
    require_clinic(principal, clinic_id)
    written = scheduling.open_slot(clinic_id, body.professional_id, body.start, body.end,
                                   body.capacity, body.service_ids, body.products, body.locked,
                                   reserved_for=body.reserved_for)
    return _written(scheduling, principal, written)


@router.get("/v1/clinics/{clinic_id}/slots", response_model=Page[SlotOut],
            responses=responses(401, 403, 422, 503))
def list_slots(clinic_id: UUID, principal: Reader, scheduling: SchedulingDep,
               page: Annotated[PageParams, Depends(page_params)]) -> Page[SlotOut]:
    """A clinic's slots in the order they were opened (a portal: only those it may book)."""
    require_clinic(principal, clinic_id)
    found, next_after = created(
        scheduling, "aggregates.slot:Slot.Opened", page.after, page.limit,
        lambda s: isinstance(s, Slot) and s.clinic_id == clinic_id
        and visible_slot(scheduling, principal, s),
    )
    return Page(items=[slot_out(s, principal) for _, s in found], next_after=next_after)


@router.get("/v1/slots/{slot_id}", response_model=SlotOut,
            responses=responses(401, 403, 404, 422, 503))
def get_slot(slot_id: UUID, principal: Reader, scheduling: SchedulingDep) -> SlotOut:
    """One slot (a portal: only an unlocked one with an online service)."""
    return slot_out(load_visible_slot(scheduling, principal, slot_id), principal)


def _change(scheduling: Scheduling, principal: Principal, slot_id: UUID, command: str,
            *args: str) -> SlotWritten:
    slot = scheduling.load(Slot, slot_id, "slot")
    require_clinic(principal, slot.clinic_id, hide=True)
    written = getattr(scheduling, command)(slot_id, *args)
    return _written(scheduling, principal, written)


@router.post("/v1/slots/{slot_id}/lock", response_model=SlotWritten,
             responses=responses(401, 403, 404, 409, 422, 503))
def lock_slot(slot_id: UUID, principal: Writer, scheduling: SchedulingDep,
              _key: IdempotencyKey = None) -> SlotWritten:
    """Lock a slot: it is no longer visible nor bookable online."""
    return _change(scheduling, principal, slot_id, "lock_slot")


@router.post("/v1/slots/{slot_id}/unlock", response_model=SlotWritten,
             responses=responses(401, 403, 404, 409, 422, 503))
def unlock_slot(slot_id: UUID, principal: Writer, scheduling: SchedulingDep,
                _key: IdempotencyKey = None) -> SlotWritten:
    """Unlock a slot: portals and citizens can see and book it."""
    return _change(scheduling, principal, slot_id, "unlock_slot")


@router.post("/v1/slots/{slot_id}/reservation", response_model=SlotWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def reserve_slot(slot_id: UUID, body: ReservationIn, principal: Writer,
                 scheduling: SchedulingDep, _key: IdempotencyKey = None) -> SlotWritten:
    """Keep a slot for 811 or reorientation bookings, or give it back (``null``)."""
    slot = scheduling.load(Slot, slot_id, "slot")
    require_clinic(principal, slot.clinic_id, hide=True)
    return _written(scheduling, principal, scheduling.reserve_slot_for(slot_id, body.reserved_for))


@router.post("/v1/slots/{slot_id}/products", response_model=SlotWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def assign_product(slot_id: UUID, body: ProductIn, principal: Writer, scheduling: SchedulingDep,
                   _key: IdempotencyKey = None) -> SlotWritten:
    """Assign a product to a slot (also releases places held after a pharmacy cancellation)."""
    return _change(scheduling, principal, slot_id, "assign_product", body.product)

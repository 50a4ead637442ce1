"""Availability (S2, S4): remaining places per slot, from the availability projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from entrypoints.api.deps import ReorientingReader, require_clinic
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.readmodels import MinPosition, ProjectorDep, read_model
from entrypoints.api.schemas import Page, PageParams, page_params
from hub.access.tokens import Principal, Role
from projections.queries import availability

router = APIRouter(tags=["availability"])
MAX_PERIOD = timedelta(days=62)


class AvailabilityItem(BaseModel):
    slot_id: UUID
    clinic_id: UUID
    professional_id: UUID
    start: datetime
    end: datetime
    capacity: int
    booked: int
    remaining: int = Field(description="places left for this view (online: minus held places)")
    locked: bool
    reserved_for: str | None = Field(default=None, description="`811` or `reorientation`: kept "
                                     "for those bookings (R2), never in the online view")
    service_ids: list[UUID] = Field(description="accepted services (online view: online ones)")
    products: list[str]


class AvailabilityPage(Page[AvailabilityItem]):
    online: bool


def scope(principal: Principal, clinic_id: UUID | None,
          reserved_for: str | None) -> tuple[list[str] | None, list[str] | None]:
    """Which clinics' slots (None: all) and which reservations (None: any) the caller sees:
    its own clinics', and every clinic's slots reserved for its 811/reorientation channels."""
    across = [reserved_for] if reserved_for in principal.channels else (
        sorted(principal.channels) if reserved_for is None and principal.role == Role.REFERRER
        else None)
    if across is None and principal.role == Role.REFERRER:
        across = []
    if across is not None:
        return ([str(clinic_id)] if clinic_id else None), across
    reserved = None if reserved_for is None else [reserved_for]
    if clinic_id is not None:
        require_clinic(principal, clinic_id)
        return [str(clinic_id)], reserved
    return (None if principal.all_clinics else sorted(str(c) for c in principal.clinic_ids)), reserved


@router.get("/v1/availability", response_model=AvailabilityPage, responses=responses(401, 403, 422, 503))
def list_availability(
    request: Request, principal: ReorientingReader, projector: ProjectorDep,
    page: Annotated[PageParams, Depends(page_params)],
    clinic_id: UUID | None = None, service_id: UUID | None = None,
    product: Annotated[str | None, Query(max_length=100)] = None,
    start: AwareDatetime | None = None, end: AwareDatetime | None = None,
    online: Annotated[bool, Query(description="the portals' view (always on for portal tokens)")] = False,
    reserved_for: Annotated[Literal["811", "reorientation"] | None, Query(
        description="only slots kept for 811 or reorientation, of every clinic for the users "
        "who book into them")] = None,
    min_position: MinPosition = None,
) -> AvailabilityPage:
    """Slots overlapping `[start, end)` (default: the next 7 days) with their remaining places.

    The online view hides locked and reserved slots, services not bookable online and inactive
    clinics. 811 and reorientation users see the slots reserved for them, in every clinic.
    """
    start = start or datetime.now(UTC)
    end = end or start + timedelta(days=7)
    if end <= start or end - start > MAX_PERIOD:
        raise ApiError(422, "invalid_period", "end must be after start, at most 62 days later",
                       start=start.isoformat(), end=end.isoformat())
    online = online or principal.role == Role.PORTAL
    clinics, reserved = scope(principal, clinic_id, reserved_for)
    model = read_model(request, projector, "availability", min_position)
    items = availability(model, start, end, online, clinics, None if service_id is None else str(service_id),
                         product, limit=page.limit, offset=page.after, reserved_for=reserved)
    next_after = page.after + len(items) if len(items) == page.limit else None
    return AvailabilityPage(items=items, next_after=next_after, online=online)  # type: ignore[arg-type]  # read-model rows, validated by the response model

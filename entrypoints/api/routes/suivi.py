"""Suivi (seed 000 §2–3, seed 001 §3) and patient history, from the Suivi projection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from entrypoints.api.deps import require_clinic, require_role
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.readmodels import MinPosition, ProjectorDep, past_view, read_model
from entrypoints.api.schemas import Page, PageParams, page_params
from hub.access.tokens import Principal, Role
from hub.access.visibility import Viewer
from projections.queries import SuiviFilter, patient_history, suivi

router = APIRouter(tags=["suivi"])
SuiviReader = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.CLINIC_STAFF, Role.EMR, Role.OPS))]
HistoryReader = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.CLINIC_STAFF, Role.OPS))]


class Confirmation(BaseModel):
    status: str = Field(examples=["confirmation_sent", "confirmed"])
    channel: str | None = Field(default=None, examples=["email", "sms", "phone"])
    address: str | None = None
    at: str | None = None


class AccountIcons(BaseModel):
    identity: Literal["grey", "red", "green"] = "grey"
    association: Literal["grey", "red", "green"] = "grey"


class Referral(BaseModel):
    from_site: str
    priority: Literal["P4", "P5"]
    reason: str | None = None


class SuiviItem(BaseModel):
    """One row of the Suivi list (NAM masked but for its last four characters)."""

    appointment_id: UUID
    clinic_id: UUID
    clinic: str | None
    time: str = Field(examples=["08:30"], description="local time (HUB_TIMEZONE)")
    start: datetime
    end: datetime
    patient_id: UUID
    patient_name: str
    nam: str = Field(examples=["********0112"])
    service_id: UUID
    service: str | None
    product: str | None
    professional_id: UUID
    professional: str | None
    slot_id: UUID
    status: Literal["undefined", "present", "absent", "cancelled"]
    attendance: Literal["undefined", "present", "absent"]
    cancelled: bool
    source: str
    dose: int | None = Field(default=None, description="vaccination dose (V2), if recorded")
    confirmation: Confirmation | None = Field(description="filled by patient communication")
    account: AccountIcons
    through: str | None = Field(default=None, description="`811` or `reorientation`: booked by "
                                "another clinic's user into a slot kept for it (R2)")
    referral: Referral | None = Field(default=None, description="a reorientation's referral")


class SuiviPage(Page[SuiviItem]):
    date: date
    view: str


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.services.settings.timezone)


@router.get("/v1/clinics/{clinic_id}/suivi", response_model=SuiviPage,
            responses=responses(401, 403, 422, 503))
def clinic_suivi(
    clinic_id: UUID, request: Request, principal: SuiviReader, projector: ProjectorDep,
    page: Annotated[PageParams, Depends(page_params)],
    day: Annotated[date | None, Query(alias="date", description="local day (default today)")] = None,
    view: Literal["all", "without_cancellation"] = "all",
    professional_id: UUID | None = None, service_id: UUID | None = None,
    product: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["undefined", "present", "absent", "cancelled"] | None = None,
    source: Literal["emr", "portal", "admin", "citizen"] | None = None,
    dose: Annotated[int | None, Query(ge=1, le=10, description="vaccination dose (2: the 2nd "
                                      "doses to invite, seed 000 §3)")] = None,
    min_position: MinPosition = None,
    as_of_position: Annotated[int | None, Query(
        ge=1, le=2**62, description="the list as it was when the log reached this position, "
        "built from the log (its cost grows with the position: an ops and audit tool)")] = None,
) -> SuiviPage:
    """The clinic's appointments of one local day, in time order; `after` is the row offset."""
    if not Viewer.of(principal).clinic(clinic_id):
        require_clinic(principal, clinic_id)  # 403 naming the clinic
    zone = _zone(request)
    day = day or datetime.now(zone).date()
    if as_of_position is not None:
        model = past_view(request, "suivi", as_of_position)
    else:
        model = read_model(request, projector, "suivi", min_position)
    chosen = SuiviFilter(str(clinic_id), day, view, _s(professional_id), _s(service_id), product,
                         status, source, dose)
    items = suivi(model, chosen, zone, limit=page.limit, offset=page.after)
    Viewer.of(principal).shows(i["patient_id"] for i in items)
    return SuiviPage(items=items, next_after=_next(page, items), date=day, view=view)  # type: ignore[arg-type]  # read-model rows, validated by the response model


@router.get("/v1/patients/{patient_id}/appointments", response_model=Page[SuiviItem],
            responses=responses(401, 403, 404, 422, 503))
def patient_appointments(
    patient_id: UUID, request: Request, principal: HistoryReader, projector: ProjectorDep,
    page: Annotated[PageParams, Depends(page_params)], min_position: MinPosition = None,
) -> Page[SuiviItem]:
    """A patient's appointments across clinics, newest first; clinic staff see their clinics'."""
    model = read_model(request, projector, "suivi", min_position)
    visible = Viewer.of(principal).clinic_filter()
    clinics = None if visible is None else [str(c) for c in visible]
    items = patient_history(model, str(patient_id), clinics, _zone(request), page.limit, page.after)
    if not items and page.after == 0:
        raise ApiError(404, "not_found", "no appointments of this patient are visible to this token")
    Viewer.of(principal).shows(i["patient_id"] for i in items)
    return Page(items=items, next_after=_next(page, items))  # type: ignore[arg-type]  # read-model rows, validated by the response model


def _s(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _next(page: PageParams, items: list[Any]) -> int | None:
    return page.after + len(items) if len(items) == page.limit else None

"""Services (S1): what an appointment is for; portals see only the online ones."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from aggregates.service import Service
from entrypoints.api.deps import Reader, SchedulingDep, Writer, require_clinic
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.idempotency import IdempotencyKey
from entrypoints.api.listing import created
from entrypoints.api.schemas import Page, PageParams, Strict, page_params
from hub.access.tokens import Principal, Role

router = APIRouter(tags=["services"])


class ServiceIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Vaccination COVID-19"])
    duration_minutes: int = Field(ge=1, le=1440, examples=[15])
    category: Literal["in_person", "phone", "virtual", "home", "silent"]
    online: bool = Field(description="bookable by portals and citizens")
    cancellation_delay_hours: int = Field(ge=0, le=8760, examples=[24])
    product: str | None = Field(default=None, max_length=100, examples=["Pfizer-BioNTech"])


class ServiceOut(BaseModel):
    id: UUID
    clinic_id: UUID
    name: str
    duration_minutes: int
    category: str
    online: bool
    cancellation_delay_hours: int
    product: str | None
    version: int


class ServiceWritten(ServiceOut):
    position: int = Field(ge=0, description="log position of the definition")


def service_out(service: Service) -> ServiceOut:
    return ServiceOut(id=service.id, clinic_id=service.clinic_id, name=service.name,
                      duration_minutes=service.duration_minutes, category=service.category,
                      online=service.online, cancellation_delay_hours=service.cancellation_delay_hours,
                      product=service.product, version=service.version)


def visible_service(principal: Principal, service: Service) -> bool:
    """A portal sees only online services; everyone sees only their clinics'."""
    if not principal.acts_for(service.clinic_id):
        return False
    return principal.role != Role.PORTAL or service.online


@router.post("/v1/clinics/{clinic_id}/services", status_code=status.HTTP_201_CREATED,
             response_model=ServiceWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def add_service(clinic_id: UUID, body: ServiceIn, principal: Writer, scheduling: SchedulingDep,
                _key: IdempotencyKey = None) -> ServiceWritten:
    """Define a service of a clinic (admin, EMR, clinic staff of that clinic)."""
    require_clinic(principal, clinic_id)
    written = scheduling.add_service(clinic_id, body.name, body.duration_minutes, body.category,
                                     body.online, body.cancellation_delay_hours, body.product)
    service = scheduling.load(Service, written.id, "service")
    return ServiceWritten(**service_out(service).model_dump(), position=written.position)


@router.get("/v1/clinics/{clinic_id}/services", response_model=Page[ServiceOut],
            responses=responses(401, 403, 422, 503))
def list_services(clinic_id: UUID, principal: Reader, scheduling: SchedulingDep,
                  page: Annotated[PageParams, Depends(page_params)]) -> Page[ServiceOut]:
    """A clinic's services in definition order (a portal: only the online ones)."""
    require_clinic(principal, clinic_id)
    found, next_after = created(
        scheduling, "aggregates.service:Service.Defined", page.after, page.limit,
        lambda s: isinstance(s, Service) and s.clinic_id == clinic_id
        and visible_service(principal, s),
    )
    return Page(items=[service_out(s) for _, s in found], next_after=next_after)


@router.get("/v1/services/{service_id}", response_model=ServiceOut,
            responses=responses(401, 403, 404, 422, 503))
def get_service(service_id: UUID, principal: Reader, scheduling: SchedulingDep) -> ServiceOut:
    """One service (a portal: only an online one)."""
    service = scheduling.load(Service, service_id, "service")
    if not visible_service(principal, service):
        raise ApiError(404, "not_found", "no such resource for this token")
    return service_out(service)

"""Professionals (S1): a clinic's GPs, IPS, nurses, residents, externs, specialists."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from aggregates.professional import Professional
from entrypoints.api.deps import Reader, SchedulingDep, Writer, require_clinic
from entrypoints.api.errors import responses
from entrypoints.api.idempotency import IdempotencyKey
from entrypoints.api.listing import created
from entrypoints.api.schemas import Page, PageParams, Strict, page_params

router = APIRouter(tags=["professionals"])


class ProfessionalIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Dre Marie Tremblay"])
    type: Literal["gp", "ips", "nurse", "resident", "extern", "specialist", "other"]
    licence: str | None = Field(default=None, max_length=50, examples=["1-23456"])


class ProfessionalOut(BaseModel):
    id: UUID
    clinic_id: UUID
    name: str
    type: str
    licence: str | None
    version: int


class ProfessionalWritten(ProfessionalOut):
    position: int = Field(ge=0, description="log position of the registration")


def professional_out(professional: Professional) -> ProfessionalOut:
    return ProfessionalOut(id=professional.id, clinic_id=professional.clinic_id,
                           name=professional.name, type=professional.type,
                           licence=professional.licence, version=professional.version)


@router.post("/v1/clinics/{clinic_id}/professionals", status_code=status.HTTP_201_CREATED,
             response_model=ProfessionalWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def add_professional(clinic_id: UUID, body: ProfessionalIn, principal: Writer,
                     scheduling: SchedulingDep, _key: IdempotencyKey = None) -> ProfessionalWritten:
    """Add a professional to a clinic (admin, EMR, clinic staff of that clinic)."""
    require_clinic(principal, clinic_id)
    written = scheduling.add_professional(clinic_id, body.name, body.type, body.licence)
    professional = scheduling.load(Professional, written.id, "professional")
    return ProfessionalWritten(**professional_out(professional).model_dump(),
                               position=written.position)


@router.get("/v1/clinics/{clinic_id}/professionals", response_model=Page[ProfessionalOut],
            responses=responses(401, 403, 422, 503))
def list_professionals(clinic_id: UUID, principal: Reader, scheduling: SchedulingDep,
                       page: Annotated[PageParams, Depends(page_params)]) -> Page[ProfessionalOut]:
    """A clinic's professionals, in registration order."""
    require_clinic(principal, clinic_id)
    found, next_after = created(
        scheduling, "aggregates.professional:Professional.Registered", page.after, page.limit,
        lambda p: isinstance(p, Professional) and p.clinic_id == clinic_id,
    )
    return Page(items=[professional_out(p) for _, p in found], next_after=next_after)


@router.get("/v1/professionals/{professional_id}", response_model=ProfessionalOut,
            responses=responses(401, 403, 404, 422, 503))
def get_professional(professional_id: UUID, principal: Reader,
                     scheduling: SchedulingDep) -> ProfessionalOut:
    """One professional of a clinic the token acts for."""
    professional = scheduling.load(Professional, professional_id, "professional")
    require_clinic(principal, professional.clinic_id, hide=True)
    return professional_out(professional)

"""Clinics (S1): register (admin), read one, list those the token acts for."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from aggregates.clinic import Clinic
from entrypoints.api.deps import Admin, Reader, SchedulingDep, require_clinic
from entrypoints.api.errors import responses
from entrypoints.api.listing import created
from entrypoints.api.schemas import Page, PageParams, Strict, page_params

router = APIRouter(prefix="/v1/clinics", tags=["clinics"])


class Address(Strict):
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    province: str = Field(min_length=2, max_length=50, examples=["QC"])
    postal_code: str = Field(pattern=r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$", examples=["G1R 2B5"])


class ClinicIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Clinique des Érables"])
    address: Address
    phone: str = Field(min_length=7, max_length=30, examples=["418-555-0100"])
    application_type: Literal["public_health", "enterprise", "pharmacy", "clinic"]

    model_config = {**Strict.model_config, "json_schema_extra": {"examples": [{
        "name": "Clinique des Érables",
        "address": {"street": "1200 boul. René-Lévesque", "city": "Québec", "province": "QC",
                    "postal_code": "G1R 2B5"},
        "phone": "418-555-0100", "application_type": "public_health"}]}}


class ClinicOut(BaseModel):
    id: UUID
    name: str
    address: dict[str, str]
    phone: str
    application_type: str
    active: bool
    version: int


class ClinicWritten(ClinicOut):
    position: int = Field(ge=0, description="log position of the registration")


def clinic_out(clinic: Clinic) -> ClinicOut:
    return ClinicOut(id=clinic.id, name=clinic.name, address=dict(clinic.address),
                     phone=clinic.phone, application_type=clinic.application_type,
                     active=clinic.active, version=clinic.version)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClinicWritten,
             responses=responses(400, 401, 403, 413, 422, 503))
def register_clinic(body: ClinicIn, principal: Admin, scheduling: SchedulingDep) -> ClinicWritten:
    """Register a clinic, pharmacy, public-health or enterprise site (admin)."""
    written = scheduling.register_clinic(body.name, body.address.model_dump(), body.phone,
                                         body.application_type)
    clinic = scheduling.load(Clinic, written.id, "clinic")
    return ClinicWritten(**clinic_out(clinic).model_dump(), position=written.position)


@router.get("", response_model=Page[ClinicOut], responses=responses(401, 403, 422, 503))
def list_clinics(
    principal: Reader, scheduling: SchedulingDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ClinicOut]:
    """The clinics this token acts for, in registration order."""
    found, next_after = created(
        scheduling, "aggregates.clinic:Clinic.Registered", page.after, page.limit,
        lambda c: isinstance(c, Clinic) and principal.acts_for(c.id),
    )
    return Page(items=[clinic_out(c) for _, c in found], next_after=next_after)


@router.get("/{clinic_id}", response_model=ClinicOut, responses=responses(401, 403, 404, 422, 503))
def get_clinic(clinic_id: UUID, principal: Reader, scheduling: SchedulingDep) -> ClinicOut:
    """One clinic the token acts for."""
    require_clinic(principal, clinic_id)
    return clinic_out(scheduling.load(Clinic, clinic_id, "clinic"))

"""Patient lookup by NAM for clinic staff (S5). A POST, so the NAM stays out of URLs and logs."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aggregates.patient import Patient
from aggregates.values import normalise_nam
from entrypoints.api.deps import SchedulingDep, ServicesDep, Staff
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.schemas import Strict

router = APIRouter(prefix="/v1/patients", tags=["patients"])


class PatientSearchIn(Strict):
    nam: str = Field(max_length=20, examples=["TREM85010112"])


class Identifier(BaseModel):
    system: str
    value: str


class PatientOut(BaseModel):
    id: UUID
    nam: str | None
    identifiers: list[Identifier]
    first_name: str
    last_name: str
    birth_date: str | None
    language: str
    email: str | None
    other_email: str | None
    cell: str | None
    phone: str | None
    other_cell: str | None
    other_phone: str | None
    version: int


def patient_out(p: Patient) -> PatientOut:
    return PatientOut(id=p.id, nam=p.nam, identifiers=[Identifier(**i) for i in p.identifiers],
                      first_name=p.first_name, last_name=p.last_name, birth_date=p.birth_date,
                      language=p.language, version=p.version, **p.contacts())


@router.post("/search", response_model=PatientOut,
             responses=responses(400, 401, 403, 404, 413, 422, 503))
def find_by_nam(body: PatientSearchIn, principal: Staff, scheduling: SchedulingDep,
                services: ServicesDep) -> PatientOut:
    """Find a patient by health insurance number (admin and clinic staff). The read is
    recorded (``GET /v1/phi-reads``)."""
    patient = scheduling.patients.find_by_nam(normalise_nam(body.nam))
    if patient is None:
        raise ApiError(404, "not_found", "no patient has this NAM")
    services.phi_reads.record(principal.subject, principal.role.value, str(patient.id),
                              "POST /v1/patients/search")
    return patient_out(patient)

"""Erasure of a patient's personal data (admin) and the trail of who read it (ops, admin):
Loi 25, CONTRACT "Privacy", docs/privacy.md."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from entrypoints.api.deps import Admin, ServicesDep, require_role
from entrypoints.api.errors import responses
from hub.access.tokens import Principal, Role
from hub.privacy.erasure import Erasure

router = APIRouter(tags=["privacy"])
Auditor = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.OPS))]


class ErasureOut(BaseModel):
    patient_id: UUID
    erased: bool
    already_erased: bool
    idempotency_records_deleted: int
    position: int


@router.post("/v1/patients/{patient_id}/erase", response_model=ErasureOut,
             responses=responses(401, 403, 404, 503))
def erase_patient(patient_id: UUID, principal: Admin, services: ServicesDep) -> ErasureOut:
    """Make the patient's personal data unreadable everywhere: their data key is destroyed
    (every stored event, backup and Kafka message keeps only ciphertext), ``Patient.Erased``
    is recorded (read models blank their copies; Kafka consumers get it), and kept API answers
    that mention them are deleted. The events stay. Erasing again changes nothing
    (``already_erased``). Details: docs/privacy.md."""
    report = Erasure(services.scheduling, services.access).erase(patient_id)
    return ErasureOut(**report.as_dict())


class PhiReadOut(BaseModel):
    at: str
    reader: str
    role: str
    patient_id: str
    what: str


class PhiReadsOut(BaseModel):
    items: list[PhiReadOut]


@router.get("/v1/phi-reads", response_model=PhiReadsOut, responses=responses(401, 403, 422, 503))
def phi_reads(principal: Auditor, services: ServicesDep, patient_id: UUID | None = None,
              reader: Annotated[str | None, Query(max_length=200)] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 200) -> PhiReadsOut:
    """Who read which patient's personal data through the API, newest first (ops, admin):
    filter by ``patient_id`` or by ``reader`` (a token subject)."""
    rows = services.phi_reads.find(str(patient_id) if patient_id else None, reader, limit)
    return PhiReadsOut(items=[PhiReadOut(**vars(r)) for r in rows])

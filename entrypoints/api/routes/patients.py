"""Patients (S5, T1): lookup by NAM (a POST, so the NAM stays out of URLs and logs), read and
correction, for staff of a clinic holding one of the patient's appointments, and admins."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aggregates.errors import NotFound
from aggregates.patient import Patient
from aggregates.values import normalise_nam
from entrypoints.api.appointment_models import Email, Phone
from entrypoints.api.deps import SchedulingDep, Staff
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.schemas import Strict
from hub.access.tokens import Principal
from hub.access.visibility import Viewer
from hub.scheduling.service import Scheduling

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


class PatientPatch(Strict):
    """The record's fields to change; a field sent as null empties a contact."""

    nam: str | None = Field(default=None, max_length=20, examples=["TREM85010112"])
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    birth_date: date | None = None
    language: Literal["fr", "en"] | None = None
    email: str | None = Email
    other_email: str | None = Email
    cell: str | None = Phone
    phone: str | None = Phone
    other_cell: str | None = Phone
    other_phone: str | None = Phone


class PatientWritten(PatientOut):
    position: int = Field(ge=0, description="log position of the last event written")


def load_visible_patient(scheduling: Scheduling, principal: Principal, patient_id: UUID) -> Patient:
    """A patient the token sees (``hub.access.visibility``), else 404."""
    try:
        patient = scheduling.load(Patient, patient_id, "patient")
    except NotFound:
        raise _hidden() from None
    if not Viewer.of(principal).patient(patient.id, scheduling.patients.clinics(patient.id)):
        raise _hidden()
    return patient


def _hidden() -> ApiError:
    return ApiError(404, "not_found", "no such patient for this token")


@router.post("/search", response_model=PatientOut,
             responses=responses(400, 401, 403, 404, 413, 422, 503))
def find_by_nam(body: PatientSearchIn, principal: Staff, scheduling: SchedulingDep) -> PatientOut:
    """Find a patient by health insurance number, among those with an appointment in the
    token's clinics (admin: all). The read is recorded (``GET /v1/phi-reads``)."""
    patient = scheduling.patients.find_by_nam(normalise_nam(body.nam))
    if patient is None or not Viewer.of(principal).patient(
            patient.id, scheduling.patients.clinics(patient.id)):
        raise ApiError(404, "not_found", "no patient of this token's clinics has this NAM")
    return patient_out(patient)


@router.get("/{patient_id}", response_model=PatientOut,
            responses=responses(401, 403, 404, 422, 503))
def get_patient(patient_id: UUID, principal: Staff, scheduling: SchedulingDep) -> PatientOut:
    """The patient record (staff of a clinic holding one of the patient's appointments). The
    read is recorded (``GET /v1/phi-reads``)."""
    return patient_out(load_visible_patient(scheduling, principal, patient_id))


@router.patch("/{patient_id}", response_model=PatientWritten,
              responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def correct_patient(patient_id: UUID, body: PatientPatch, principal: Staff,
                    scheduling: SchedulingDep) -> PatientWritten:
    """Correct the record (the only way it changes besides its account holder's own update).
    A birth date disagreeing with the NAM: 422 ``nam_birth_date_mismatch``; a NAM another
    patient has: 409 ``identifier_in_use``. Accounts of the patient go back to red (A2, A3)."""
    load_visible_patient(scheduling, principal, patient_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise ApiError(422, "invalid_value", "send at least one field to change")
    written = scheduling.correct_patient(patient_id, changes)
    patient = scheduling.load(Patient, patient_id, "patient")
    return PatientWritten(**patient_out(patient).model_dump(), position=written.position)

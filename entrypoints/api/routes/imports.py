"""Staff and services imports (seed 002, SPEC W2): start in the background, follow, retry."""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from aggregates.errors import NotFound
from aggregates.import_job import ImportJob
from entrypoints.api.deps import SchedulingDep, Writer, require_clinic
from entrypoints.api.errors import responses
from entrypoints.api.schemas import Strict
from hub.imports.service import Imports

router = APIRouter(prefix="/v1/clinics/{clinic_id}/imports", tags=["imports"])


class ImportIn(Strict):
    kind: Literal["staff", "services"]
    source: str | dict[str, Any] = Field(
        description="a FHIR Bundle (Practitioner/PractitionerRole for staff, HealthcareService "
        "for services), as JSON or as text, or a CSV file's text with a header row")


class RetryIn(Strict):
    source: str | dict[str, Any] | None = Field(
        default=None, description="a corrected source; omitted: the import's own source again")


class ImportConflict(BaseModel):
    source_id: str
    name: str
    reason: str


class ImportOut(BaseModel):
    id: UUID
    clinic_id: UUID
    kind: str
    status: Literal["running", "succeeded", "conflicts", "failed"]
    attempt: int
    imported: int
    created: int
    updated: int
    conflicts: list[ImportConflict]
    error: str | None
    position: int | None = Field(default=None, description="log position written (on start/retry)")


def _text(source: str | dict[str, Any]) -> str:
    return source if isinstance(source, str) else json.dumps(source, ensure_ascii=False)


def imports_of(request: Request, scheduling: Any) -> Imports:
    """The app's ``Imports`` (built in the lifespan; its worker thread runs the imports)."""
    imports: Imports = request.app.state.services.imports
    return imports


def _job(scheduling: Any, clinic_id: UUID, import_id: UUID) -> ImportJob:
    job = scheduling.load(ImportJob, import_id, "import")
    if job.clinic_id != clinic_id:
        raise NotFound(f"import {import_id} does not exist", id=str(import_id))
    return job


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ImportOut,
             responses=responses(400, 401, 403, 404, 413, 422, 503))
def start_import(clinic_id: UUID, body: ImportIn, request: Request, principal: Writer,
                 scheduling: SchedulingDep) -> ImportOut:
    """Check the source reads whole (else 422, nothing written), then import in the background."""
    require_clinic(principal, clinic_id)
    imports = imports_of(request, scheduling)
    written = imports.start(clinic_id, body.kind, _text(body.source))
    imports.run_in_background(written.id)
    return ImportOut(**imports.status(written.id), position=written.position)


@router.get("/{import_id}", response_model=ImportOut, responses=responses(401, 403, 404, 422, 503))
def get_import(clinic_id: UUID, import_id: UUID, request: Request, principal: Writer,
               scheduling: SchedulingDep) -> ImportOut:
    """``running``, then ``succeeded``, ``conflicts`` (rows listed) or ``failed`` (``error``)."""
    require_clinic(principal, clinic_id)
    _job(scheduling, clinic_id, import_id)
    return ImportOut(**imports_of(request, scheduling).status(import_id))


@router.post("/{import_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=ImportOut,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def retry_import(clinic_id: UUID, import_id: UUID, request: Request, principal: Writer,
                 scheduling: SchedulingDep, body: RetryIn | None = None) -> ImportOut:
    """Run again after the clinic fixed its EMR (409 ``import_running`` while it runs)."""
    require_clinic(principal, clinic_id)
    _job(scheduling, clinic_id, import_id)
    imports = imports_of(request, scheduling)
    source = _text(body.source) if body is not None and body.source is not None else None
    written = imports.retry(import_id, source)
    imports.run_in_background(import_id)
    return ImportOut(**imports.status(import_id), position=written.position)

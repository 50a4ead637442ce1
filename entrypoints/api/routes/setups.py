"""Setup wizard (CONTRACT "Setup wizard", SPEC W1–W2, seed 002): six ordered steps — clinic,
providers, emr, staff, services, patients — then ``complete`` creates the clinic.

Admin tokens only (the platform's onboarding front end acts for the person it activated). A
step sent before the previous ones are complete: 409 ``step_out_of_order``. Staff and services
are pulled from the chosen EMR in the background: follow them with ``GET /v1/setups/{id}``.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from aggregates.clinic_setup import STEPS, ClinicSetup
from aggregates.errors import NotFound
from aggregates.logo import MAX_BYTES
from entrypoints.api.deps import Admin, ServicesDep
from entrypoints.api.errors import responses
from entrypoints.api.routes.imports import ImportOut
from entrypoints.api.schemas import Strict
from hub.setup.service import ClinicSetups

router = APIRouter(prefix="/v1/setups", tags=["setup wizard"])
clinic_logo_router = APIRouter(prefix="/v1/clinics", tags=["logos"])

EmrName = Literal["kinlogix", "medesync", "myle", "ofys", "omnimed", "softinfo", "toubib", "standalone"]
#: What the person reads when the chosen EMR differs from the pre-set one (seed 002).
EMR_ALERT = {
    "code": "preset_emr_changed",
    "message": "Le DMÉ sélectionné diffère de celui indiqué dans nos systèmes pour votre clinique. "
               "Comme cela engendre des ajustements, une équipe communiquera avec vous pour la "
               "suite. Nous sommes désolés des inconvénients.",
    "message_en": "The EMR you chose differs from the one on file for your clinic. A team will "
                  "contact you about the next steps.",
}


class SetupIn(Strict):
    preset_emr: Literal["kinlogix", "medesync", "myle", "ofys", "omnimed", "softinfo", "toubib"] | None = Field(
        default=None, description="the EMR the platform already has on file for this clinic")
    application_type: Literal["public_health", "enterprise", "pharmacy", "clinic"] = "clinic"


class AddressIn(Strict):
    street: str = Field(examples=["350 Boulevard Charest Est"])
    suite: str | None = Field(default=None, description="bureau (optional)")
    city: str = Field(examples=["Québec"])
    province: str = Field(description="province or territory code", examples=["QC"])
    postal_code: str = Field(examples=["G1K 3H5"])


class ClinicStepIn(Strict):
    name: str = Field(description="at most 200 characters", examples=["Clinique du Parc"])
    address: AddressIn
    phone: str = Field(description="10-digit North American number", examples=["(418) 555-5555"])
    extension: str | None = Field(default=None, description="poste (optional, digits)")


class ProvidersIn(Strict):
    portals: list[Literal["rvsq", "clic-sante", "bonjour-sante", "pomelo", "myle-portal", "tap-medical"]] = Field(
        description="booking portals that show the clinic's availability (none, one or several)")


class EmrIn(Strict):
    emr: EmrName


class PatientsIn(Strict):
    acknowledged: bool = Field(description="\"J'ai compris\": must be true")


class Step(BaseModel):
    name: Literal["clinic", "providers", "emr", "staff", "services", "patients"]
    complete: bool


class LogoOut(BaseModel):
    url: str
    media_type: str
    size: int
    digest: str


class Alert(BaseModel):
    code: str
    message: str
    message_en: str


class SetupImports(BaseModel):
    staff: ImportOut | None = None
    services: ImportOut | None = None


class SetupOut(BaseModel):
    id: UUID
    steps: list[Step] = Field(description=f"the six steps in order: {', '.join(STEPS)}")
    current_step: str | None = Field(description="where to resume (null: all complete)")
    application_type: str
    preset_emr: str | None
    clinic: dict[str, Any] | None = Field(description="name, address, phone, extension as kept")
    logo: LogoOut | None
    portals: list[str] | None
    emr: str | None
    alert: Alert | None = Field(description="set when the EMR differs from the pre-set one")
    imports: SetupImports
    acknowledged: bool
    completed: bool
    clinic_id: UUID | None = Field(description="the clinic created (once completed)")


class CompletedOut(BaseModel):
    clinic_id: UUID
    position: int
    imports: SetupImports


def setups_of(services: Any) -> ClinicSetups:
    setups: ClinicSetups = services.setups
    return setups


def _imports(reports: dict[str, dict[str, Any] | None]) -> SetupImports:
    return SetupImports(**{k: ImportOut(**r) if r else None for k, r in reports.items()})


def setup_out(setups: ClinicSetups, setup: ClinicSetup) -> SetupOut:
    """The setup as answered: progress, what the steps gathered, its imports."""
    setup, reports = setups.view(setup.id)
    logo = setup.logo
    return SetupOut(
        id=setup.id, steps=[Step(**s) for s in setup.steps], current_step=setup.current_step,
        application_type=setup.application_type, preset_emr=setup.preset_emr,
        clinic=setup.clinic, portals=setup.portals, emr=setup.emr,
        logo=LogoOut(url=f"/v1/setups/{setup.id}/logo", **logo) if logo else None,
        alert=Alert(**EMR_ALERT) if setup.emr_alert else None,
        imports=_imports(reports),
        acknowledged=setup.acknowledged, completed=setup.completed,
        clinic_id=setup.clinic_id if setup.completed else None,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SetupOut,
             responses=responses(400, 401, 403, 422, 503))
def start_setup(principal: Admin, services: ServicesDep, body: SetupIn | None = None) -> SetupOut:
    """A new setup: six steps, none complete; ``preset_emr`` is the EMR on file, if any."""
    body = body or SetupIn()
    setups = setups_of(services)
    return setup_out(setups, setups.start(body.preset_emr, body.application_type))


@router.get("/{setup_id}", response_model=SetupOut, responses=responses(401, 403, 404, 422, 503))
def get_setup(setup_id: UUID, principal: Admin, services: ServicesDep) -> SetupOut:
    """Progress (kept across sessions), what each step gathered, the imports' state."""
    setups = setups_of(services)
    return setup_out(setups, setups.get(setup_id))


@router.put("/{setup_id}/clinic", response_model=SetupOut,
            responses=responses(400, 401, 403, 404, 409, 422, 503))
def clinic_step(setup_id: UUID, body: ClinicStepIn, principal: Admin, services: ServicesDep) -> SetupOut:
    """Name (≤ 200), address (suite optional, Canadian province and postal code), phone
    (extension optional). Each wrong field: 422 naming it, nothing written."""
    setups = setups_of(services)
    return setup_out(setups, setups.identify_clinic(
        setup_id, body.name, body.address.model_dump(), body.phone, body.extension))


@router.put("/{setup_id}/logo", response_model=SetupOut,
            responses=responses(400, 401, 403, 404, 409, 413, 422, 503),
            openapi_extra={"requestBody": {"required": True, "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in ("image/png", "image/gif", "image/jpeg", "application/octet-stream")}}})
async def put_logo(setup_id: UUID, request: Request, principal: Admin,
                   services: ServicesDep) -> SetupOut:
    """The image itself as the body: PNG, GIF or JPEG judged by its bytes (not its name or
    ``Content-Type``), at most 5 MB; replaces any earlier logo."""
    content = await request.body()
    setups = setups_of(services)
    setup = await run_in_threadpool(setups.attach_logo, setup_id, content)
    return await run_in_threadpool(setup_out, setups, setup)


@router.delete("/{setup_id}/logo", response_model=SetupOut,
               responses=responses(401, 403, 404, 409, 422, 503))
def delete_logo(setup_id: UUID, principal: Admin, services: ServicesDep) -> SetupOut:
    setups = setups_of(services)
    return setup_out(setups, setups.remove_logo(setup_id))


@router.get("/{setup_id}/logo", responses={
    200: {"content": {m: {} for m in ("image/png", "image/gif", "image/jpeg")}},
    **responses(401, 403, 404, 422, 503)})
def get_setup_logo(setup_id: UUID, principal: Admin, services: ServicesDep) -> Response:
    setups = setups_of(services)
    setup = setups.get(setup_id)
    if not setup.logo:
        raise NotFound("this setup has no logo", setup_id=str(setup_id))
    return _image(*setups.logo(setup.logo["digest"]), setup.logo["digest"])


@router.put("/{setup_id}/providers", response_model=SetupOut,
            responses=responses(400, 401, 403, 404, 409, 422, 503))
def providers_step(setup_id: UUID, body: ProvidersIn, principal: Admin,
                   services: ServicesDep) -> SetupOut:
    """Booking portals (rvsq, clic-sante, bonjour-sante, pomelo, myle-portal, tap-medical): the
    clinic's availability is published to these, and only these."""
    setups = setups_of(services)
    return setup_out(setups, setups.choose_providers(setup_id, body.portals))


@router.put("/{setup_id}/emr", response_model=SetupOut,
            responses=responses(400, 401, 403, 404, 409, 422, 503))
def emr_step(setup_id: UUID, body: EmrIn, principal: Admin, services: ServicesDep) -> SetupOut:
    """Exactly one of the seven EMRs, or ``standalone`` (staff and services entered later by
    hand). Another EMR than the pre-set one answers with ``alert``."""
    setups = setups_of(services)
    return setup_out(setups, setups.choose_emr(setup_id, body.emr))


class ExportIn(Strict):
    source: str | dict[str, Any] = Field(
        description="the EMR's export: a FHIR Bundle (JSON or text) or a CSV file's text")


def _import_step(kind: str) -> Any:
    def start(setup_id: UUID, principal: Admin, services: ServicesDep,
              body: ExportIn | None = None) -> SetupOut:
        setups = setups_of(services)
        source = None
        if body is not None:
            source = body.source if isinstance(body.source, str) else json.dumps(
                body.source, ensure_ascii=False)
        return setup_out(setups, setups.start_import(setup_id, kind, source))

    start.__doc__ = (f"Pull the clinic's {kind} from its EMR in the background (again after a "
                     "failure, or after conflicts were fixed in the EMR); with a body, import "
                     "the EMR's export instead (EMRs without a FHIR API). 409 `no_emr` when "
                     "standalone, `import_running` while one runs; 422 `malformed_source`.")
    return start


for _kind in ("staff", "services"):
    router.add_api_route(
        f"/{{setup_id}}/{_kind}", _import_step(_kind), methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED, response_model=SetupOut,
        responses=responses(400, 401, 403, 404, 409, 422, 503), name=f"import_{_kind}",
        summary=f"Import {_kind} from the EMR",
    )


@router.put("/{setup_id}/patients", response_model=SetupOut,
            responses=responses(400, 401, 403, 404, 409, 422, 503))
def patients_step(setup_id: UUID, body: PatientsIn, principal: Admin,
                  services: ServicesDep) -> SetupOut:
    """Patients come with their appointments; acknowledge ("J'ai compris")."""
    setups = setups_of(services)
    return setup_out(setups, setups.acknowledge_patients(setup_id, body.acknowledged))


@router.post("/{setup_id}/complete", status_code=status.HTTP_201_CREATED,
             response_model=CompletedOut, responses=responses(400, 401, 403, 404, 409, 422, 503))
def complete_setup(setup_id: UUID, principal: Admin, services: ServicesDep) -> CompletedOut:
    """Créer la clinique: the clinic with everything the steps gathered, its staff and
    services from the EMR (409 ``setup_incomplete`` before the six steps are complete)."""
    done = setups_of(services).complete(setup_id)
    return CompletedOut(clinic_id=done.clinic_id, position=done.position,
                        imports=_imports(dict(done.imports)))


@clinic_logo_router.get("/{clinic_id}/logo", responses={
    200: {"content": {m: {} for m in ("image/png", "image/gif", "image/jpeg")}},
    **responses(404, 422, 503)})
def get_clinic_logo(clinic_id: UUID, services: ServicesDep) -> Response:
    """A clinic's logo (public, like the clinic's name on a booking portal)."""
    digest, media_type, content = setups_of(services).clinic_logo(clinic_id)
    return _image(media_type, content, digest)


def _image(media_type: str, content: bytes, digest: str) -> Response:
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
               "ETag": f'"{digest}"'}
    return Response(content, media_type=media_type, headers=headers)


#: The largest body the logo route takes (the API's general limit is smaller).
LOGO_BODY_LIMIT = (r"^/v1/setups/[^/]+/logo$", MAX_BYTES)

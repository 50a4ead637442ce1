"""The setup wizard (SPEC W1–W2, seed 002): six ordered steps with a progress bar, staff and
services imported from the EMR in the background, then "Créer la clinique". Every step calls
the ``ClinicSetups`` use case the API's ``/v1/setups`` routes call (admins only, as there)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from aggregates.clinic_setup import EMRS, PORTALS, STANDALONE, STEPS, ClinicSetup
from aggregates.coordinates import PROVINCES
from aggregates.errors import DomainError
from aggregates.logo import MAX_BYTES
from entrypoints.console.i18n import CATALOGUE, PROVIDER_NAMES
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.tokens import Role
from hub.setup.service import ClinicSetups

router = APIRouter(prefix="/console/setups", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=400)]
#: The largest EMR export file the page takes (the API's body limit applies too).
MAX_EXPORT = 5_000_000
APPLICATION_TYPES = ("clinic", "public_health", "enterprise", "pharmacy")


def _admin(visit: Visit) -> ClinicSetups:
    if visit.signed_in().role != Role.ADMIN:
        raise PageRefused(403, visit.t("forbidden"))
    return visit.services.setups


def _load(visit: Visit, setups: ClinicSetups, setup_id: UUID) -> ClinicSetup:
    try:
        return setups.get(setup_id)
    except DomainError:
        raise PageRefused(404, visit.t("not_found")) from None


def _shown_step(setup: ClinicSetup, asked: str | None) -> str:
    """The step asked for if the steps before it are complete, else where to resume."""
    current = setup.current_step or STEPS[-1]
    if asked in STEPS and STEPS.index(asked) <= STEPS.index(current):
        return asked
    return current


def _page(visit: Visit, setups: ClinicSetups, setup_id: UUID, step: str | None = None,
          status: int = 200, error: str | None = None, form: dict[str, Any] | None = None) -> Response:
    """The step's page. The setup and its imports' reports are read together (``view``): an
    import that ends between two separate reads would show "succeeded" on a step still marked
    incomplete, with neither the polling nor the "Suivant" link."""
    try:
        setup, reports = setups.view(setup_id)
    except DomainError:
        raise PageRefused(404, visit.t("not_found")) from None
    shown = _shown_step(setup, step)
    index = STEPS.index(shown)
    return render(visit, "setup.html", status=status, setup=setup, step=shown, steps=setup.steps,
                  previous=STEPS[index - 1] if index else None,
                  next=STEPS[index + 1] if index + 1 < len(STEPS) else None,
                  complete=setup.is_complete(shown), reports=reports, error=error,
                  form=form or {}, provinces=PROVINCES, portals=PORTALS, emrs=(*EMRS, STANDALONE),
                  max_logo_mb=MAX_BYTES // 1_000_000, names=PROVIDER_NAMES)


@router.get("")
def start_page(visit: VisitDep) -> Response:
    _admin(visit)
    return render(visit, "setup_start.html", emrs=EMRS, application_types=APPLICATION_TYPES,
                  names=PROVIDER_NAMES)


@router.post("")
def start(visit: VisitDep, csrf: Csrf = "", preset_emr: Text = "",
          application_type: Text = "clinic") -> Response:
    visit.check_csrf(csrf)
    setups = _admin(visit)
    if (preset_emr and preset_emr not in EMRS) or application_type not in APPLICATION_TYPES:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("setup_preset_emr")))
    with visit.acting():
        setup = setups.start(preset_emr or None, application_type)
    return see_other(visit, f"/console/setups/{setup.id}")


@router.get("/{setup_id}")
def setup_page(setup_id: UUID, visit: VisitDep, step: str | None = None) -> Response:
    setups = _admin(visit)
    return _page(visit, setups, setup_id, step)


def _step(visit: Visit, setup_id: UUID, step: str, change: Any, form: dict[str, Any] | None = None,
          then: str | None = None) -> Response:
    """Run one step's use case; on a refusal show the same step again with the words why."""
    setups = _admin(visit)
    setup = _load(visit, setups, setup_id)
    with visit.acting():
        try:
            setup = change(setups)
        except DomainError as exc:
            status, message = refused(visit, exc)
            field = str(exc.details.get("field") or "").rsplit(".", 1)[-1]
            if field:
                label = visit.t("field_" + field) if "field_" + field in CATALOGUE else field
                message = f"{visit.t('invalid_input', what=label)} {message}"
            return _page(visit, setups, setup_id, step, status, message, form)
    return see_other(visit, f"/console/setups/{setup_id}?step={then or _shown_step(setup, None)}")


@router.post("/{setup_id}/clinic")
async def clinic_step(
    setup_id: UUID, visit: VisitDep, csrf: Csrf = "", name: Text = "", street: Text = "",
    suite: Text = "", city: Text = "", province: Text = "", postal_code: Text = "",
    phone: Text = "", extension: Text = "", logo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Name, address, phone (extension optional); a logo if one was chosen (png, gif, jpeg)."""
    visit.check_csrf(csrf)
    content = await logo.read(MAX_BYTES + 1) if logo is not None and logo.filename else b""
    form = {"name": name, "street": street, "suite": suite, "city": city, "province": province,
            "postal_code": postal_code, "phone": phone, "extension": extension}
    address = {"street": street, "suite": suite or None, "city": city, "province": province,
               "postal_code": postal_code}

    def change(setups: ClinicSetups) -> ClinicSetup:
        setup = setups.identify_clinic(setup_id, name, address, phone, extension or None)
        return setups.attach_logo(setup_id, content) if content else setup

    return await run_in_threadpool(_step, visit, setup_id, "clinic", change, form)


@router.post("/{setup_id}/providers")
def providers_step(setup_id: UUID, visit: VisitDep, csrf: Csrf = "",
                   portals: Annotated[list[str] | None, Form(max_length=10)] = None) -> Response:
    visit.check_csrf(csrf)
    return _step(visit, setup_id, "providers",
                 lambda setups: setups.choose_providers(setup_id, portals or []))


@router.post("/{setup_id}/emr")
def emr_step(setup_id: UUID, visit: VisitDep, csrf: Csrf = "", emr: Text = "") -> Response:
    """Exactly one EMR or standalone; another EMR than the pre-set one shows the alert."""
    visit.check_csrf(csrf)
    setups = _admin(visit)
    response = _step(visit, setup_id, "emr", lambda s: s.choose_emr(setup_id, emr))
    if response.status_code == 303 and setups.get(setup_id).emr_alert:
        return see_other(visit, f"/console/setups/{setup_id}?step=emr")
    return response


@router.post("/{setup_id}/import/{kind}")
async def import_step(setup_id: UUID, kind: str, visit: VisitDep, csrf: Csrf = "",
                      export: Annotated[UploadFile | None, File()] = None) -> Response:
    """Start (or retry) pulling staff or services from the EMR, or import the EMR's export file
    (FHIR Bundle or CSV) for an EMR the hub cannot pull from; the page follows the import."""
    visit.check_csrf(csrf)
    if kind not in ("staff", "services"):
        raise PageRefused(404, visit.t("not_found"))
    content = await export.read(MAX_EXPORT + 1) if export is not None and export.filename else b""
    if len(content) > MAX_EXPORT:
        raise PageRefused(413, visit.t("export_too_big", mb=MAX_EXPORT // 1_000_000))
    try:
        source = content.decode("utf-8-sig") if content else None
    except UnicodeDecodeError:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("export_file"))) from None
    return await run_in_threadpool(_step, visit, setup_id, kind,
                                   lambda s: s.start_import(setup_id, kind, source), None, kind)


@router.post("/{setup_id}/patients")
def patients_step(setup_id: UUID, visit: VisitDep, csrf: Csrf = "", acknowledged: Text = "") -> Response:
    """"J'ai compris", then "Créer la clinique": the clinic exists, with its imported staff."""
    visit.check_csrf(csrf)
    setups = _admin(visit)
    response = _step(visit, setup_id, "patients",
                     lambda s: s.acknowledge_patients(setup_id, acknowledged == "yes"))
    if response.status_code != 303:
        return response
    with visit.acting():
        try:
            done = setups.complete(setup_id)
        except DomainError as exc:
            status, message = refused(visit, exc)
            return _page(visit, setups, setup_id, "patients", status, message)
    visit.services.projections.wait("suivi", done.position, visit.services.settings.read_wait_seconds)
    return see_other(visit, f"/console/clinics/{done.clinic_id}/suivi?done=created")

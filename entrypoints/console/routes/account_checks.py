"""The clinic's separate validations of a citizen account from the Suivi (seed 001 §3.1–3.2):
clicking a red profile icon confirms the account holder's identity, a red card icon the
patient's association with the holder's account. The ``Accounts.identify`` and
``Accounts.validate_association`` use cases of ``POST /v1/accounts/{id}/identity`` and
``.../patients/{patient_id}/association``, with the same rules (a clinic holding one of the
account's appointments; identity before association) refused in words."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.account import Account
from aggregates.appointment import Appointment
from aggregates.errors import DomainError, NotFound
from entrypoints.api.errors import ApiError
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.routes.presence import visible
from entrypoints.console.routes.suivi import _back, _caught_up, _with
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.tokens import Principal
from projections.lists import patient_card

router = APIRouter(prefix="/console", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Confirmed = Annotated[str, Form(max_length=10)]
Back = Annotated[str, Form(max_length=2000)]


def _account(visit: Visit, appointment: Appointment) -> Account:
    if appointment.account_id is None:
        raise PageRefused(404, visit.t("no_account"))
    try:
        return visit.services.accounts.get(appointment.account_id)
    except NotFound:
        raise PageRefused(404, visit.t("no_account")) from None


def _clinics(principal: Principal) -> frozenset[UUID] | None:
    """The clinics the signed-in principal validates for (None: an admin, any)."""
    return None if principal.all_clinics else frozenset(principal.clinic_ids)


def _page(visit: Visit, appointment: Appointment, kind: str, back: str, status: int = 200,
          error: str | None = None) -> Response:
    account = _account(visit, appointment)
    model = visit.services.projections.get("suivi").view
    return render(visit, "account_check.html", status=status, kind=kind, appointment=appointment,
                  holder=patient_card(model, str(account.holder_patient_id)),
                  patient=patient_card(model, str(appointment.patient_id)),
                  icons=account.icons_for(appointment.patient_id).as_dict(), back=back,
                  error=error)


@router.get("/appointments/{appointment_id}/identity")
def identity_page(appointment_id: UUID, visit: VisitDep, back: str = "") -> Response:
    """Seed 001 §3.1 "Confirmation de l'identité du patient": the holder's details, one box."""
    appointment = visible(visit, appointment_id)
    return _page(visit, appointment, "identity", _back(visit, appointment, back))


@router.get("/appointments/{appointment_id}/association")
def association_page(appointment_id: UUID, visit: VisitDep, back: str = "") -> Response:
    """Seed 001 §3.2 "Association du patient": the patient and the account's holder."""
    appointment = visible(visit, appointment_id)
    return _page(visit, appointment, "association", _back(visit, appointment, back))


def _validate(visit: Visit, appointment_id: UUID, kind: str, confirmed: str, back: str) -> Response:
    appointment = visible(visit, appointment_id)
    back = _back(visit, appointment, back)
    if confirmed != "yes":
        return _page(visit, appointment, kind, back, 422, visit.t(f"check_{kind}_box"))
    account = _account(visit, appointment)
    clinics = _clinics(visit.signed_in())
    accounts = visit.services.accounts
    try:
        with visit.acting():
            if kind == "identity":
                written = accounts.identify(account.id, clinics)
            else:
                written = accounts.validate_association(account.id, appointment.patient_id, clinics)
    except (DomainError, ApiError) as exc:
        status, message = refused(visit, exc)
        return _page(visit, appointment, kind, back, status, message)
    _caught_up(visit, written.position)
    return see_other(visit, _with(back, done=f"validated_{kind}"))


@router.post("/appointments/{appointment_id}/identity")
def identify(appointment_id: UUID, visit: VisitDep, csrf: Csrf = "", confirmed: Confirmed = "",
             back: Back = "") -> Response:
    visit.check_csrf(csrf)
    return _validate(visit, appointment_id, "identity", confirmed, back)


@router.post("/appointments/{appointment_id}/association")
def validate_association(appointment_id: UUID, visit: VisitDep, csrf: Csrf = "",
                         confirmed: Confirmed = "", back: Back = "") -> Response:
    visit.check_csrf(csrf)
    return _validate(visit, appointment_id, "association", confirmed, back)

"""The presence sequence (SPEC A4, seed 001 §3.3): marking "present" an appointment whose
account icons are red runs present → identify the citizen → validate the association, in one
transaction (the ``set_status`` use case the API's ``POST .../status`` calls)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.account import Account
from aggregates.account_icons import PresenceStep, presence_steps
from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from entrypoints.api.errors import ApiError
from entrypoints.api.routes.appointments import ROLE_SOURCES, load_visible
from entrypoints.console.pages import refused, render
from entrypoints.console.session import PageRefused, Visit, VisitDep
from projections.lists import patient_name

router = APIRouter(prefix="/console", include_in_schema=False)


def visible(visit: Visit, appointment_id: UUID) -> Appointment:
    """The appointment, if the signed-in principal may change it (as the API decides)."""
    principal = visit.signed_in()
    try:
        appointment = load_visible(visit.services.scheduling, principal, appointment_id)
    except (DomainError, ApiError):
        raise PageRefused(404, visit.t("not_found")) from None
    if principal.role not in ROLE_SOURCES:
        raise PageRefused(403, visit.t("forbidden"))
    return appointment


def steps_of(visit: Visit, appointment: Appointment) -> tuple[PresenceStep, ...]:
    """What marking this appointment present runs (present alone when no icon is red)."""
    if appointment.account_id is None:
        return (PresenceStep.PRESENT,)
    account = visit.services.scheduling.load(Account, appointment.account_id, "account")
    return presence_steps(account.icons_for(appointment.patient_id))


def sequence_page(visit: Visit, appointment: Appointment, back: str, status: int = 200,
                  error: str | None = None) -> Response:
    model = visit.services.projections.get("suivi").view
    holder = ""
    if appointment.account_id is not None:
        account = visit.services.scheduling.load(Account, appointment.account_id, "account")
        holder = patient_name(model, str(account.holder_patient_id))
    return render(visit, "presence.html", status=status, appointment=appointment,
                  steps=[s.value for s in steps_of(visit, appointment)],
                  patient=patient_name(model, str(appointment.patient_id)), holder=holder,
                  back=back, error=error)


@router.get("/appointments/{appointment_id}/presence")
def presence_page(appointment_id: UUID, visit: VisitDep, back: str = "") -> Response:
    appointment = visible(visit, appointment_id)
    return sequence_page(visit, appointment, back)


def run_sequence(visit: Visit, appointment: Appointment, identify: bool, validate: bool) -> int:
    """Present, with the identification and the association the staff confirmed."""
    with visit.acting():
        return visit.services.scheduling.set_status(
            appointment.id, "present", identify=identify, validate_association=validate).position


IdentifyField = Annotated[str, Form(max_length=10)]


def sequence_refused(visit: Visit, appointment: Appointment, back: str,
                     exc: DomainError | ApiError) -> Response:
    status, message = refused(visit, exc)
    return sequence_page(visit, appointment, back, status, message)

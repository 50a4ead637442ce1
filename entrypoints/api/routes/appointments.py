"""Appointments (S3): book, read, reschedule, change service, cancel, status, delete.

Portals book only unlocked slots of online services (source ``portal`` or ``citizen``) and
see only the appointments booked online.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from fastapi import APIRouter, Response, status

from aggregates.account import Account
from aggregates.appointment import Appointment
from aggregates.errors import NotFound
from aggregates.reorientation import Referral
from aggregates.slot import Slot
from entrypoints.api.appointment_models import (
    AppointmentOut,
    AppointmentWritten,
    BookingIn,
    CancelIn,
    RescheduleIn,
    ServiceChangeIn,
    StatusIn,
    account_icons_of,
    appointment_out,
)
from entrypoints.api.deps import (
    Booker,
    Reader,
    ReorientingBooker,
    SchedulingDep,
    ServicesDep,
    Writer,
    require_clinic,
)
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.idempotency import IdempotencyKey
from entrypoints.api.services import ApiServices
from hub.access.tokens import Principal, Role
from hub.access.visibility import Viewer
from hub.scheduling.reorientation import booking_channel
from hub.scheduling.service import Scheduling, Written

router = APIRouter(prefix="/v1/appointments", tags=["appointments"])
A = TypeVar("A", bound=Aggregate)

#: Sources each role may book with; the first is the default.
ROLE_SOURCES: dict[Role, tuple[str, ...]] = {
    Role.EMR: ("emr",), Role.PORTAL: ("portal", "citizen"), Role.CLINIC_STAFF: ("admin",),
    Role.ADMIN: ("admin", "emr", "portal", "citizen"), Role.REFERRER: ("admin",),
}


def _load(scheduling: Scheduling, cls: type[A], aggregate_id: UUID) -> A | None:
    try:
        return scheduling.load(cls, aggregate_id, cls.__name__.lower())
    except NotFound:
        return None


def _hidden() -> ApiError:
    return ApiError(404, "not_found", "no such resource for this token")


def load_visible(scheduling: Scheduling, principal: Principal, appointment_id: UUID) -> Appointment:
    """An appointment the token sees (``hub.access.visibility``), else 404."""
    appointment = scheduling.load(Appointment, appointment_id, "appointment")
    if not Viewer.of(principal).appointment(appointment):
        raise _hidden()
    return appointment


def _written(scheduling: Scheduling, principal: Principal, written: Written) -> AppointmentWritten:
    appointment = written.saved if isinstance(written.saved, Appointment) else (
        scheduling.load(Appointment, written.id, "appointment"))
    return appointment_out(appointment, Viewer.of(principal),
                           account_icons_of(scheduling, appointment), AppointmentWritten,
                           position=written.position)


def booking_source(principal: Principal, requested: str | None) -> str:
    allowed = ROLE_SOURCES[principal.role]
    source = requested or allowed[0]
    if source not in allowed:
        raise ApiError(403, "forbidden", f"a {principal.role.value} token books with source "
                       f"{' or '.join(allowed)}, not {source}", source=source)
    return source


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AppointmentWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def book(body: BookingIn, principal: ReorientingBooker, scheduling: SchedulingDep,
               services: ServicesDep,
               _key: IdempotencyKey = None) -> Response:
    """Book a patient into a slot; 409 ``slot_full`` when no place is left.

    811 users book into any clinic's slots reserved for ``811``; reorientation users into
    slots reserved for ``reorientation``, with a ``referral``; other slots of another clinic
    are not found (R2)."""
    # One hop to a command thread: a ``def`` route would take two (FastAPI validates the
    # answer of a synchronous route in the threadpool again), the busiest route's overhead.
    # The answer is validated once and written as JSON there too: FastAPI would dump the
    # model, validate the dump again and serialise it on the event loop's thread.
    answer = await services.commands.run(_booked_json, body, principal, scheduling, services)
    return Response(answer, status_code=status.HTTP_201_CREATED, media_type="application/json")


def _booked_json(body: BookingIn, principal: Principal, scheduling: Scheduling,
                 services: ApiServices) -> bytes:
    return _book(body, principal, scheduling, services).model_dump_json().encode()


def _book(body: BookingIn, principal: Principal, scheduling: Scheduling,
          services: ApiServices) -> AppointmentWritten:
    source = booking_source(principal, body.source)
    referral = (Referral.of(body.referral.from_site, body.referral.priority, body.referral.reason)
                if body.referral else None)

    def channel(slot: Slot) -> str | None:
        """Whether this caller may book the slot, and through which channel (R2), decided
        on the slot as the command read it (404 for a slot it may not book)."""
        through = booking_channel(principal, slot, referral)
        if principal.role == Role.PORTAL and not slot.offered_online:
            raise _hidden()
        return through

    patient = body.patient.model_dump(exclude_none=True)
    patient["birth_date"] = body.patient.birth_date.isoformat()
    if body.account_id is not None:
        account = _load(scheduling, Account, body.account_id)
        if account is None or not Viewer.of(principal).account(account):
            raise ApiError(404, "not_found", "no such account for this token",
                           account_id=str(body.account_id))
    written = services.vaccination.records.book(body.slot_id, body.service_id, patient, source,
                                                body.language, body.dose, referral=referral,
                                                account_id=body.account_id, channel=channel)
    return _written(scheduling, principal, written)


@router.get("/{appointment_id}", response_model=AppointmentOut,
            responses=responses(401, 403, 404, 422, 503))
def get_appointment(appointment_id: UUID, principal: Reader,
                    scheduling: SchedulingDep) -> AppointmentOut:
    """One appointment (a portal: only one booked online)."""
    appointment = load_visible(scheduling, principal, appointment_id)
    return appointment_out(appointment, Viewer.of(principal),
                           account_icons_of(scheduling, appointment))


@router.post("/{appointment_id}/reschedule", response_model=AppointmentWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def reschedule(appointment_id: UUID, body: RescheduleIn, principal: Booker,
               scheduling: SchedulingDep, _key: IdempotencyKey = None) -> AppointmentWritten:
    """Move the appointment to another slot of its clinic (same id), atomically."""
    load_visible(scheduling, principal, appointment_id)
    slot = scheduling.load(Slot, body.slot_id, "slot")
    require_clinic(principal, slot.clinic_id, hide=True)
    source = ROLE_SOURCES[principal.role][0]
    written = scheduling.reschedule(appointment_id, body.slot_id, body.service_id, source)
    return _written(scheduling, principal, written)


@router.post("/{appointment_id}/cancel", response_model=AppointmentWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def cancel(appointment_id: UUID, principal: Booker, scheduling: SchedulingDep,
           body: CancelIn | None = None, _key: IdempotencyKey = None) -> AppointmentWritten:
    """Cancel: the place returns to the slot (S4)."""
    load_visible(scheduling, principal, appointment_id)
    written = scheduling.cancel(appointment_id, body.reason if body else None)
    return _written(scheduling, principal, written)


@router.post("/{appointment_id}/status", response_model=AppointmentWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def set_status(appointment_id: UUID, body: StatusIn, principal: Writer,
               scheduling: SchedulingDep, _key: IdempotencyKey = None) -> AppointmentWritten:
    """Mark the patient present or absent (or back to undefined)."""
    load_visible(scheduling, principal, appointment_id)
    written = scheduling.set_status(appointment_id, body.status, body.identify,
                                    body.validate_association)
    return _written(scheduling, principal, written)


@router.post("/{appointment_id}/service", response_model=AppointmentWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def change_service(appointment_id: UUID, body: ServiceChangeIn, principal: Writer,
                   scheduling: SchedulingDep, _key: IdempotencyKey = None) -> AppointmentWritten:
    """Change the appointment's service (same slot)."""
    load_visible(scheduling, principal, appointment_id)
    return _written(scheduling, principal, scheduling.change_service(appointment_id, body.service_id))


@router.delete("/{appointment_id}", response_model=AppointmentWritten,
               responses=responses(401, 403, 404, 409, 422, 503))
def delete(appointment_id: UUID, principal: Writer, scheduling: SchedulingDep) -> AppointmentWritten:
    """Delete the appointment (its place returns to the slot if it held one)."""
    load_visible(scheduling, principal, appointment_id)
    return _written(scheduling, principal, scheduling.delete(appointment_id))

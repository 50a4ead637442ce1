"""Appointments (S3): book, read, reschedule, change service, cancel, status, delete.

Portals book only unlocked slots of online services (source ``portal`` or ``citizen``) and
see only the appointments booked online.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, TypeVar, overload
from uuid import UUID

from eventsourcing.domain import Aggregate
from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from aggregates.account import Account
from aggregates.account_icons import NO_ACCOUNT, AccountIcons, Icon
from aggregates.appointment import Appointment
from aggregates.errors import NotFound
from aggregates.reorientation import Referral
from aggregates.slot import Slot
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
from entrypoints.api.schemas import Strict
from entrypoints.api.services import ApiServices
from hub.access.tokens import Principal, Role
from hub.access.visibility import Viewer
from hub.scheduling.reorientation import booking_channel
from hub.scheduling.service import Scheduling, Written

router = APIRouter(prefix="/v1/appointments", tags=["appointments"])
A = TypeVar("A", bound=Aggregate)

SourceName = Literal["emr", "portal", "admin", "citizen"]
#: Sources each role may book with; the first is the default.
ROLE_SOURCES: dict[Role, tuple[str, ...]] = {
    Role.EMR: ("emr",), Role.PORTAL: ("portal", "citizen"), Role.CLINIC_STAFF: ("admin",),
    Role.ADMIN: ("admin", "emr", "portal", "citizen"), Role.REFERRER: ("admin",),
}
Phone = Field(default=None, max_length=30, pattern=r"^\+?[0-9 ().-]{7,30}$")
Email = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PatientIn(Strict):
    nam: str = Field(max_length=20, examples=["TREM85010112"],
                     description="health insurance number: 4 letters + 8 digits")
    first_name: str = Field(min_length=1, max_length=100, examples=["Marie"])
    last_name: str = Field(min_length=1, max_length=100, examples=["Tremblay"])
    birth_date: date = Field(examples=["1985-01-01"])
    email: str | None = Email
    other_email: str | None = Email
    cell: str | None = Phone
    phone: str | None = Phone
    language: Literal["fr", "en"] = "fr"


class ReferralIn(Strict):
    from_site: str = Field(min_length=1, max_length=200, examples=["Urgence, Hôpital Hôtel-Dieu"])
    priority: Literal["P4", "P5"]
    reason: str | None = Field(default=None, max_length=500, examples=["entorse de la cheville"])


class PatientGiven(BaseModel):
    """What a booking gave of its patient (kept with the appointment, never on the record)."""

    first_name: str | None = None
    last_name: str | None = None
    birth_date: str | None = None
    email: str | None = None
    other_email: str | None = None
    cell: str | None = None
    phone: str | None = None
    other_cell: str | None = None
    other_phone: str | None = None


class BookingIn(Strict):
    slot_id: UUID
    service_id: UUID
    patient: PatientIn
    source: SourceName | None = Field(
        default=None, description="defaults by role: emr→emr, portal→portal, others→admin")
    language: Literal["fr", "en"] | None = Field(
        default=None, description="language chosen when booking online (notifications)")
    dose: int | None = Field(
        default=None, ge=1, le=10, description="vaccination dose (V2); a 2nd dose follows the "
        "patient's 1st dose of the same clinic (409 `dose_already_booked` if one is active)")
    referral: ReferralIn | None = Field(
        default=None, description="reorientation users (R2): where the patient comes from, "
        "the triage priority and why; the receiving clinic sees it in Suivi and the audit")
    account_id: UUID | None = Field(
        default=None, description="the citizen account booking (A1): the patient is its holder "
        "or becomes one of its patients (association red until a clinic validates it)")


class RescheduleIn(Strict):
    slot_id: UUID
    service_id: UUID | None = None


class CancelIn(Strict):
    reason: str | None = Field(default=None, max_length=500, examples=["patient request"])


class StatusIn(Strict):
    status: Literal["undefined", "present", "absent"]
    identify: bool = Field(default=False, description="with present: the clinic identified "
                           "the account holder (A4, seed 001 §3.3)")
    validate_association: bool = Field(default=False, description="with present: the clinic "
                                       "validated the patient's association with the account")


class ServiceChangeIn(Strict):
    service_id: UUID


class AppointmentOut(BaseModel):
    id: UUID
    clinic_id: UUID
    slot_id: UUID
    professional_id: UUID
    service_id: UUID
    patient_id: UUID | None = Field(
        description="the hub's patient; null for a portal, which sees only what it gave")
    patient: PatientGiven = Field(description="the patient as this booking gave it")
    account: AccountIconsOut = Field(description="citizen-account icons (seed 001 §3.5)")
    start: AwareDatetime
    end: AwareDatetime
    source: str
    product: str | None
    language: str | None
    status: str
    cancelled: bool
    cancel_reason: str | None
    deleted: bool
    dose: int | None = None
    first_dose_id: UUID | None = None
    through: str | None = Field(description="`811` or `reorientation` when booked by another "
                                "clinic's user into a slot kept for it (R2)")
    referral: dict[str, str | None] | None = Field(description="a reorientation's referral")
    version: int


class AppointmentWritten(AppointmentOut):
    position: int = Field(ge=0, description="log position of the last event written")


class AccountIconsOut(BaseModel):
    """``grey``: booked without an account; ``red``: not validated; ``green``: validated."""

    identity: Icon = Icon.GREY
    association: Icon = Icon.GREY


def account_icons_of(scheduling: Scheduling, a: Appointment) -> AccountIcons:
    if a.account_id is None:
        return NO_ACCOUNT
    return scheduling.load(Account, a.account_id, "account").icons_for(a.patient_id)


Out = TypeVar("Out", bound=AppointmentOut)


@overload
def appointment_out(a: Appointment, viewer: Viewer, icons: AccountIcons) -> AppointmentOut: ...


@overload
def appointment_out(a: Appointment, viewer: Viewer, icons: AccountIcons, model: type[Out],
                    **more: object) -> Out: ...


def appointment_out(a: Appointment, viewer: Viewer, icons: AccountIcons,
                    model: type[AppointmentOut] = AppointmentOut, **more: object) -> AppointmentOut:
    """What the API shows of an appointment (``model``: a subclass, with its ``more`` fields)."""
    return model(
        account=AccountIconsOut(identity=icons.identity, association=icons.association),
        id=a.id, clinic_id=a.clinic_id, slot_id=a.slot_id, professional_id=a.professional_id,
        service_id=a.service_id, patient_id=a.patient_id if viewer.reads_patients else None,
        patient=PatientGiven(**a.as_given), start=a.start, end=a.end,
        source=a.source, product=a.product, language=a.language, status=a.status,
        cancelled=a.cancelled, cancel_reason=a.cancel_reason, deleted=a.deleted,
        dose=a.dose, first_dose_id=a.first_dose_id, through=a.through, referral=a.referral,
        version=a.version, **more)


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

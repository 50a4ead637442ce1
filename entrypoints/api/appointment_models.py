"""What the appointments API reads and answers (``routes/appointments.py``, and the routes of
vaccination, accounts and patients that show or take the same shapes): the request bodies,
the appointment as shown, and how it is built from the aggregate for one viewer."""

from __future__ import annotations

from datetime import date
from typing import Literal, TypeVar, overload
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from aggregates.account import Account
from aggregates.account_icons import NO_ACCOUNT, AccountIcons, Icon
from aggregates.appointment import Appointment
from entrypoints.api.schemas import Strict
from hub.access.visibility import Viewer
from hub.scheduling.service import Scheduling

SourceName = Literal["emr", "portal", "admin", "citizen"]
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

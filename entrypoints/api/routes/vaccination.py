"""2nd-dose rescheduling (V1–V4): batch invitations, the citizen's self-service, product fixes.

Self-service routes are public: the citizen proves who they are with the one-time code, then
acts with the token ``verify`` gave (``Authorization: Bearer <token>``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, Field

from aggregates.appointment import Appointment
from aggregates.doses import same_product
from aggregates.self_service import TokenRefused
from entrypoints.api.appointment_models import AppointmentWritten, account_icons_of, appointment_out
from entrypoints.api.deps import ServicesDep, Staff, Writer, require_clinic
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.readmodels import ProjectorDep, read_model
from entrypoints.api.routes.appointments import load_visible
from entrypoints.api.schemas import Strict
from hub.access.visibility import Viewer
from hub.actor import Actor, acting_as
from hub.vaccination.service import Vaccination
from projections.queries import availability

router = APIRouter(tags=["vaccination"])
_citizen_bearer = HTTPBearer(auto_error=False, description="the token of /v1/self-service/{id}/verify")
Phone = Field(max_length=30, pattern=r"^\+?[0-9 ().-]{7,30}$", examples=["418 555-0101"])
Email = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_WINDOW = timedelta(days=62)


async def get_vaccination(services: ServicesDep) -> Vaccination:
    return services.vaccination


VaccinationDep = Annotated[Vaccination, Depends(get_vaccination)]


async def _as_citizen() -> AsyncIterator[None]:
    """Self-service commands are recorded as done by the citizen, through the self-service (set
    in the request's own context, which the threadpool copies into sync endpoints)."""
    with acting_as(Actor(subject="citizen", role="citizen", channel="self-service")):
        yield


Citizen = Depends(_as_citizen)


# -- V1: batch invitations --------------------------------------------------------------------
class InvitationsIn(Strict):
    appointment_ids: list[UUID] = Field(
        min_length=1, description="at most 100 (more: 422 `too_many`); picked in Suivi, "
                                  "`view=without_cancellation`")
    message: Literal["advance_date", "moved_or_cancelled"]
    preview: bool = Field(default=False, description="answer the exact messages, send nothing")


class Reason(BaseModel):
    code: str = Field(examples=["present_at_first_dose"])
    fr: str
    en: str


class MessageOut(BaseModel):
    subject: str = Field(description="e-mail only")
    text: str
    html: str = Field(description="e-mail only")


class InvitationOut(BaseModel):
    appointment_id: UUID
    eligible: bool
    reasons: list[Reason] = Field(description="every failed criterion of seed 000 §4")
    channel: Literal["email", "sms"] | None
    message: MessageOut | None = Field(description="exactly what is (or would be) sent")
    notification_id: UUID | None = Field(description="the message's notification (when sent)")


class InvitationsOut(BaseModel):
    preview: bool
    message: str
    batch_id: UUID | None
    invited: int
    position: int | None
    items: list[InvitationOut]


@router.post("/v1/clinics/{clinic_id}/invitations", response_model=InvitationsOut,
             responses=responses(401, 403, 404, 413, 422, 503),
             status_code=status.HTTP_201_CREATED)
def invite(clinic_id: UUID, body: InvitationsIn, principal: Staff, vaccination: VaccinationDep,
           response: Response) -> InvitationsOut:
    """Invite the citizens of up to 100 2nd-dose appointments to move them (e-mail, else SMS);
    `preview` (200) answers the messages and writes nothing."""
    require_clinic(principal, clinic_id)
    result = vaccination.invitations.invite(clinic_id, body.appointment_ids, body.message,
                                            body.preview)
    if result.preview:
        response.status_code = status.HTTP_200_OK
    return InvitationsOut(
        preview=result.preview, message=result.message, batch_id=result.batch_id,
        invited=result.invited, position=result.position,
        items=[InvitationOut.model_validate(item, from_attributes=True) for item in result.items])


# -- V2: staff fix the product (seed 000 §6, admin mode) ---------------------------------------
class ProductIn(Strict):
    product: str = Field(min_length=1, max_length=100, examples=["Pfizer-BioNTech"])


@router.post("/v1/appointments/{appointment_id}/product", response_model=AppointmentWritten,
             tags=["appointments"], responses=responses(401, 403, 404, 409, 413, 422, 503))
def correct_product(appointment_id: UUID, body: ProductIn, principal: Writer,
                    services: ServicesDep) -> AppointmentWritten:
    """Record the product really given or planned (the "Type de vaccin" of the appointment)."""
    load_visible(services.scheduling, principal, appointment_id)
    written = services.vaccination.records.correct_product(appointment_id, body.product)
    appointment = services.scheduling.load(Appointment, written.id, "appointment")
    return appointment_out(appointment, Viewer.of(principal),
                           account_icons_of(services.scheduling, appointment), AppointmentWritten,
                           position=written.position)


# -- V3: the citizen's self-service ------------------------------------------------------------
class LookupIn(Strict):
    nam: str | None = Field(default=None, max_length=20, examples=["ROBC80621101"])
    coupon: str | None = Field(default=None, max_length=20, examples=["4K7P-9QXM"])
    phone: str = Phone


class LookupOut(BaseModel):
    request_id: UUID
    channel: Literal["email", "sms"]
    sent_to: str = Field(examples=["***8365"], description="masked")
    expires_at: datetime


@router.post("/v1/self-service/lookup", response_model=LookupOut, dependencies=[Citizen],
             responses=responses(409, 413, 422, 503))
def lookup(body: LookupIn, vaccination: VaccinationDep) -> LookupOut:
    """Find the citizen by NAM or coupon + phone and send a one-time code (SMS or e-mail).
    409 `identification_failed`, `not_in_target_group`, `too_many_requests`."""
    sent = vaccination.self_service.lookup(body.phone, body.nam, body.coupon)
    return LookupOut(request_id=sent.request_id, channel=sent.channel,  # type: ignore[arg-type]  # email|sms
                     sent_to=sent.sent_to, expires_at=sent.expires_at)


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=12, examples=["123456"])


class DoseOut(BaseModel):
    id: UUID
    dose: int | None
    start: datetime
    clinic_id: UUID
    clinic: str
    address: dict[str, Any]
    product: str | None


class VerifiedOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer` to rebook (30 minutes, once)")
    appointment: DoseOut | None = Field(description="the 2nd dose to move, else the 1st dose")
    eligible: bool
    reasons: list[Reason] = Field(description="every failed criterion of seed 000 §7")
    refusal: dict[str, Any] | None = Field(description="the seed 000 §6 case, with what to do")
    products: list[str] = Field(description="products the 2nd dose may be (V4)")
    earliest: datetime | None
    latest: datetime | None


@router.post("/v1/self-service/{request_id}/verify", response_model=VerifiedOut,
             dependencies=[Citizen], responses=responses(404, 409, 413, 422, 503))
def verify(request_id: UUID, body: CodeIn, vaccination: VaccinationDep) -> VerifiedOut:
    """Check the code: 409 `wrong_code` (with `tries_left`), `code_locked` after 5 wrong codes,
    `code_expired`."""
    verified = vaccination.self_service.verify(request_id, body.code)
    return VerifiedOut(
        token=verified.token,
        appointment=DoseOut(**verified.appointment) if verified.appointment else None,
        eligible=verified.eligibility.eligible,
        reasons=[Reason(**r) for r in verified.eligibility.reasons()],
        refusal=verified.refusal, products=verified.products,
        earliest=verified.earliest, latest=verified.latest)


def _citizen_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_citizen_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthenticated",
                       "send the self-service token: Authorization: Bearer <token>")
    return credentials.credentials


CitizenToken = Annotated[str, Depends(_citizen_token)]


class RebookIn(Strict):
    slot_id: UUID
    product: str | None = Field(default=None, max_length=100,
                                description="another product for the 2nd dose (V4)")
    email: str | None = Email
    cell: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 ().-]{7,30}$")
    details_confirmed: bool = Field(
        default=True, description="false: the citizen says the details or the product are wrong "
                                  "(409 `product_declared_wrong`)")


class RebookedOut(BaseModel):
    appointment_id: UUID
    cancelled_appointment_id: UUID | None
    position: int


@router.post("/v1/self-service/rebook", response_model=RebookedOut, dependencies=[Citizen],
             status_code=status.HTTP_201_CREATED, responses=responses(401, 404, 409, 413, 422, 503))
def rebook(body: RebookIn, token: CitizenToken, vaccination: VaccinationDep) -> RebookedOut:
    """Book the 2nd dose in this slot; the old one is cancelled in the same transaction."""
    try:
        done = vaccination.self_service.rebook(token, body.slot_id, body.product, body.email,
                                               body.cell, body.details_confirmed)
    except TokenRefused as exc:
        raise ApiError(401, exc.code, exc.message) from None
    return RebookedOut(appointment_id=done.appointment_id,
                       cancelled_appointment_id=done.cancelled_id, position=done.position)


class SlotOut(BaseModel):
    slot_id: UUID
    start: datetime
    end: datetime
    remaining: int
    products: list[str]


@router.get("/v1/self-service/availability", response_model=list[SlotOut],
            responses=responses(401, 409, 422, 503))
def self_service_availability(request: Request, token: CitizenToken, vaccination: VaccinationDep,
                              projector: ProjectorDep, product: str | None = None,
                              start: AwareDatetime | None = None) -> list[SlotOut]:
    """Open places at the 1st-dose site within the prescribed interval (for ``product``)."""
    try:
        window = vaccination.self_service.window(token, product)
    except TokenRefused as exc:
        raise ApiError(401, exc.code, exc.message) from None
    begin = max(window.earliest, start or window.earliest)
    end = min(window.latest or begin + MAX_WINDOW, begin + MAX_WINDOW)
    if end <= begin:
        return []
    model = read_model(request, projector, "availability", None)
    rows = availability(model, begin, end, True, [str(window.clinic_id)], None, None, limit=200)
    return [SlotOut(**{k: row[k] for k in SlotOut.model_fields}) for row in rows
            if row["remaining"] > 0 and any(same_product(p, window.product) for p in row["products"])]

"""Patient communication over HTTP (N1–N5): an appointment's messages, the e-mails' signed
links (public: the signature is the credential), the gateway's SMS and phone webhooks (signed
with ``HUB_GATEWAY_TOKEN``), and the per-portal N4 setting."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.routing import NoMatchFound

from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from entrypoints.api.deps import Admin, Reader
from entrypoints.api.errors import ApiError, domain_status, responses
from entrypoints.api.schemas import Strict
from hub.access.visibility import Viewer
from hub.notifications.center import NotificationCenter
from hub.notifications.replies import Reply
from hub.notifications.webhooks import WebhookRefused

S = TypeVar("S", bound=BaseModel)

router = APIRouter(tags=["notifications"])


def get_center(request: Request) -> NotificationCenter:
    center: NotificationCenter = request.app.state.services.notifications
    return center


CenterDep = Annotated[NotificationCenter, Depends(get_center)]


class NotificationOut(BaseModel):
    id: UUID
    kind: Literal["confirmation", "reminder", "modification", "cancellation", "invitation"]
    channel: Literal["email", "sms", "phone"]
    address: str
    language: str
    due_at: datetime
    status: Literal["planned", "sent", "failed", "skipped", "withdrawn"]
    sent_at: datetime | None
    attempts: int
    error: str | None = Field(default=None, description="last failure, skip or withdrawal reason")


class CommunicationOut(BaseModel):
    """What staff see: "confirmation sent by e-mail" (time, address), then "confirmed by SMS"."""

    status: Literal["confirmation_sent", "confirmed"]
    channel: str
    address: str | None
    at: datetime


class NotificationsOut(BaseModel):
    items: list[NotificationOut]
    communication: CommunicationOut | None = None


@router.get("/v1/appointments/{appointment_id}/notifications", response_model=NotificationsOut,
            responses=responses(401, 403, 404, 503))
def appointment_notifications(appointment_id: UUID, principal: Reader, center: CenterDep) -> NotificationsOut:
    """The appointment's planned and sent messages, complete as soon as the booking is answered:
    the planning process is first brought up to the latest event (bounded wait, else 503).
    The read of the patient's addresses is recorded (``GET /v1/phi-reads``)."""
    appointment = center.app.load(Appointment, appointment_id, "appointment")
    if not Viewer.of(principal).appointment(appointment):
        raise ApiError(404, "not_found", "no such resource for this token")
    notifications, communication = center.for_appointment(appointment_id)
    return NotificationsOut(
        items=[NotificationOut.model_validate({
            "id": n.id, "kind": n.kind, "channel": n.channel, "address": n.address,
            "language": n.language, "due_at": n.due_at, "status": n.status, "sent_at": n.sent_at,
            "attempts": n.attempts, "error": n.last_error}) for n in notifications],
        communication=CommunicationOut.model_validate({
            "status": communication.status, "channel": communication.channel,
            "address": communication.address, "at": communication.at})
        if communication is not None and communication.status else None,
    )


# -- e-mail links -----------------------------------------------------------------------------
TITLES = {"confirm": "Confirmer ma présence / Confirm my attendance",
          "cancel": "Annuler mon rendez-vous / Cancel my appointment"}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _page(request: Request, status: int, title: str, message: str, code: str,
          form: bool = False) -> Response:
    if _wants_json(request):
        if status >= 400:
            return JSONResponse({"error": {"code": code, "message": message, "details": None}}, status)
        return JSONResponse({"result": code, "message": message}, status)
    button = ("<form method='post'><button type='submit'>" + html.escape(title) + "</button></form>"
              if form else "")
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{button}"
            f"</body></html>")
    return HTMLResponse(body, status)


Token = Annotated[str, Path(max_length=2000, description="the token from the e-mail's link")]


def _citizen_page(request: Request, token: str) -> str | None:
    """The console's page for this link, when a browser asks and ``hub serve`` has the console."""
    if "text/html" not in request.headers.get("accept", ""):
        return None
    try:
        return str(request.app.url_path_for("citizen_link", token=token))
    except NoMatchFound:
        return None


@router.get("/v1/links/{token}", response_class=HTMLResponse, responses=responses(400, 404, 409))
def show_link(token: Token, request: Request, center: CenterDep) -> Response:
    """The page behind an e-mail button: says what will happen and asks for one click (a GET
    never changes anything, so mail scanners that prefetch links cancel nothing). A browser is
    sent to the citizen's console page (``/links/{token}``) when the server has the console."""
    if (page := _citizen_page(request, token)) is not None:
        return RedirectResponse(page, status_code=303)
    try:
        claim = center.replies.read_link(token)
        center.app.load(Appointment, claim.appointment_id, "appointment")
    except DomainError as exc:
        return _page(request, domain_status(exc), "Lien / Link", exc.message, exc.code)
    message = ("Cliquez pour confirmer votre présence. / Click to confirm your attendance."
               if claim.action == "confirm" else
               "Cliquez pour annuler votre rendez-vous. / Click to cancel your appointment.")
    return _page(request, 200, TITLES[claim.action], message, claim.action, form=True)


@router.post("/v1/links/{token}", response_class=HTMLResponse,
             responses=responses(400, 404, 409))
def follow_link(token: Token, request: Request, center: CenterDep) -> Response:
    """Confirm or cancel (cancel goes through scheduling, refused past the service's delay)."""
    try:
        reply = center.replies.follow_link(token)
    except DomainError as exc:
        return _page(request, domain_status(exc), "Lien / Link", exc.message, exc.code)
    return _page(request, 200, "Merci / Thank you", reply.message, reply.outcome)


# -- gateway webhooks -------------------------------------------------------------------------
class SmsIn(Strict):
    from_: str = Field(alias="from", min_length=3, max_length=40, examples=["+15145550001"])
    text: str = Field(max_length=1600, examples=["Oui"])


class CallIn(Strict):
    call_id: UUID = Field(description="the id the hub gave the call (its Idempotency-Key)")
    digits: str = Field(default="", max_length=20, examples=["1"])


class ReplyOut(BaseModel):
    result: Literal["confirmed", "cancelled", "already", "ignored"]
    appointment_id: UUID | None
    message: str


async def _signed_body(request: Request, center: NotificationCenter, signature: str | None,
                       timestamp: str | None) -> bytes:
    if center.webhooks is None:
        raise ApiError(403, "webhooks_disabled", "this hub accepts no gateway webhooks: set "
                       "HUB_GATEWAY_WEBHOOK_SECRET to enable them")
    body = await request.body()
    try:
        center.webhooks.check(timestamp, signature, body)
    except WebhookRefused as refused:
        raise ApiError(401, refused.code, refused.message) from None
    return body


def _parse(model: type[S], body: bytes) -> S:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ApiError(422, "validation_error", f"invalid request: {where}") from None


def _reply(reply: Reply) -> ReplyOut:
    return ReplyOut.model_validate({"result": reply.outcome, "appointment_id": reply.appointment_id,
                                    "message": reply.message})


Signature = Annotated[str | None, Header(alias="X-Hub-Signature")]
Timestamp = Annotated[str | None, Header(alias="X-Hub-Timestamp")]


@router.post("/v1/webhooks/sms", response_model=ReplyOut, responses=responses(401, 403, 422))
async def sms_webhook(request: Request, center: CenterDep, signature: Signature = None,
                      timestamp: Timestamp = None) -> ReplyOut:
    """An inbound SMS; "OK", "Oui" or "Yes" confirms the appointment last texted to the sender."""
    sms = _parse(SmsIn, await _signed_body(request, center, signature, timestamp))
    return _reply(await run_in_threadpool(center.replies.sms, sms.from_, sms.text))


@router.post("/v1/webhooks/phone", response_model=ReplyOut, responses=responses(401, 403, 422))
async def phone_webhook(request: Request, center: CenterDep, signature: Signature = None,
                        timestamp: Timestamp = None) -> ReplyOut:
    """A call's keypad answer; 1 confirms the appointment the call was about."""
    call = _parse(CallIn, await _signed_body(request, center, signature, timestamp))
    return _reply(await run_in_threadpool(center.replies.call, call.call_id, call.digits))


# -- N4 ---------------------------------------------------------------------------------------
class PortalCommunicationIn(Strict):
    notifies_itself: bool


@router.put("/v1/portals/{portal}/communication", responses=responses(401, 403, 422))
def set_portal_communication(portal: Annotated[str, Path(min_length=1, max_length=200)],
                             body: PortalCommunicationIn, principal: Admin,
                             center: CenterDep) -> dict[str, object]:
    """Whether a booking portal (its token subject, or a source such as ``portal``) notifies
    its patients itself; the hub then sends nothing for the appointments it books."""
    position = center.set_portal(portal, body.notifies_itself)
    return {"portal": portal, "notifies_itself": body.notifies_itself, "position": position}

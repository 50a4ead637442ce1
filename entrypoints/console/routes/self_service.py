"""The citizen's 2nd-dose self-service (SPEC V3, seed 000 §5): find the appointment (NAM or
coupon + phone), enter the code received, confirm the details and product, choose a slot at
the 1st-dose site, done (the old appointment is cancelled only once the new one is booked).

No staff sign-in: the one-time code proves who the citizen is; the token it gives is kept in an
HttpOnly, SameSite=Strict cookie limited to ``/self-service``. The same ``SelfService`` use
cases as ``/v1/self-service/...``, recorded as done by the citizen through the self-service.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.errors import DomainError
from entrypoints.api.errors import ApiError
from entrypoints.api.routes.vaccination import self_service_availability
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.actor import Actor, acting_as

router = APIRouter(prefix="/self-service", include_in_schema=False)
TOKEN_COOKIE = "hub_self_service"
CITIZEN = Actor(subject="citizen", role="citizen", channel="self-service")
Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=254)]


def _token(visit: Visit) -> str:
    token = visit.request.cookies.get(TOKEN_COOKIE, "")
    if not token:
        raise PageRefused(401, visit.t("ss_start_again"))
    return token


def _local(visit: Visit, value: Any) -> str:
    zone = ZoneInfo(visit.services.settings.timezone)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get("")
def find_page(visit: VisitDep) -> Response:
    return render(visit, "self_service.html", step="find")


@router.post("/lookup")
def lookup(visit: VisitDep, csrf: Csrf = "", nam: Short = "", coupon: Short = "",
           phone: Short = "") -> Response:
    """Step 1: NAM or coupon, and phone; a one-time code goes by SMS or e-mail."""
    visit.check_csrf(csrf)
    form = {"nam": nam, "coupon": coupon, "phone": phone}
    with acting_as(CITIZEN):
        try:
            sent = visit.services.vaccination.self_service.lookup(
                phone.strip(), nam.strip().upper() or None, coupon.strip() or None)
        except DomainError as exc:
            status, message = refused(visit, exc)
            return render(visit, "self_service.html", status=status, step="find", form=form,
                          error=message)
    return render(visit, "self_service.html", step="code", request_id=sent.request_id,
                  sent={"channel": sent.channel, "to": sent.sent_to})


@router.post("/{request_id}/verify")
def verify(request_id: UUID, visit: VisitDep, csrf: Csrf = "",
           code: Annotated[str, Form(max_length=12)] = "") -> Response:
    """Step 2: the code; step 3 shows the appointment's details and product to confirm."""
    visit.check_csrf(csrf)
    with acting_as(CITIZEN):
        try:
            verified = visit.services.vaccination.self_service.verify(request_id, code.strip())
        except DomainError as exc:
            status, message = refused(visit, exc)
            return render(visit, "self_service.html", status=status, step="code",
                          request_id=request_id, error=message)
    appointment = dict(verified.appointment or {})
    if appointment:
        appointment["when"] = _local(visit, appointment.get("start"))
    response = render(visit, "self_service.html", step="confirm", appointment=appointment,
                      eligible=verified.eligibility.eligible and verified.refusal is None,
                      reasons=[r[visit.lang] for r in verified.eligibility.reasons()],
                      refusal=verified.refusal, products=verified.products)
    response.set_cookie(TOKEN_COOKIE, verified.token, httponly=True, samesite="strict",
                        secure=visit.secure, path="/self-service", max_age=30 * 60)
    return response


@router.post("/slots")
def slots(visit: VisitDep, csrf: Csrf = "", product: Short = "", confirmed: Short = "",
          wants_new: Short = "") -> Response:
    """Step 4: open places at the 1st-dose site within the prescribed interval."""
    visit.check_csrf(csrf)
    token = _token(visit)
    if confirmed != "yes" or wants_new != "yes":
        return render(visit, "self_service.html", status=422, step="confirm_again",
                      error=visit.t("ss_confirm_both"))
    try:
        found = self_service_availability(visit.request, token, visit.services.vaccination,
                                          visit.services.projections, product or None, None)
    except (DomainError, ApiError) as exc:
        status, message = refused(visit, exc)
        return render(visit, "self_service.html", status=status, step="confirm_again", error=message)
    choices = [{"slot_id": s.slot_id, "when": _local(visit, s.start), "remaining": s.remaining}
               for s in found]
    return render(visit, "self_service.html", step="slots", slots=choices, product=product)


@router.post("/rebook")
def rebook(visit: VisitDep, csrf: Csrf = "", slot_id: Short = "", product: Short = "",
           email: Short = "", cell: Short = "") -> Response:
    """Step 5: book the new 2nd dose; the old one is cancelled in the same transaction."""
    visit.check_csrf(csrf)
    token = _token(visit)
    try:
        slot = UUID(slot_id)
    except ValueError:
        raise PageRefused(422, visit.t("ss_choose_slot")) from None
    with acting_as(CITIZEN):
        try:
            done = visit.services.vaccination.self_service.rebook(
                token, slot, product or None, email.strip() or None, cell.strip() or None, True)
        except DomainError as exc:
            status, message = refused(visit, exc)
            return render(visit, "self_service.html", status=status, step="confirm_again",
                          error=message)
    response = see_other(visit, f"/self-service/done/{done.appointment_id}"
                         + ("?cancelled=1" if done.cancelled_id else ""))
    response.delete_cookie(TOKEN_COOKIE, path="/self-service")
    return response


@router.get("/done/{appointment_id}")
def done(appointment_id: UUID, visit: VisitDep, cancelled: str | None = None) -> Response:
    """Step 6: the new appointment is booked (and the previous one cancelled)."""
    return render(visit, "self_service.html", step="done", appointment_id=appointment_id,
                  cancelled=cancelled == "1")

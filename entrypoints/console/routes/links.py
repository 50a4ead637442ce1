"""The citizen's pages behind the e-mails' confirm and cancel links (SPEC N3, C2).

No sign-in: the signed link is the credential. The page says what will happen (the
appointment's time and place) and asks for one click; a GET never changes anything, so mail
scanners that open links confirm or cancel nothing. The same use cases as ``/v1/links/{token}``
(``Replies.link_details`` / ``follow_link``): a link sent before the appointment was moved, an
altered or expired link, a cancellation past the service's delay are refused in words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path
from starlette.responses import Response

from aggregates.errors import DomainError
from entrypoints.api.errors import domain_status
from entrypoints.console.pages import render
from entrypoints.console.session import Visit, VisitDep

router = APIRouter(prefix="/links", include_in_schema=False)
Token = Annotated[str, Path(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]
#: Refusals the page explains in its own words (else the use case's message).
EXPLAINED = frozenset({"invalid_link", "link_expired", "link_superseded", "cancellation_too_late",
                       "appointment_over", "not_found"})


def _local(visit: Visit, value: datetime | str) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(visit.services.settings.timezone)).strftime("%Y-%m-%d %H:%M")


def _refused(visit: Visit, exc: DomainError) -> Response:
    if exc.code in EXPLAINED:
        deadline = exc.details.get("deadline")
        message = visit.t(f"link_refused_{exc.code}", phone=exc.details.get("clinic_phone", ""),
                          deadline=_local(visit, str(deadline)) if deadline else "")
    else:
        message = exc.message
    return _refusal(visit, domain_status(exc), exc.code, message)


def _refusal(visit: Visit, status: int, code: str, message: str) -> Response:
    return render(visit, "link.html", status=status, step="refused", error=message, code=code,
                  heading=visit.t("link_refused_title"))


@router.get("/{token}", name="citizen_link")
def link_page(token: Token, visit: VisitDep) -> Response:
    """What the link will do, for which appointment; one button."""
    try:
        details = visit.services.notifications.replies.link_details(token)
    except DomainError as exc:
        return _refused(visit, exc)
    # Said before the click, not after: what following the link would refuse now.
    if not details.active:
        return _refusal(visit, 409, "appointment_over", visit.t(
            "link_already_cancelled" if details.action == "cancel" else "link_refused_appointment_over"))
    if details.action == "cancel" and not details.cancellable:
        return _refusal(visit, 409, "cancellation_too_late", visit.t(
            "link_refused_cancellation_too_late", phone=details.clinic_phone,
            deadline=_local(visit, details.cancel_by)))
    return render(visit, "link.html", step="ask", token=token, details=details,
                  heading=visit.t(f"link_{details.action}_title"),
                  when=_local(visit, details.start), cancel_by=_local(visit, details.cancel_by))


@router.post("/{token}")
def follow_link(token: Token, visit: VisitDep, csrf: Csrf = "") -> Response:
    """Confirm or cancel (the use case records it as the patient's, from the e-mail)."""
    visit.check_csrf(csrf)
    replies = visit.services.notifications.replies
    try:
        action = replies.read_link(token).action
        reply = replies.follow_link(token)
    except DomainError as exc:
        return _refused(visit, exc)
    done = "already" if reply.outcome == "already" else "done"
    words = {("confirm", "done"): "link_confirmed", ("confirm", "already"): "link_already_confirmed",
             ("cancel", "done"): "link_cancelled", ("cancel", "already"): "link_already_cancelled"}
    return render(visit, "link.html", step="done", outcome=reply.outcome, heading=visit.t("link_done_title"),
                  message=visit.t(words[action, done]))

"""Batch invitations to move 2nd-dose appointments (SPEC V1, seed 000 §3): staff pick up to 100
rows of the Suivi, choose the message, see the exact messages (preview), then send. The same
``Invitations.invite`` use case as ``POST /v1/clinics/{id}/invitations``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.errors import DomainError
from entrypoints.console.pages import refused, render
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.tokens import Role
from projections.lists import appointment_names, clinic_name
from projections.tables import parse_instant

router = APIRouter(prefix="/console", include_in_schema=False)
MESSAGES = ("advance_date", "moved_or_cancelled")
#: More than the use case accepts, so that its own refusal (``too_many``) is what people read.
MAX_FORM_IDS = 1_000


def _ids(visit: Visit, values: list[str]) -> list[UUID]:
    try:
        return [UUID(v) for v in values]
    except ValueError:
        raise PageRefused(422, visit.t("invalid_input", what="appointment")) from None


@router.post("/clinics/{clinic_id}/invitations")
def invitations(
    clinic_id: UUID, visit: VisitDep, csrf: Annotated[str, Form(max_length=200)] = "",
    appointment_ids: Annotated[list[str] | None, Form(max_length=MAX_FORM_IDS)] = None,
    message: Annotated[str, Form(max_length=40)] = "",
    action: Annotated[str, Form(max_length=10)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Choose the message (first visit), preview the messages, or send them."""
    visit.check_csrf(csrf)
    principal = visit.staff_of(clinic_id)
    if principal.role not in (Role.ADMIN, Role.CLINIC_STAFF):
        raise PageRefused(403, visit.t("forbidden"))
    chosen = _ids(visit, appointment_ids or [])
    suivi_model = visit.services.projections.get("suivi").view
    context: dict[str, Any] = {
        "clinic": {"id": clinic_id, "name": clinic_name(suivi_model, str(clinic_id)) or ""},
        "ids": [str(i) for i in chosen], "message": message, "messages": MESSAGES,
        "back": back if back.startswith(f"/console/clinics/{clinic_id}/suivi") else
        f"/console/clinics/{clinic_id}/suivi"}
    if action not in ("preview", "send") or message not in MESSAGES:
        error = visit.t("choose_message") if action else None
        if not chosen:
            error = visit.t("choose_appointments")
        return render(visit, "invitations.html", status=422 if error else 200, error=error, **context)
    with visit.acting():
        try:
            result = visit.services.vaccination.invitations.invite(clinic_id, chosen, message,
                                                                   action == "preview")
        except DomainError as exc:
            status, text = refused(visit, exc)
            return render(visit, "invitations.html", status=status, error=text, **context)
    zone = ZoneInfo(visit.services.settings.timezone)
    names = appointment_names(suivi_model, context["ids"])
    items = []
    for item in result.items:
        known = names.get(str(item.appointment_id), {})
        start = item.start or parse_instant(known.get("start_at"))
        items.append({"id": str(item.appointment_id), "name": known.get("name", ""),
                      "when": start.astimezone(zone).strftime("%Y-%m-%d %H:%M") if start else "",
                      "eligible": item.eligible, "channel": item.channel,
                      "reasons": [r[visit.lang] for r in item.reasons],
                      "message": item.message})
    return render(visit, "invitations.html", result=result, items=items, **context)

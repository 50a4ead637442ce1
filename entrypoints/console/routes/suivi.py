"""Staff's Suivi of a clinic's day (seed 000 §2–3, seed 001 §3): filters, presence, reschedule,
cancel. Reads come from the Suivi read model; writes call the scheduling use cases the API
calls, scoped by the same checks (``load_visible``, ``require_clinic``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.slot import Slot
from entrypoints.api.deps import require_clinic
from entrypoints.api.errors import ApiError
from entrypoints.api.routes.appointments import ROLE_SOURCES, load_visible
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.routes.presence import run_sequence, sequence_refused, steps_of, visible
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.visibility import Viewer
from projections.lists import clinic_name, suivi_choices
from projections.queries import STATUSES, SUIVI_VIEWS, SuiviFilter, availability, suivi

router = APIRouter(prefix="/console", include_in_schema=False)
SOURCES = ("emr", "portal", "admin", "citizen")
DOSES = ("1", "2", "3")
Csrf = Annotated[str, Form(max_length=200)]


def _uuid(visit: Visit, value: str | None, what: str) -> str | None:
    if not value:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        raise PageRefused(422, visit.t("invalid_input", what=what)) from None


def _day(visit: Visit, value: str | None, zone: ZoneInfo) -> date:
    if not value:
        return datetime.now(zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("date"))) from None


def _one_of(visit: Visit, value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise PageRefused(422, visit.t("invalid_input", what=what))
    return value


def _zone(visit: Visit) -> ZoneInfo:
    return ZoneInfo(visit.services.settings.timezone)


@router.get("/clinics/{clinic_id}/suivi")
def suivi_page(
    clinic_id: UUID, visit: VisitDep, date: str | None = None, view: str | None = None,
    professional_id: str | None = None, service_id: str | None = None, product: str | None = None,
    status: str | None = None, source: str | None = None, dose: str | None = None,
    done: str | None = None, at: str | None = None,
) -> Response:
    """The day's appointments with the filters of seed 000 §3 (a plain GET form: bookmarkable)."""
    visit.staff_of(clinic_id)
    zone = _zone(visit)
    if product is not None and len(product) > 100:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("product")))
    chosen = SuiviFilter(
        str(clinic_id), _day(visit, date, zone),
        _one_of(visit, view, SUIVI_VIEWS, visit.t("view")) or "all",
        _uuid(visit, professional_id, visit.t("professional")),
        _uuid(visit, service_id, visit.t("service")), product or None,
        _one_of(visit, status, STATUSES, visit.t("status")),
        _one_of(visit, source, SOURCES, visit.t("source")),
        int(d) if (d := _one_of(visit, dose, DOSES, visit.t("dose"))) else None)
    return _suivi(visit, chosen, done=_done(visit, done, at))


def _done(visit: Visit, done: str | None, at: str | None) -> str | None:
    """The sentence saying what the last write did (the redirect names it by a key)."""
    if done in ("status_present", "status_absent", "status_undefined"):
        return visit.t("saved_status", status=visit.t(done))
    if done == "created":
        return visit.t("clinic_created")
    if done == "cancelled":
        return visit.t("saved_cancel")
    if done in ("validated_identity", "validated_association"):
        return visit.t(f"saved_{done}")
    if done == "rescheduled" and at and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", at):
        return visit.t("saved_reschedule", when=at)
    return None


def _local(text: str | None, zone: ZoneInfo) -> str | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def _suivi(visit: Visit, chosen: SuiviFilter, status: int = 200, done: str | None = None,
           error: str | None = None) -> Response:
    model = visit.services.projections.get("suivi").view
    name = clinic_name(model, chosen.clinic_id)
    if name is None:
        raise PageRefused(404, visit.t("not_found"))
    zone = _zone(visit)
    rows = suivi(model, chosen, zone, limit=500)
    if visit.principal is not None:
        Viewer.of(visit.principal).shows(row["patient_id"] for row in rows)
    for row in rows:
        if row["confirmation"]:
            row["confirmation"]["at_local"] = _local(row["confirmation"]["at"], zone)
    query = {k: v for k, v in (("date", chosen.day.isoformat()), ("view", chosen.view),
                               ("professional_id", chosen.professional_id),
                               ("service_id", chosen.service_id), ("product", chosen.product),
                               ("status", chosen.status), ("source", chosen.source),
                               ("dose", str(chosen.dose) if chosen.dose else None)) if v}
    return render(visit, "suivi.html", status=status, clinic={"id": chosen.clinic_id, "name": name},
                  chosen=chosen, rows=rows, choices=suivi_choices(model, chosen.clinic_id),
                  views=SUIVI_VIEWS, statuses=STATUSES, sources=SOURCES, doses=DOSES, done=done, error=error,
                  batch=visit.principal is not None and visit.principal.role in ROLE_SOURCES,
                  back=f"/console/clinics/{chosen.clinic_id}/suivi?" + urlencode(query))


def _back(visit: Visit, appointment: Appointment, back: str | None) -> str:
    default = (f"/console/clinics/{appointment.clinic_id}/suivi?date="
               f"{appointment.start.astimezone(_zone(visit)).date().isoformat()}")
    if back and back.startswith(f"/console/clinics/{appointment.clinic_id}/suivi"):
        return back
    return default


def _with(url: str, **extra: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(extra)


def _caught_up(visit: Visit, position: int) -> None:
    """Read-your-writes: the page shown next includes what was just written."""
    visit.services.projections.wait("suivi", position, visit.services.settings.read_wait_seconds)


def _refusal_page(visit: Visit, appointment: Appointment, exc: DomainError | ApiError) -> Response:
    status, message = refused(visit, exc)
    day = appointment.start.astimezone(_zone(visit)).date()
    return _suivi(visit, SuiviFilter(str(appointment.clinic_id), day), status=status, error=message)


@router.post("/appointments/{appointment_id}/status")
def mark(appointment_id: UUID, visit: VisitDep, csrf: Csrf = "",
         status: Annotated[str, Form(max_length=20)] = "",
         back: Annotated[str, Form(max_length=2000)] = "",
         sequence: Annotated[str, Form(max_length=10)] = "",
         identify: Annotated[str, Form(max_length=10)] = "",
         validate_association: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Present, absent or back to undefined (the API's ``POST .../status``); "present" on a row
    with a red account icon opens the presence sequence (seed 001 §3.3) instead."""
    visit.check_csrf(csrf)
    scheduling = visit.services.scheduling
    chosen = _one_of(visit, status, ("undefined", "present", "absent"), visit.t("status")) or "undefined"
    appointment = visible(visit, appointment_id)
    back = _back(visit, appointment, back)
    if chosen == "present" and not sequence and len(steps_of(visit, appointment)) > 1:
        return see_other(visit, f"/console/appointments/{appointment_id}/presence?"
                         + urlencode({"back": back}))
    try:
        if sequence:
            position = run_sequence(visit, appointment, identify == "yes", validate_association == "yes")
        else:
            with visit.acting():
                position = scheduling.set_status(appointment_id, chosen).position
    except (DomainError, ApiError) as exc:
        if sequence:
            return sequence_refused(visit, appointment, back, exc)
        return _refusal_page(visit, appointment, exc)
    _caught_up(visit, position)
    return see_other(visit, _with(back, done=f"status_{chosen}"))


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: UUID, visit: VisitDep, csrf: Csrf = "",
           reason: Annotated[str, Form(max_length=500)] = "",
           back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Cancel: the place returns to the slot (S4)."""
    visit.check_csrf(csrf)
    principal = visit.signed_in()
    scheduling = visit.services.scheduling
    with visit.acting():
        try:
            appointment = load_visible(scheduling, principal, appointment_id)
        except (DomainError, ApiError):
            raise PageRefused(404, visit.t("not_found")) from None
        if principal.role not in ROLE_SOURCES:
            raise PageRefused(403, visit.t("forbidden"))
        try:
            written = scheduling.cancel(appointment_id, reason.strip() or None)
        except (DomainError, ApiError) as exc:
            return _refusal_page(visit, appointment, exc)
    _caught_up(visit, written.position)
    return see_other(visit, _with(_back(visit, appointment, back), done="cancelled"))


@router.get("/appointments/{appointment_id}/reschedule")
def reschedule_page(appointment_id: UUID, visit: VisitDep, back: str | None = None) -> Response:
    """The free slots of the appointment's clinic for its service, over the next two weeks."""
    principal = visit.signed_in()
    try:
        appointment = load_visible(visit.services.scheduling, principal, appointment_id)
    except (DomainError, ApiError):
        raise PageRefused(404, visit.t("not_found")) from None
    return _reschedule(visit, appointment, _back(visit, appointment, back))


def _reschedule(visit: Visit, appointment: Appointment, back: str, status: int = 200,
                error: str | None = None) -> Response:
    zone = _zone(visit)
    model = visit.services.projections.get("availability").view
    now = datetime.now(zone)
    slots = [s for s in availability(model, now, now + timedelta(days=14), online=False,
                                     clinic_ids=[str(appointment.clinic_id)],
                                     service_id=str(appointment.service_id), limit=200)
             if s["remaining"] > 0 and s["slot_id"] != str(appointment.slot_id)]
    names = {r["id"]: r["name"] for r in suivi_choices(
        visit.services.projections.get("suivi").view, str(appointment.clinic_id))["professionals"]}
    for s in slots:
        start = datetime.fromisoformat(s["start"]).astimezone(zone)
        s["label"] = start.strftime("%Y-%m-%d %H:%M")
        s["professional"] = names.get(s["professional_id"], "")
    service = {r["id"]: r["name"] for r in suivi_choices(
        visit.services.projections.get("suivi").view, str(appointment.clinic_id))["services"]}
    return render(visit, "reschedule.html", status=status, appointment=appointment,
                  when=appointment.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                  service=service.get(str(appointment.service_id), ""), slots=slots, back=back,
                  error=error)


@router.post("/appointments/{appointment_id}/reschedule")
def reschedule(appointment_id: UUID, visit: VisitDep, csrf: Csrf = "",
               slot_id: Annotated[str, Form(max_length=64)] = "",
               back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Move to another slot of the clinic (same id), atomically (S3)."""
    visit.check_csrf(csrf)
    principal = visit.signed_in()
    scheduling = visit.services.scheduling
    target = _uuid(visit, slot_id, "slot")
    with visit.acting():
        try:
            appointment = load_visible(scheduling, principal, appointment_id)
        except (DomainError, ApiError):
            raise PageRefused(404, visit.t("not_found")) from None
        source = ROLE_SOURCES.get(principal.role)
        if source is None or target is None:
            raise PageRefused(403 if source is None else 422, visit.t("forbidden") if source is None
                              else visit.t("invalid_input", what="slot"))
        try:
            slot = scheduling.load(Slot, UUID(target), "slot")
            require_clinic(principal, slot.clinic_id, hide=True)
            written = scheduling.reschedule(appointment_id, UUID(target), None, source[0])
        except (DomainError, ApiError) as exc:
            status, message = refused(visit, exc)
            return _reschedule(visit, appointment, _back(visit, appointment, back), status, message)
    _caught_up(visit, written.position)
    moved: Any = scheduling.load(Appointment, appointment_id, "appointment")
    when = moved.start.astimezone(_zone(visit))
    url = (f"/console/clinics/{moved.clinic_id}/suivi?date={when.date().isoformat()}")
    return see_other(visit, _with(url, done="rescheduled", at=when.strftime("%Y-%m-%d %H:%M")))

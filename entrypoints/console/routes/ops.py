"""Ops (P5): projection and relay positions with their lag, the event stream, one aggregate's
audit (who, when, what, from which source). Reads the audit read model, as the API does."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.errors import DomainError
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.visibility import Viewer
from hub.relay.relay import published_position
from projections.queries import audit_of, events_after

router = APIRouter(prefix="/console/ops", include_in_schema=False)
PAGE = 50
Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=100)]


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        item["what"] = json.dumps(item.get("data") or {}, ensure_ascii=False, sort_keys=True,
                                  default=str)[:400]
    return items


@router.get("")
def positions(visit: VisitDep, started: str | None = None) -> Response:
    """Where each projection and the Kafka relay stand against the log's head, and the
    rebuilds started here (the page follows a running one)."""
    visit.ops()
    done = None
    if started and started in visit.services.projections.projections:
        done = visit.t("rebuild_started", name=started)
    return _positions(visit, done=done)


def _positions(visit: Visit, status: int = 200, done: str | None = None,
               error: str | None = None) -> Response:
    projector = visit.services.projections
    statuses = projector.status()
    head = statuses[0].head if statuses else projector.reader.head()
    relay = published_position(visit.services.scheduling)
    rebuilds = visit.services.rebuilds.latest()
    zone = ZoneInfo(visit.services.settings.timezone)
    ended = {name: job.ended_at.astimezone(zone).strftime("%H:%M:%S")
             for name, job in rebuilds.items() if job.ended_at is not None}
    # The page follows (htmx polling) whatever it shows as running: a rebuild started here, or
    # one seen through its shadow tables (another process's, or one that ended between the two
    # reads above: polling then shows its end at the next refresh, never a stale "running").
    following = (any(job.running for job in rebuilds.values())
                 or any(s.rebuilding_at is not None for s in statuses))
    return render(visit, "ops.html", status=status, head=head, statuses=statuses, relay=relay,
                  relay_lag=None if relay is None else max(0, head - relay), rebuilds=rebuilds,
                  ended=ended, following=following, done=done, error=error)


@router.post("/rebuild")
def rebuild(visit: VisitDep, csrf: Csrf = "", projection: Short = "") -> Response:
    """Rebuild one read model from zero in the background (``hub projections rebuild NAME``)."""
    principal = visit.ops()
    visit.check_csrf(csrf)
    try:
        visit.services.rebuilds.start(projection, principal.subject)
    except DomainError as exc:
        status, message = refused(visit, exc)
        return _positions(visit, status=status, error=message)
    return see_other(visit, f"/console/ops?started={projection}")


def _int(visit: Visit, value: str | None, what: str) -> int:
    if not value:
        return 0
    if not value.isdigit() or len(value) > 18:
        raise PageRefused(422, visit.t("invalid_input", what=what))
    return int(value)


@router.get("/events")
def events(visit: VisitDep, after: str | None = None) -> Response:
    """The global log in order, a page at a time."""
    visit.ops()
    start = _int(visit, after, visit.t("after_position"))
    items = _rows(events_after(visit.services.projections.get("audit").view, start, PAGE))
    Viewer.of(visit.signed_in()).shows_events(items)
    next_after = items[-1]["position"] if len(items) == PAGE else None
    return render(visit, "events.html", items=items, after=start, next_after=next_after)


@router.get("/audit")
def audit_search(visit: VisitDep, aggregate_id: str | None = None) -> Response:
    visit.ops()
    try:
        target = UUID(aggregate_id or "")
    except ValueError:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("audit_search"))) from None
    return see_other(visit, f"/console/ops/audit/{target}")


@router.get("/audit/{aggregate_id}")
def audit(aggregate_id: UUID, visit: VisitDep) -> Response:
    """One aggregate's history in version order."""
    visit.ops()
    items = _rows(audit_of(visit.services.projections.get("audit").view, str(aggregate_id), 1_000))
    Viewer.of(visit.signed_in()).shows_events(items)
    return render(visit, "audit.html", status=200 if items else 404, aggregate_id=aggregate_id,
                  items=items)

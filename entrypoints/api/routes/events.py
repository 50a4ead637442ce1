"""The global event log and any aggregate's audit (P5), from the audit projection (ops, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from entrypoints.api.deps import require_role
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.readmodels import MinPosition, ProjectorDep, read_model
from entrypoints.api.schemas import MAX_PAGE, Page
from hub.access.tokens import Principal, Role
from hub.access.visibility import Viewer
from projections.queries import audit_of, events_after

router = APIRouter(tags=["events"])


async def _auditor(principal: Annotated[Principal, Depends(require_role(Role.OPS, Role.ADMIN))]
                   ) -> Principal:
    """The log holds every clinic's events: only a token that sees everything reads it."""
    if not Viewer.of(principal).everything:
        raise ApiError(403, "forbidden", "the event log and audit need a token for every clinic")
    return principal


Auditor = Annotated[Principal, Depends(_auditor)]


class EventItem(BaseModel):
    """One stored event: where it sits in the log, what happened, who did it, from where."""

    position: int
    id: UUID = Field(description="stable event id (CloudEvents ce_id)")
    aggregate_id: UUID
    aggregate_type: str = Field(examples=["appointment"])
    type: str = Field(examples=["Booked"])
    version: int
    time: datetime
    data: dict[str, Any] = Field(description="what changed")
    meta: dict[str, Any]
    who: str | None = Field(description="token subject")
    role: str | None
    source: str | None = Field(description="channel: http, cli, mllp, ...")


@router.get("/v1/events", response_model=Page[EventItem], responses=responses(401, 403, 422, 503))
def list_events(
    request: Request, principal: Auditor, projector: ProjectorDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="log position to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50, min_position: MinPosition = None,
) -> Page[EventItem]:
    """The global event log in order; pass `next_after` as `after` for the next page."""
    items = events_after(read_model(request, projector, "audit", min_position), after, limit)
    Viewer.of(principal).shows_events(items)
    next_after = items[-1]["position"] if len(items) == limit else None
    return Page(items=items, next_after=next_after)  # type: ignore[arg-type]  # read-model rows, validated by the response model


@router.get("/v1/audit/{aggregate_id}", response_model=Page[EventItem],
            responses=responses(401, 403, 404, 422, 503))
def aggregate_audit(
    aggregate_id: UUID, request: Request, principal: Auditor, projector: ProjectorDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="aggregate version to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 1_000, min_position: MinPosition = None,
) -> Page[EventItem]:
    """One aggregate's history in version order: who, role, source, when and what changed."""
    items = audit_of(read_model(request, projector, "audit", min_position), str(aggregate_id),
                     limit, after)
    if not items and after == 0:
        raise ApiError(404, "not_found", f"no events for aggregate {aggregate_id}")
    Viewer.of(principal).shows_events(items)
    next_after = items[-1]["version"] if len(items) == limit else None
    return Page(items=items, next_after=next_after)  # type: ignore[arg-type]  # read-model rows, validated by the response model

"""Ingest a SMART Scheduling Links feed (a portal's or publisher's ``$bulk-publish``) into a
clinic's availability; idempotent: re-ingesting creates nothing new."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from connectors.fhir.smart_scheduling.ingest import FeedIngest
from entrypoints.api.deps import Admin, SchedulingDep, ServicesDep
from entrypoints.api.errors import responses
from entrypoints.api.schemas import Strict

router = APIRouter(prefix="/v1/clinics/{clinic_id}/availability-feeds", tags=["availability feeds"])


class FeedIn(Strict):
    manifest_url: str = Field(pattern=r"^https?://", max_length=2000,
                              examples=["https://publisher.example/fhir/$bulk-publish"])


class FeedReport(BaseModel):
    schedules: int
    professionals_created: int
    services_created: int
    slots_created: int
    slots_locked: int
    slots_unlocked: int
    slots_unchanged: int
    slots_skipped: int


@router.post("", response_model=FeedReport, responses=responses(400, 401, 403, 404, 413, 422, 503))
def ingest_feed(clinic_id: UUID, body: FeedIn, principal: Admin, scheduling: SchedulingDep,
                services: ServicesDep) -> FeedReport:
    """Read the whole feed (refused with 422 ``malformed_feed`` and nothing written when any
    part is invalid; 400 ``feed_unreachable`` when it cannot be fetched), then apply it.

    Admin only. The hub fetches public addresses only (or the hosts of
    ``HUB_OUTBOUND_ALLOWED_HOSTS``), follows no redirect and bounds time and size: 422
    ``outbound_refused`` otherwise (docs/privacy.md)."""
    ingest = FeedIngest(scheduling)
    return FeedReport(**ingest.ingest(clinic_id, body.manifest_url, services.outbound.get).as_dict())

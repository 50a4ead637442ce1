"""FHIR Slot searches from the availability read model (``GET /fhir/r4/Slot``, ``$bulk-publish``).

The read model serves a search once it has applied everything written so far (``Freshness``);
while it lags behind, the search reads the event store instead, as fresh as ever.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from connectors.fhir.server import SlotSource
from entrypoints.api.readmodels import Freshness
from hub.readmodels.runner import Projector
from projections.queries import schedule_slots


def availability_slots(projector: Projector, scheduling: Any, wait_seconds: float,
                       freshness: Freshness | None = None) -> SlotSource:
    """Slot searches from the availability read model (indexed by schedule and start), once it
    has applied everything written so far (this process's runner gets a quarter of a second to
    catch up); None when it lags behind: the search then reads the store, as fresh as ever."""
    seen = freshness or Freshness()

    def slots(clinic_ids: frozenset[UUID] | None, professional_id: UUID | None,
              start_ge: datetime | None, start_lt: datetime | None,
              end_gt: datetime | None) -> list[dict[str, Any]] | None:
        if "availability" not in projector.projections:
            return None
        if not seen.caught_up(projector, "availability", scheduling.head(), wait_seconds):
            return None
        return read_model_slots(projector)(clinic_ids, professional_id, start_ge, start_lt, end_gt)

    return slots


def read_model_slots(projector: Projector) -> SlotSource:
    """Slots from the availability read model as it is (the caller checked it is fresh)."""

    def slots(clinic_ids: frozenset[UUID] | None, professional_id: UUID | None,
              start_ge: datetime | None, start_lt: datetime | None,
              end_gt: datetime | None) -> list[dict[str, Any]] | None:
        return schedule_slots(projector.get("availability").view,
                              None if clinic_ids is None else sorted(str(c) for c in clinic_ids),
                              str(professional_id) if professional_id else None, start_ge, start_lt,
                              end_gt)

    return slots

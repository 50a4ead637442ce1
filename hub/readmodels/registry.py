"""The hub's projections, by name (``hub projections run|rebuild NAME``)."""

from __future__ import annotations

from projections.audit import AuditProjection
from projections.availability import AvailabilityProjection
from projections.base import ReadModelProjection
from projections.suivi import SuiviProjection

PROJECTIONS: dict[str, type[ReadModelProjection]] = {
    "suivi": SuiviProjection,
    "availability": AvailabilityProjection,
    "audit": AuditProjection,
}

"""Audit (P5): every event with who (token subject and role), from which source, when, what.

One row per stored event, already decoded to the public ``EventRecord`` shape: the global log
behind ``/v1/events`` and any aggregate's history behind ``/v1/audit/{aggregate_id}``, without
decoding the store per request. Personal fields (``aggregates.personal_fields``) are never
copied here: ``_personal`` names whose data the event carried (Loi 25, docs/privacy.md).
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.personal_fields import PERSONAL_FIELDS
from projections.base import EVERY_TOPIC, ReadModelProjection, handles
from projections.changes import Changes
from projections.eventlog import describe_event, to_jsonable
from projections.tables import Table

TEXT, INT = "text", "int"
EVENTS = "audit_events"


class AuditProjection(ReadModelProjection):
    """The event log, one decoded row per event, indexed by aggregate."""

    name = "audit"
    tables = (
        Table(EVENTS, (
            ("position", INT), ("id", TEXT), ("aggregate_id", TEXT), ("aggregate_type", TEXT), ("type", TEXT),
            ("version", INT), ("time", TEXT), ("subject", TEXT), ("role", TEXT), ("channel", TEXT),
            ("data", TEXT), ("meta", TEXT),
        ), ("position",), (("aggregate_id", "version"),)),
    )

    @handles(EVERY_TOPIC)
    def recorded(self, e: Any, position: int, changes: Changes) -> None:
        topic = get_topic(type(e))
        record = describe_event(e, position, topic)
        data = PERSONAL_FIELDS.without_personal(topic, record.data, record.aggregate_id)
        meta = record.meta
        changes.put(EVENTS, {
            "position": position, "id": str(record.id), "aggregate_id": str(record.aggregate_id),
            "aggregate_type": record.aggregate_type, "type": record.type,
            "version": record.version, "time": record.time.isoformat(),
            "subject": meta.get("subject"), "role": meta.get("role"),
            "channel": meta.get("channel"),
            "data": json.dumps(to_jsonable(data), ensure_ascii=False),
            "meta": json.dumps(to_jsonable(meta), ensure_ascii=False),
        })


def as_item(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row in the CONTRACT's event shape (plus who, role and source)."""
    return {
        "position": row["position"], "id": row["id"], "aggregate_id": row["aggregate_id"],
        "aggregate_type": row["aggregate_type"], "type": row["type"], "version": row["version"],
        "time": row["time"], "data": json.loads(row["data"]), "meta": json.loads(row["meta"]),
        "who": row["subject"], "role": row["role"], "source": row["channel"],
    }

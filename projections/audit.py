"""Audit (P5): every event with who (token subject and role), from which source, when, what.

One row per stored event, already decoded to the public ``EventRecord`` shape: the global log
behind ``/v1/events`` and any aggregate's history behind ``/v1/audit/{aggregate_id}``, without
decoding the store per request. Personal fields (``aggregates.personal_fields``) are never
copied here: ``_personal`` names whose data the event carried (Loi 25, docs/privacy.md).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from aggregates.personal_fields import PERSONAL_FIELDS
from projections.base import EVERY_TOPIC, ReadModelProjection, handles
from projections.changes import Changes
from projections.eventlog import (
    ENVELOPE,
    aggregate_type_of,
    event_id_text,
    jsonable_scalar,
    to_jsonable,
)
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
        """The row ``describe_event`` describes (every event passes here: its fields are read
        straight from the event, its JSON written by one encoder)."""
        kind = type(e)
        topic = get_topic(kind)
        state = e.__dict__
        aggregate = e.originator_id
        if type(aggregate) is not UUID:
            aggregate = UUID(str(aggregate))
        data = {k: v for k, v in state.items() if k not in ENVELOPE}
        if PERSONAL_FIELDS.rule_for(topic) is not None:
            data = PERSONAL_FIELDS.without_personal(topic, data, aggregate)
        meta = state.get("meta") or {}
        changes.put(EVENTS, {
            "position": position, "id": event_id_text(e.originator_id, e.originator_version),
            "aggregate_id": str(aggregate), "aggregate_type": aggregate_type_of(topic),
            "type": kind.__name__, "version": e.originator_version,
            "time": state["timestamp"].isoformat(),
            "subject": meta.get("subject"), "role": meta.get("role"), "channel": meta.get("channel"),
            "data": _dumps(data), "meta": _dumps(meta),
        })


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=jsonable_scalar)


def _dumps(value: dict[str, Any]) -> str:
    """``json.dumps(to_jsonable(value), ensure_ascii=False)``, without building the copy."""
    try:
        return _ENCODER.encode(value)
    except TypeError:  # e.g. a key that is not a string: to_jsonable says how it is written
        return json.dumps(to_jsonable(value), ensure_ascii=False)


def as_item(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row in the CONTRACT's event shape (plus who, role and source)."""
    return {
        "position": row["position"], "id": row["id"], "aggregate_id": row["aggregate_id"],
        "aggregate_type": row["aggregate_type"], "type": row["type"], "version": row["version"],
        "time": row["time"], "data": json.loads(row["data"]), "meta": json.loads(row["meta"]),
        "who": row["subject"], "role": row["role"], "source": row["channel"],
    }

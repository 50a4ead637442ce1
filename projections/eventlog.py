"""The global event log in a public shape: used by ``hub events``, ``/v1/events``, audit, Kafka."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any
from uuid import NAMESPACE_OID, UUID, uuid5

from eventsourcing.persistence import Mapper, Notification, StoredEvent

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic", "meta")
_OID = NAMESPACE_OID.bytes


@dataclass(frozen=True)
class EventRecord:
    """One stored event: where it sits in the log, what it is, who caused it."""

    position: int
    id: UUID
    aggregate_id: UUID
    aggregate_type: str
    type: str
    version: int
    time: datetime
    data: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    class_version: int = 1

    @property
    def ce_type(self) -> str:
        return f"hub.{self.aggregate_type}.{self.type}.v{self.class_version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "id": str(self.id),
            "aggregate_id": str(self.aggregate_id),
            "aggregate_type": self.aggregate_type,
            "type": self.type,
            "version": self.version,
            "time": self.time.isoformat(),
            "data": to_jsonable(self.data),
            "meta": to_jsonable(self.meta),
        }


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """A stable unique id for an event (CloudEvents ``ce_id``): same event, same id."""
    return uuid5(NAMESPACE_OID, f"{aggregate_id}/{version}")


def event_id_text(aggregate_id: UUID, version: int) -> str:
    """``str(event_id(aggregate_id, version))``, computed without the two ``UUID`` objects."""
    digest = bytearray(sha1(_OID + f"{aggregate_id}/{version}".encode()).digest()[:16])  # noqa: S324 - uuid5 is SHA-1
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def aggregate_type_of(topic: str) -> str:
    """``aggregates.slot:Slot.PlaceReserved`` → ``slot``."""
    module = topic.split(":", 1)[0]
    return module.rsplit(".", 1)[-1]


def describe(stored: StoredEvent | Notification, mapper: Mapper[UUID], position: int = 0) -> EventRecord:
    """Decode a stored event into an ``EventRecord``."""
    domain_event = mapper.to_domain_event(stored)
    return describe_event(domain_event, getattr(stored, "id", position), stored.topic)


def describe_event(domain_event: Any, position: int, topic: str) -> EventRecord:
    """An ``EventRecord`` for an already decoded domain event at ``position`` in the log."""
    state = vars(domain_event)
    return EventRecord(
        position=position,
        id=event_id(domain_event.originator_id, domain_event.originator_version),
        aggregate_id=UUID(str(domain_event.originator_id)),
        aggregate_type=aggregate_type_of(topic),
        type=type(domain_event).__name__,
        version=domain_event.originator_version,
        time=state["timestamp"],
        data={k: v for k, v in state.items() if k not in ENVELOPE},
        meta=dict(state.get("meta") or {}),
        class_version=getattr(type(domain_event), "class_version", 1),
    )


def jsonable_scalar(value: Any) -> Any:
    """What ``to_jsonable`` makes of a value JSON has no type for (a JSON encoder's ``default``)."""
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, set):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_jsonable(value: Any) -> Any:
    """UUIDs, instants and dates as strings, recursively."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))

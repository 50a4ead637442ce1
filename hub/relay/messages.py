"""An ``EventRecord`` as a Kafka record in CloudEvents 1.0 binary mode (CONTRACT, Kafka)."""

from __future__ import annotations

from adapters.kafka import OutgoingMessage
from projections.eventlog import EventRecord, dumps


def topic_for(record: EventRecord, prefix: str) -> str:
    """One topic per aggregate type: ``{prefix}.{aggregate_type}``, e.g. ``hub.appointment``."""
    return f"{prefix}.{record.aggregate_type}"


def to_message(record: EventRecord, prefix: str, source: str) -> OutgoingMessage:
    """Key = aggregate id (per-aggregate order), value = the event as JSON, ``ce_*`` headers."""
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(record.id).encode()),
        ("ce_source", source.encode()),
        ("ce_type", record.ce_type.encode()),
        ("ce_time", record.time.isoformat().encode()),
        ("ce_subject", str(record.aggregate_id).encode()),
        ("content-type", b"application/json"),
        ("hub_position", str(record.position).encode()),
        ("hub_version", str(record.version).encode()),
    ]
    return OutgoingMessage(
        topic=topic_for(record, prefix),
        key=str(record.aggregate_id).encode(),
        value=dumps(record.as_dict()).encode(),
        headers=headers,
    )

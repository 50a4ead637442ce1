"""Follow one clinic's appointment events from Kafka, dropping duplicates by ``ce_id``.

    python examples/follow_clinic.py --bootstrap 127.0.0.1:9092 --clinic CLINIC_ID [--prefix hub]

The hub publishes at least once, in per-aggregate order (key = appointment id): a relay that
crashed between publishing and recording its position publishes the same events again, with
the same ``ce_id``. Only ``Booked`` names the clinic, so the consumer remembers the clinic's
appointment ids and follows their later events. A real consumer keeps ``seen`` (or the last
``hub_version`` per appointment) in its own database, next to what it derives from the events.

Uses ``assign()`` (no consumer group) so it works the same on Apache Kafka and on the tansu
test broker; with a group, use ``subscribe()`` and commit offsets after processing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from typing import Any


def clinic_appointment_events(
    records: Iterable[Any], clinic_id: str, seen: set[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the clinic's appointment events once each, in order, from raw Kafka records."""
    seen = set() if seen is None else seen
    appointments: set[str] = set()
    for record in records:
        headers = {key: value.decode() for key, value in record.headers or []}
        ce_id = headers.get("ce_id")
        if ce_id is None or ce_id in seen:
            continue  # a duplicate: the same event published again
        seen.add(ce_id)
        event = json.loads(record.value)
        if event["type"] == "Booked" and event["data"].get("clinic_id") == clinic_id:
            appointments.add(event["aggregate_id"])
        if event["aggregate_id"] in appointments:
            yield {"ce_type": headers["ce_type"], "version": int(headers["hub_version"]), **event}


def follow(bootstrap: str, prefix: str, clinic_id: str, idle_ms: int = 0) -> Iterator[dict[str, Any]]:
    """Consume ``{prefix}.appointment`` from the beginning; stop after ``idle_ms`` of silence."""
    from kafka import KafkaConsumer, TopicPartition

    topic = f"{prefix}.appointment"
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)

        def records() -> Iterator[Any]:
            while True:
                batch = consumer.poll(timeout_ms=idle_ms or 1000)
                if not batch and idle_ms:
                    return
                for partition_records in batch.values():
                    yield from partition_records

        yield from clinic_appointment_events(records(), clinic_id)
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--clinic", required=True, help="clinic id (UUID)")
    parser.add_argument("--prefix", default="hub")
    parser.add_argument("--idle-ms", type=int, default=0, help="exit after this much silence (0: follow)")
    args = parser.parse_args()
    for event in follow(args.bootstrap, args.prefix, args.clinic, args.idle_ms):
        print(f"{event['time']}  {event['ce_type']:<32} {event['aggregate_id']}  v{event['version']}")


if __name__ == "__main__":
    main()

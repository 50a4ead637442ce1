"""The relay publishes every stored event, in order, with CloudEvents headers (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import pytest

from hub.relay.relay import Relay
from hub.relay.wiring import build_relay
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.kafka import read_topics
from tests.support.relay import (
    check_delivery,
    headers_of,
    stored_ids,
    topics,
    unique_prefix,
    write_bookings,
)

pytestmark = pytest.mark.kafka


def make_relay(app: Scheduling, url: str, bootstrap: str, prefix: str, **relay: object) -> Relay:
    options = {"relay_send_timeout": 5, **{f"relay_{k}": v for k, v in relay.items()}}
    settings = Settings(database_url=url, kafka_bootstrap=bootstrap, kafka_topic_prefix=prefix,
                        kafka_partitions=2, **options)
    return build_relay(settings, app=app, configure_logs=False)


def test_every_event_is_published_once_in_order_with_cloudevents_headers(
    app: Scheduling, store_url: str, kafka_bootstrap: str
) -> None:
    prefix = unique_prefix()
    write_bookings(app, 12)
    expected = stored_ids(app)

    published = make_relay(app, store_url, kafka_bootstrap, prefix, batch_size=7).run(once=True)

    assert published == len(expected)
    records = read_topics(kafka_bootstrap, topics(prefix))
    counts = check_delivery(records, expected)
    assert (counts["distinct"], counts["duplicates"]) == (len(expected), 0)
    by_topic = Counter(r.topic for r in records)
    assert by_topic[f"{prefix}.appointment"] == 12 and by_topic[f"{prefix}.clinic"] == 1
    booked = next(r for r in records if r.topic == f"{prefix}.appointment")
    h = headers_of(booked)
    assert h["ce_specversion"] == "1.0" and h["ce_source"] == "/hub"
    assert h["ce_type"] == "hub.appointment.Booked.v1"
    assert h["hub_version"] == "1" and int(h["hub_position"]) > 0 and h["ce_time"]
    assert expected[UUID(h["ce_id"])] == (UUID(booked.key.decode()), 1)
    # Topics were created with the configured partition count; the position is recorded.
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
    try:
        assert consumer.partitions_for_topic(f"{prefix}.appointment") == {0, 1}
    finally:
        consumer.close()
    again = make_relay(app, store_url, kafka_bootstrap, prefix)
    assert again.position == app.head()
    assert again.run(once=True) == 0
    status = again.status()
    assert (status.position, status.lag, status.lease.held) == (app.head(), 0, False)


def test_resumes_from_the_tracked_position(app: Scheduling, store_url: str, kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    setup = write_bookings(app, 3)
    first = make_relay(app, store_url, kafka_bootstrap, prefix).run(once=True)
    head = app.head()
    write_bookings(app, 4, start=3, setup=setup)
    second = make_relay(app, store_url, kafka_bootstrap, prefix).run(once=True)

    assert first + second == len(stored_ids(app))
    records = read_topics(kafka_bootstrap, topics(prefix))
    assert check_delivery(records, stored_ids(app))["duplicates"] == 0
    assert sum(int(headers_of(r)["hub_position"]) > head for r in records) == second > 0

"""Faults on a real broker: SIGKILL mid-run, broker stopped and restarted, two relays at once."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from hub.scheduling.service import Scheduling
from tests.support.kafka import Broker, read_topics
from tests.support.relay import (
    check_delivery,
    log_events,
    relay_env,
    start_relay,
    status,
    stop,
    stored_ids,
    topics,
    tracked_position,
    unique_prefix,
    wait_for,
    write_bookings,
)

pytestmark = pytest.mark.kafka


def test_sigkill_mid_run_then_restart_loses_nothing(
    app: Scheduling, store_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    setup = write_bookings(app, 20)
    env = relay_env(store_url, kafka_bootstrap, prefix, HUB_RELAY_BATCH_SIZE="4")
    writer = threading.Thread(target=write_bookings, args=(app, 40, 20, setup))
    relay = start_relay(env, tmp_path / "relay1.log")
    try:
        writer.start()
        wait_for(lambda: tracked_position(app) >= 30, 30, "the relay to publish a few batches")
        relay.send_signal(signal.SIGKILL)
        relay.wait(5)
        killed_at = tracked_position(app)
        # Under load the relay may have caught up with the writer before the kill; events
        # written while it is dead make sure the restarted relay has a backlog to resume.
        writer.join(60)
        write_bookings(app, 10, 60, setup)
        assert killed_at < app.head()
        relay = start_relay(env, tmp_path / "relay2.log")
        writer.join(60)
        wait_for(lambda: tracked_position(app) == app.head(), 45, "the restarted relay to catch up")
    finally:
        writer.join(60)
        stop(relay)
    records = read_topics(kafka_bootstrap, topics(prefix))
    counts = check_delivery(records, stored_ids(app))
    assert counts["distinct"] == len(stored_ids(app))
    # Only what was acknowledged but not yet recorded when the relay died is published again.
    assert all(p > killed_at for p in counts["duplicate_positions"])


def test_broker_stopped_mid_run_holds_the_position_and_resumes(
    sqlite_app: Scheduling, sqlite_url: str, own_kafka_broker: Broker, tmp_path: Path
) -> None:
    """tansu keeps topics in memory: what was published before the stop is gone after the
    restart, so this checks what the relay publishes after it, and that it held its position."""
    app, prefix = sqlite_app, unique_prefix()
    log_path = tmp_path / "relay.log"
    env = relay_env(sqlite_url, own_kafka_broker.bootstrap, prefix, HUB_RELAY_SEND_TIMEOUT="1")
    setup = write_bookings(app, 5)
    relay = start_relay(env, log_path)
    try:
        wait_for(lambda: tracked_position(app) == app.head(), 30, "the first events to be published")
        before = app.head()
        own_kafka_broker.stop()
        write_bookings(app, 10, start=5, setup=setup)
        wait_for(
            lambda: sum("broker unavailable" in e.get("event", "") for e in log_events(log_path)) >= 2,
            30, "the relay to retry with backoff",
        )
        assert tracked_position(app) == before, "the position moved while the broker was down"
        state = status(env)
        assert state["position"] == before and state["lag"] == app.head() - before
        own_kafka_broker.start()
        wait_for(lambda: tracked_position(app) == app.head(), 30, "the relay to resume")
    finally:
        stop(relay)
    lines = log_events(log_path)
    retries = [e for e in lines if "broker unavailable" in e.get("event", "")]
    assert all(e["level"] == "warning" and e["position"] == before and e["retry_in_s"] > 0 for e in retries)
    assert any("reachable again" in e.get("event", "") for e in lines)
    records = read_topics(own_kafka_broker.bootstrap, topics(prefix))
    assert check_delivery(records, stored_ids(app, after=before))["distinct"] == len(stored_ids(app, before))
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=own_kafka_broker.bootstrap)
    try:  # recreated by the relay, with the configured partition count
        assert consumer.partitions_for_topic(f"{prefix}.appointment") == {0, 1}
    finally:
        consumer.close()


def test_two_relays_never_both_publish(
    app: Scheduling, store_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    env = relay_env(store_url, kafka_bootstrap, prefix, HUB_RELAY_BATCH_SIZE="3")
    setup = write_bookings(app, 3)
    first = start_relay(env, tmp_path / "first.log")
    second = None
    try:
        wait_for(lambda: tracked_position(app) == app.head(), 30, "the first relay to publish")
        second = start_relay(env, tmp_path / "second.log")
        wait_for(lambda: any("standing by" in e.get("event", "") for e in log_events(tmp_path / "second.log")),
                 30, "the second relay to stand by")
        write_bookings(app, 15, start=3, setup=setup)
        wait_for(lambda: tracked_position(app) == app.head(), 30, "the events to be published")
        records = read_topics(kafka_bootstrap, topics(prefix))
        # Both relays publishing would have doubled every event written meanwhile.
        assert check_delivery(records, stored_ids(app))["duplicates"] == 0
        lease = status(env)["lease"]
        assert lease["held"] and lease["holder"]

        first.send_signal(signal.SIGKILL)  # the standby takes over (after the lease lapses)
        first.wait(5)
        write_bookings(app, 5, start=18, setup=setup)
        wait_for(lambda: tracked_position(app) == app.head(), 30, "the standby to take over")
    finally:
        stop(first)
        if second is not None:
            stop(second)
    assert any("lease acquired" in e.get("event", "") for e in log_events(tmp_path / "second.log"))
    records = read_topics(kafka_bootstrap, topics(prefix))
    assert check_delivery(records, stored_ids(app))["distinct"] == len(stored_ids(app))

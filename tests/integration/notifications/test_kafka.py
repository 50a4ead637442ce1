"""Notification events reach Kafka's ``{prefix}.notification`` topic through ``hub relay``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import pytest

from adapters.outbox import Outbox
from hub.bootstrap import notification_center
from hub.scheduling.service import Scheduling
from tests.support.kafka import kafka_bootstrap, kafka_broker, read_topics  # noqa: F401
from tests.support.relay import relay_env, run_hub, unique_prefix
from tests.support.scheduling import Setup, make_app, patient

pytestmark = pytest.mark.kafka


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Scheduling]:
    application = make_app(sqlite_url)
    yield application
    application.close()


def test_notification_events_are_published_on_the_notification_topic(
        sqlite_app: Scheduling, sqlite_url: str, kafka_bootstrap: str) -> None:  # noqa: F811
    app = sqlite_app
    setup = Setup(app)
    booked = app.book(setup.slot, setup.consult, patient(1), "emr")
    outbox = Outbox()
    center = notification_center(app, channels={"email": outbox})
    assert center.run_once().sent == 1
    app.cancel(booked.id)
    center.run_once()

    prefix = unique_prefix()
    done = run_hub(relay_env(sqlite_url, kafka_bootstrap, prefix), "relay", "--once")
    assert done.returncode == 0, done.stderr
    records = read_topics(kafka_bootstrap, [f"{prefix}.notification"])
    per_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        per_key[record.key.decode()].append((int(headers["hub_version"]), headers["ce_type"]))
        assert json.loads(record.value)["aggregate_type"] == "notification"
    confirmation = next(v for v in per_key.values() if len(v) == 3)
    assert [t for _, t in sorted(confirmation)] == [
        "hub.notification.Planned.v1", "hub.notification.SendingStarted.v1", "hub.notification.Sent.v1"]
    assert all([v for v, _ in events] == sorted(v for v, _ in events) for events in per_key.values())
    types = {t for events in per_key.values() for _, t in events}
    assert {"hub.notification.Opened.v1", "hub.notification.Withdrawn.v1",
            "hub.notification.MessageSent.v1"} <= types
    assert len(outbox.messages) == 2  # the confirmation, then the cancellation notice

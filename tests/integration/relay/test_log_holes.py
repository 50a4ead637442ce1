"""PostgreSQL: a transaction that took a lower log position but commits later is never skipped.

The library serialises its own inserts with a table lock; these writers insert with plain SQL
(no lock), as any other writer could, to make commits land out of notification-id order.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from aggregates.clinic import Clinic
from hub.relay.relay import Relay
from hub.scheduling.service import Scheduling
from tests.integration.relay.test_relay import make_relay
from tests.support.kafka import read_topics
from tests.support.relay import check_delivery, stored_ids, topics, unique_prefix
from tests.support.scheduling import ADDRESS, make_app

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class RawWriter:
    """Inserts one clinic's events in its own transaction, left open until told."""

    def __init__(self, app: Scheduling, pg_url: str) -> None:
        self.app = app
        recorder = app.recorder
        self.insert = SQL(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s) RETURNING notification_id"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        self.conn = psycopg.connect(pg_url)  # not autocommit: the transaction stays open

    def write(self, name: str) -> int:
        clinic = Clinic.register(name, ADDRESS, "418-555-0000", "clinic")
        for event in clinic.collect_events():
            stored = self.app.mapper.to_stored_event(event)
            (position,) = self.conn.execute(
                self.insert,
                (stored.originator_id, stored.originator_version, stored.topic, stored.state),
            ).fetchone()
        return position


@pytest.fixture
def pg_app(pg_schema_url: str):
    application = make_app(pg_schema_url)
    yield application
    application.close()


def test_relay_waits_for_a_lower_position_that_commits_late(
    pg_app: Scheduling, pg_schema_url: str, pg_url: str, kafka_bootstrap: str
) -> None:
    prefix = unique_prefix()
    pg_app.register_clinic("Avant", ADDRESS, "418-555-0000", "clinic")
    slow, fast = RawWriter(pg_app, pg_url), RawWriter(pg_app, pg_url)
    relay: Relay = make_relay(pg_app, pg_schema_url, kafka_bootstrap, prefix)
    try:
        late = slow.write("Lente")  # takes position n, transaction left open
        early = fast.write("Rapide")  # takes n + 1 and commits first
        fast.conn.commit()
        assert early == late + 1

        started = time.monotonic()
        assert relay.step() == 1  # only the event before the hole
        assert relay.position == late - 1
        assert relay.step() == 0  # the hole is still open: nothing passes it
        assert relay.position == late - 1
        assert time.monotonic() - started < 5  # the hole check does not block the relay

        slow.conn.commit()
        assert relay.step() == 2
        assert relay.position == early
    finally:
        relay.close()
        slow.conn.close()
        fast.conn.close()
    records = read_topics(kafka_bootstrap, topics(prefix))
    positions = [int(dict(r.headers)["hub_position"]) for r in records]
    assert sorted(positions) == [late - 1, late, early]  # read back partition by partition
    assert check_delivery(records, stored_ids(pg_app))["duplicates"] == 0


def test_relay_passes_a_hole_once_its_transaction_rolled_back(
    pg_app: Scheduling, pg_schema_url: str, pg_url: str, kafka_bootstrap: str
) -> None:
    prefix = unique_prefix()
    aborted, committed = RawWriter(pg_app, pg_url), RawWriter(pg_app, pg_url)
    relay = make_relay(pg_app, pg_schema_url, kafka_bootstrap, prefix)
    try:
        hole = aborted.write("Annulée")
        after = committed.write("Confirmée")
        committed.conn.commit()
        assert relay.step() == 0 and relay.position == 0  # open transaction: wait
        aborted.conn.rollback()  # position `hole` will never exist
        assert relay.step() == 1
        assert relay.position == after > hole
    finally:
        relay.close()
        aborted.conn.close()
        committed.conn.close()
    records = read_topics(kafka_bootstrap, topics(prefix))
    assert [int(dict(r.headers)["hub_position"]) for r in records] == [after]

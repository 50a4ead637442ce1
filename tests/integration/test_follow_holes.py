"""PostgreSQL: every follower of the log waits for a position whose transaction is still open.

Writers that skip the library's table lock (plain SQL here, or the DB-function insert path) can
commit a higher log position before a lower one. These tests leave the lower one open, commit the
higher one, and check that each follower neither passes the hole nor, once it fills, skips or
repeats its event. The read models and the Kafka relay have the same test in
``test_projections.py`` and ``relay/test_log_holes.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from aggregates.emr import Hl7Sender
from aggregates.notification import AppointmentCommunication, communication_id
from connectors.hl7v2.er7 import parse, value
from connectors.hl7v2.outbound import SiuFeed
from hub.emr.feeds import EmrFeeds
from hub.notifications.delivery import PLANNED_TOPIC, Dispatcher
from hub.notifications.process import TOPICS, NotificationProcess
from hub.scheduling.service import Scheduling
from tests.support.emr_sim import EmrReceiver, ServerThread
from tests.support.hl7 import emr_clinic
from tests.support.scheduling import Setup, make_app, patient

pytestmark = pytest.mark.postgres


class Hole:
    """Copies of a stored event under new aggregate ids, inserted with plain SQL: one copy in a
    transaction left open (the hole), the other committed at once (beyond the hole)."""

    def __init__(self, app: Scheduling, pg_url: str, topic: str) -> None:
        recorder = app.recorder
        self.insert = SQL(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, %s, %s) RETURNING notification_id"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        [self.original] = [n for n in recorder.select_notifications(start=1, limit=10_000, topics=[topic])][-1:]
        self.pg_url = pg_url
        self.slow = psycopg.connect(pg_url)  # not autocommit: stays open until ``fill``
        self.open_id, self.late = uuid.uuid4(), 0
        self.late = self._write(self.slow, self.open_id)
        self.beyond_id = uuid.uuid4()
        with psycopg.connect(pg_url) as fast:
            self.beyond = self._write(fast, self.beyond_id)
        assert self.beyond == self.late + 1

    def _write(self, conn: psycopg.Connection, originator: uuid.UUID) -> int:
        row = conn.execute(self.insert, (originator, self.original.topic, self.original.state)).fetchone()
        assert row is not None
        return int(row[0])

    def fill(self) -> None:
        self.slow.commit()
        self.slow.close()


@pytest.fixture
def pg_app(pg_schema_url: str) -> Iterator[Scheduling]:
    application = make_app(pg_schema_url)
    yield application
    application.close()


def planned_for(app: Scheduling, appointment_id: uuid.UUID) -> list[uuid.UUID]:
    key = communication_id(appointment_id)
    if not app.exists(key):
        return []
    return list(app.load(AppointmentCommunication, key, "communication").notification_ids)


def test_notification_planning_waits_for_an_open_booking(pg_app: Scheduling, pg_url: str) -> None:
    setup = Setup(pg_app)
    pg_app.book(setup.slot, setup.consult, patient(1), "admin")
    process = NotificationProcess(pg_app)
    assert process.catch_up(timeout=30)
    hole = Hole(pg_app, pg_url, TOPICS[0])
    try:
        process.run_once()
        assert process.position() < hole.late  # did not pass the open transaction
        assert planned_for(pg_app, hole.beyond_id) == []
    finally:
        hole.fill()
    assert process.catch_up(timeout=30)
    assert process.position() >= hole.beyond
    first, second = planned_for(pg_app, hole.open_id), planned_for(pg_app, hole.beyond_id)
    assert first and second  # the late booking's messages were planned too
    assert process.catch_up(timeout=30) and planned_for(pg_app, hole.open_id) == first  # and only once


def test_delivery_waits_for_an_open_planned_message(pg_app: Scheduling, pg_url: str) -> None:
    setup = Setup(pg_app)
    pg_app.book(setup.slot, setup.consult, patient(1), "admin")
    assert NotificationProcess(pg_app).catch_up(timeout=30)
    dispatcher = Dispatcher(pg_app, {}, "America/Montreal")
    dispatcher._refresh()
    known = set(dispatcher.pending)
    assert known  # the booking's confirmation is waiting for a channel
    hole = Hole(pg_app, pg_url, PLANNED_TOPIC)
    try:
        dispatcher._refresh()
        assert dispatcher.seen < hole.late and set(dispatcher.pending) == known
    finally:
        hole.fill()
    dispatcher._refresh()
    assert set(dispatcher.pending) == known | {hole.open_id, hole.beyond_id}
    assert dispatcher.pending[hole.open_id][0] == hole.late


def test_outbound_siu_waits_for_an_open_booking(pg_app: Scheduling, pg_url: str) -> None:
    hl7 = emr_clinic(pg_app)
    setup = Setup.__new__(Setup)
    setup.app, setup.clinic = pg_app, hl7.clinic
    setup.gp = pg_app.add_professional(hl7.clinic, "Dre Staff", "gp").id
    setup.consult = pg_app.add_service(hl7.clinic, "Consultation", 15, "in_person", True, 24).id
    setup.vaccine = pg_app.add_service(hl7.clinic, "Vaccin", 10, "in_person", True, 12, "Pfizer").id
    slot = setup.open_slot(capacity=5)
    emr = EmrReceiver()
    server = ServerThread(emr)
    try:
        EmrFeeds(pg_app).subscribe(hl7.clinic, hl7.sender, "127.0.0.1", server.port)
        sender = pg_app.load(Hl7Sender, hl7.sender, "sender")  # feeds what is booked from now on
        pg_app.book(slot, setup.consult, patient(1), "admin")
        feed = SiuFeed(pg_app, sender, retries=2, backoff_seconds=0.01, timeout=2)
        while feed.run_once().read:
            pass
        sent = len(emr.received)
        assert sent == 1
        hole = Hole(pg_app, pg_url, "aggregates.appointment:Appointment.Booked")
        try:
            feed.run_once()
            assert feed.position() < hole.late and len(emr.received) == sent
        finally:
            hole.fill()
        while feed.run_once().read:
            pass
        control_ids = [value(parse(m).msh, "msh_10") for m in emr.received[sent:]]
        assert control_ids == [f"HUB{hole.late}", f"HUB{hole.beyond}"]  # in log order, each once
        feed.close()
    finally:
        server.stop()

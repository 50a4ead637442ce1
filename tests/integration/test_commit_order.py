"""PostgreSQL without the global write lock: a booking that takes a low log position and commits
after a later booking is handled by every follower exactly once, in log order.

The hub's recorder (``adapters.pgrecorder``) lets writers commit concurrently, so positions
commit out of order. Here a real booking stops inside its transaction after its insert (its
positions taken, not committed) while another booking commits higher positions. Followers run
then — read models, Kafka relay, notification planning, delivery, outbound SIU — and none may
pass the open positions; once the booking commits, each handles every event once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from aggregates.emr import Hl7Sender
from aggregates.notification import AppointmentCommunication, communication_id
from connectors.hl7v2.er7 import parse, value
from connectors.hl7v2.outbound import SiuFeed
from hub.bootstrap import build_projector
from hub.emr.feeds import EmrFeeds
from hub.notifications.delivery import Dispatcher
from hub.notifications.process import NotificationProcess
from hub.scheduling.service import Scheduling
from projections.availability import SLOTS
from tests.integration.relay.test_relay import make_relay
from tests.support.emr_sim import EmrReceiver, ServerThread
from tests.support.held import held_app, hold
from tests.support.hl7 import emr_clinic
from tests.support.kafka import kafka_bootstrap, kafka_broker, own_kafka_broker, read_topics  # noqa: F401
from tests.support.relay import check_delivery, stored_ids, topics, unique_prefix
from tests.support.scheduling import Setup, patient

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
def pg_app(pg_schema_url: str) -> Iterator[Scheduling]:
    application = held_app(pg_schema_url)
    yield application
    application.close()


def planned(app: Scheduling, appointment_id) -> list:
    key = communication_id(appointment_id)
    return list(app.load(AppointmentCommunication, key, "c").notification_ids) if app.exists(key) else []


def test_a_low_position_committed_late_is_handled_once_by_every_follower(
    pg_app: Scheduling, pg_schema_url: str, kafka_bootstrap: str  # noqa: F811
) -> None:
    hl7 = emr_clinic(pg_app)
    setup = Setup.__new__(Setup)
    setup.app, setup.clinic = pg_app, hl7.clinic
    setup.gp = pg_app.add_professional(hl7.clinic, "Dre Ordre", "gp").id
    setup.consult = pg_app.add_service(hl7.clinic, "Consultation", 15, "in_person", True, 24).id
    setup.vaccine = pg_app.add_service(hl7.clinic, "Vaccin", 10, "in_person", True, 12, "Pfizer").id
    slow_slot, fast_slot = setup.open_slot(capacity=3), setup.open_slot(capacity=3, hours=80)
    emr = EmrReceiver()
    server = ServerThread(emr)
    prefix = unique_prefix()
    projector = build_projector(pg_app, ["availability", "suivi"])
    relay = make_relay(pg_app, pg_schema_url, kafka_bootstrap, prefix)
    try:
        EmrFeeds(pg_app).subscribe(hl7.clinic, hl7.sender, "127.0.0.1", server.port)
        feed = SiuFeed(pg_app, pg_app.load(Hl7Sender, hl7.sender, "sender"), retries=2,
                       backoff_seconds=0.01, timeout=2)
        process = NotificationProcess(pg_app)
        dispatcher = Dispatcher(pg_app, {}, "America/Montreal")
        first = pg_app.book(fast_slot, setup.consult, patient(1), "admin")

        def followers_run() -> None:
            projector.step()
            relay.step()
            process.run_once()
            dispatcher._refresh()  # noqa: SLF001 - the dispatcher's read of the log, without sending
            feed.run_once()

        followers_run()
        followers_run()

        booked: dict[str, object] = {}
        slow = threading.Thread(target=lambda: booked.update(
            slow=pg_app.book(slow_slot, setup.consult, patient(2), "admin")))
        gate = hold(slow)
        slow.start()
        assert gate.inserted.wait(20)
        try:
            fast = pg_app.book(fast_slot, setup.consult, patient(3), "admin")
            low = min(gate.positions)
            assert max(gate.positions) < fast.position  # a low position, still open ...
            for _ in range(2):  # ... after a higher one committed
                followers_run()
            reached = {
                "projections": min(projector.positions().values()),
                "relay": relay.position,
                "planning": process.position(),
                "delivery": dispatcher.seen,
                "outbound SIU": feed.position(),
            }
            assert all(position < low for position in reached.values()), reached
            assert planned(pg_app, fast.id) == []
        finally:
            gate.go.set()
            slow.join(20)
        late = booked["slow"]

        for _ in range(3):
            followers_run()
        head = pg_app.head()
        assert min(projector.positions().values()) == head and relay.position == head
        assert process.position() == head and feed.position() >= late.position

        slots = {row["slot_id"]: row["booked"] for row in projector.get("availability").view.rows(SLOTS)}
        assert slots[str(slow_slot)] == 1 and slots[str(fast_slot)] == 2
        records = read_topics(kafka_bootstrap, [*topics(prefix), f"{prefix}.emr", f"{prefix}.notification"])
        counts = check_delivery(records, stored_ids(pg_app))
        assert counts["duplicates"] == 0 and counts["distinct"] == len(stored_ids(pg_app))
        for appointment in (first.id, late.id, fast.id):
            assert len(planned(pg_app, appointment)) >= 1
        assert len(dispatcher.pending) == sum(len(planned(pg_app, a)) for a in (first.id, late.id, fast.id))
        control_ids = [value(parse(m).msh, "msh_10") for m in emr.received]
        sent = Counter(control_ids)
        assert all(n == 1 for n in sent.values()), sent  # each booking's SIU once
        assert len(control_ids) == 3
        booked_positions = [int(c[3:]) for c in control_ids]
        assert booked_positions == sorted(booked_positions)  # in log order
        feed.close()
    finally:
        relay.close()
        projector.close()
        server.stop()

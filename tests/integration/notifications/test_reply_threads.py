"""Reply threads are found by a keyed digest of the number (Loi 25): their ids say nothing of
the phone number without the hub's secret; threads stored before, under ``uuid5(number)``
(``ThreadOpened`` v1, without ``key``), are upcast and still answer an SMS "OK". SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from adapters.gateway import GatewayChannel
from aggregates.notification import (
    AppointmentCommunication,
    ReplyThread,
    communication_id,
    legacy_reply_thread_id,
    reply_thread_id,
    reply_thread_key,
)
from hub.bootstrap import notification_center
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.notifications import Gateway
from tests.support.scheduling import Setup, patient

CELL = "+1 514 555 0042"


def test_a_sent_sms_opens_a_keyed_thread_that_confirms_on_ok(
        app: Scheduling, setup: Setup, gateway: Gateway) -> None:
    center = notification_center(app, Settings(), channels={"sms": GatewayChannel(gateway.url)},
                                 clock=lambda: datetime.now(UTC) + timedelta(seconds=1))
    booked = app.book(setup.slot, setup.consult, patient(42, email=None, cell=CELL), "emr")
    center.process.catch_up()
    center.dispatcher.deliver_due()
    assert gateway.to(CELL), "the confirmation SMS was not sent"
    keyed = reply_thread_id(reply_thread_key(app.index_secret, "sms", CELL))
    assert app.exists(keyed) and not app.exists(legacy_reply_thread_id("sms", CELL))
    assert keyed != reply_thread_id(reply_thread_key(b"x" * 32, "sms", CELL))  # needs the secret
    thread = app.load(ReplyThread, keyed, "reply thread")
    assert thread.key and "5145550042" not in thread.key and thread.appointment_id == booked.id
    assert center.replies.sms("514-555-0042", "OK").outcome == "confirmed"


def test_a_thread_from_before_keyed_ids_is_upcast_and_still_answers(
        app: Scheduling, setup: Setup) -> None:
    center = notification_center(app, Settings(), channels={})
    booked = app.book(setup.slot, setup.consult, patient(43, email=None, cell=CELL), "emr")
    center.process.catch_up()
    # ThreadOpened as stored before keyed ids: v1 (no class_version), no key, at uuid5(number)
    legacy = ReplyThread(channel="sms", address=CELL, appointment_id=booked.id,
                         notification_id=uuid4(), key="")
    assert legacy.id == legacy_reply_thread_id("sms", CELL)
    [opened] = legacy.collect_events()
    stored = app.mapper.to_stored_event(opened)
    state = app.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2 and state.pop("key") == ""
    app.recorder.insert_events([type(stored)(
        originator_id=stored.originator_id, originator_version=stored.originator_version,
        topic=stored.topic, state=app.mapper.transcoder.encode(state))])

    thread = app.load(ReplyThread, legacy.id, "reply thread")
    assert (thread.key, thread.address, thread.appointment_id) == ("", CELL, booked.id)
    head = app.head()
    assert center.replies.sms("5145550043", "OK").outcome == "ignored"  # another number
    assert app.head() == head
    assert center.replies.sms("(514) 555-0042", "oui").outcome == "confirmed"
    confirmed = app.load(AppointmentCommunication, communication_id(booked.id),
                         "appointment communication")
    assert confirmed.status == "confirmed" and confirmed.channel == "sms"

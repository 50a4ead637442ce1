"""The Notification state machine and the appointment's communication status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from aggregates.errors import Conflict
from aggregates.notification import (
    AppointmentCommunication,
    Notification,
    NotificationClosed,
    ReplyThread,
    notification_id,
    reply_thread_id,
    reply_thread_key,
)

NOW = datetime(2026, 5, 4, 16, tzinfo=UTC)


def planned(kind: str = "confirmation") -> Notification:
    appointment = uuid4()
    return Notification(appointment_id=appointment, origin="12", kind=kind, clinic_id=uuid4(),
                        channel="email", address="a@example.ca", language="fr", due_at=NOW,
                        details={"start": (NOW + timedelta(days=3)).isoformat()})


def test_ids_are_stable_per_event_and_kind() -> None:
    n = planned()
    assert n.id == notification_id(n.appointment_id, "12", "confirmation")
    assert n.id != notification_id(n.appointment_id, "13", "confirmation")


def test_one_claim_at_a_time_then_sent_once() -> None:
    n = planned()
    n.start_sending("a1", NOW)
    with pytest.raises(Conflict):
        n.start_sending("a2", NOW)
    assert not n.withdraw("too late: it is being sent")
    n.record_sent("a1", NOW)
    assert (n.status, n.sent_at, n.attempts, n.sending) == ("sent", NOW, 1, None)
    for closed_action in (lambda: n.start_sending("a3", NOW), lambda: n.record_sent("a1", NOW),
                          lambda: n.skip(NOW, "x")):
        with pytest.raises(NotificationClosed):
            closed_action()
    assert not n.withdraw("cancelled")


def test_failed_attempt_reschedules_then_fails() -> None:
    n = planned()
    n.start_sending("a1", NOW)
    n.record_attempt_failed("a1", NOW, "451", NOW + timedelta(minutes=1))
    assert (n.status, n.due_at, n.sending, n.last_error) == ("planned", NOW + timedelta(minutes=1), None, "451")
    n.start_sending("a2", NOW)
    n.record_failed("a2", NOW, "550")
    assert (n.status, n.attempts) == ("failed", 2)


def test_withdraw_only_unsent() -> None:
    n = planned("reminder")
    assert n.withdraw("appointment cancelled") and n.status == "withdrawn"
    assert not n.withdraw("again")


def test_communication_status() -> None:
    c = AppointmentCommunication(appointment_id=uuid4(), clinic_id=uuid4(), patient_id=uuid4(), booked_by=None)
    ids = [uuid4(), uuid4()]
    c.add(ids)
    c.add(ids)
    assert c.notification_ids == ids and len(c.pending_events) == 2
    c.message_sent(ids[0], "confirmation", "sms", "+15145550001", NOW)
    assert (c.status, c.channel, c.address, c.at) == ("confirmation_sent", "sms", "+15145550001", NOW)
    assert c.confirm("sms", NOW + timedelta(hours=1))
    assert not c.confirm("sms", NOW + timedelta(hours=2))
    c.message_sent(ids[1], "reminder", "sms", "+15145550001", NOW + timedelta(hours=3))
    assert c.status == "confirmed"  # a reminder keeps the confirmation
    c.message_sent(uuid4(), "modification", "sms", "+15145550001", NOW + timedelta(hours=4))
    assert c.status == "confirmation_sent"  # a change asks for a new confirmation


def test_reply_threads_match_numbers_by_digits() -> None:
    secret = b"s" * 32

    def thread_id(channel: str, number: str) -> object:
        return reply_thread_id(reply_thread_key(secret, channel, number))

    assert thread_id("sms", "+1 (514) 555-0001") == thread_id("sms", "514-555-0001")
    assert thread_id("sms", "5145550001") != thread_id("phone", "5145550001")
    key = reply_thread_key(secret, "sms", "514-555-0001")
    t = ReplyThread(channel="sms", address="514-555-0001", appointment_id=uuid4(),
                    notification_id=uuid4(), key=key)
    assert t.id == thread_id("sms", "5145550001")
    later = uuid4()
    t.messaged(later, uuid4())
    assert t.appointment_id == later

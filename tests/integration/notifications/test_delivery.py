"""Planning and delivery on SQLite and PostgreSQL, through a real SMTP server and HTTP gateway."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.gateway import GatewayChannel
from adapters.smtp import SmtpChannel
from aggregates.notification import AppointmentCommunication, Notification, communication_id
from hub.actor import Actor, acting_as
from hub.bootstrap import notification_center
from hub.notifications.center import NotificationCenter
from hub.notifications.process import NotificationProcess
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.notifications import Gateway, SmtpSink
from tests.support.scheduling import Setup, patient

MTL = ZoneInfo("America/Montreal")


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(seconds=1)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def center_for(app: Scheduling, smtp: SmtpSink, gateway: Gateway, clock: Clock, **settings: object
               ) -> NotificationCenter:
    channels = {"email": SmtpChannel(smtp.host, smtp.port, "Clinique <hub@test.invalid>", timeout=5),
                "sms": GatewayChannel(gateway.url, timeout=5), "phone": GatewayChannel(gateway.url, timeout=5)}
    config = Settings(link_secret="s3cret-0123456789abcdef", retry_base_seconds=60, **settings)
    return notification_center(app, config, channels=channels, clock=clock)


def kinds(center: NotificationCenter, appointment_id) -> list[tuple[str, str, str]]:
    notifications, _ = center.for_appointment(appointment_id)
    return [(n.kind, n.channel, n.status) for n in notifications]


def test_booking_sends_confirmation_by_email_then_reminder_when_due(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    clock = Clock()
    center = center_for(app, smtp_sink, gateway, clock)
    booked = app.book(setup.slot, setup.consult, patient(1, email="marie@example.ca"), "emr")

    assert kinds(center, booked.id) == [("confirmation", "email", "planned"), ("reminder", "email", "planned")]
    report = center.run_once()
    assert report.sent == 1
    [mail] = smtp_sink.to("marie@example.ca")
    assert "Confirmation" in mail["Subject"] and "Clinique Test" in mail["Subject"]
    assert mail["Message-ID"].startswith("<") and "@hub.notification>" in mail["Message-ID"]
    text = mail.get_body(("plain",)).get_content()
    assert "Dre Test" in text and "présentiel" in text and "/v1/links/" in text
    assert "Confirmer" not in text  # the confirm button is in reminders only
    _, communication = center.for_appointment(booked.id)
    assert communication.status == "confirmation_sent" and communication.channel == "email"
    assert communication.address == "marie@example.ca"

    assert center.run_once().sent == 0  # the reminder is due 48 h before (slot is 72 h away)
    clock.offset = timedelta(hours=25)
    assert center.run_once().sent == 1
    reminder = smtp_sink.to("marie@example.ca")[1]
    assert "Rappel" in reminder["Subject"]
    assert "Confirmer ma présence" in reminder.get_body(("plain",)).get_content()
    assert [s for _, _, s in kinds(center, booked.id)] == ["sent", "sent"]
    assert len(smtp_sink.received) == 2


def test_sms_and_phone_go_through_the_gateway_in_the_patients_language(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    clock = Clock()
    center = center_for(app, smtp_sink, gateway, clock)
    sms = app.book(setup.slot, setup.consult,
                   patient(2, email=None, cell="+1 514 555 0002", language="en"), "emr")
    called = app.book(setup.slot, setup.consult, patient(3, email=None, phone="+14185550003"), "emr")
    center.process.catch_up()
    tomorrow = (datetime.now(MTL) + timedelta(days=1)).date()
    evening = datetime.combine(tomorrow, time(21, 0), MTL)
    clock.offset = evening - datetime.now(UTC)
    report = center.dispatcher.deliver_due()
    text = gateway.to("+1 514 555 0002")[0]  # (the reminder may be due by then too)
    assert text["channel"] == "sms" and text["language"] == "en-CA"
    assert "This message is to confirm" in text["text"] and "Reply OK" in text["text"]
    assert gateway.to("+14185550003") == []  # 21:00 local: calls wait for 09:00
    assert kinds(center, sms.id)[0] == ("confirmation", "sms", "sent")

    noon = datetime.combine(tomorrow + timedelta(days=1), time(12, 0), MTL)  # still before the slot
    clock.offset = noon - datetime.now(UTC)
    center.dispatcher.deliver_due()
    calls = gateway.to("+14185550003")
    assert calls and all(c["channel"] == "voice" and c["digits"] == "1" for c in calls)
    assert calls[0]["text"].startswith("Ce message est pour confirmer le rendez-vous présentiel")
    assert kinds(center, called.id)[0] == ("confirmation", "phone", "sent")
    assert report.sent >= 1


def test_cancellation_withdraws_the_pending_reminder_and_sends_a_notice(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    center = center_for(app, smtp_sink, gateway, Clock())
    booked = app.book(setup.slot, setup.consult, patient(4), "emr")
    center.run_once()
    app.cancel(booked.id, "malade")
    assert kinds(center, booked.id) == [("confirmation", "email", "sent"), ("reminder", "email", "withdrawn"),
                                        ("cancellation", "email", "planned")]
    center.run_once()
    assert "Annulation" in smtp_sink.to("p4@example.ca")[-1]["Subject"]
    app.delete(booked.id)
    assert len(kinds(center, booked.id)) == 3  # deleting a cancelled appointment sends nothing more


def test_reschedule_sends_a_modification_each_time(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    center = center_for(app, smtp_sink, gateway, Clock())
    booked = app.book(setup.slot, setup.consult, patient(5), "emr")
    other = setup.open_slot(hours=100)
    app.reschedule(booked.id, other)
    app.reschedule(booked.id, setup.slot)
    got = kinds(center, booked.id)
    assert [k for k, _, _ in got] == ["confirmation", "reminder", "modification", "reminder",
                                      "modification", "reminder"]
    assert [s for _, _, s in got] == ["withdrawn"] * 4 + ["planned"] * 2
    center.run_once()
    subjects = [m["Subject"] for m in smtp_sink.to("p5@example.ca")]
    assert len(subjects) == 1 and "Modification" in subjects[0]


def test_nothing_for_specialists_silent_services_or_self_notifying_portals(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    center = center_for(app, smtp_sink, gateway, Clock())
    specialist = app.add_professional(setup.clinic, "Dr Cardio", "specialist").id
    silent = app.add_service(setup.clinic, "Note", 5, "silent", True, 0).id
    start = datetime.now(UTC) + timedelta(hours=80)
    spec_slot = app.open_slot(setup.clinic, specialist, start, start + timedelta(minutes=30), 5,
                              [setup.consult]).id
    silent_slot = app.open_slot(setup.clinic, setup.gp, start, start + timedelta(minutes=30), 5,
                                [silent]).id
    center.set_portal("tok_rvsq", True)
    a = app.book(spec_slot, setup.consult, patient(6), "emr")
    b = app.book(silent_slot, silent, patient(7), "emr")
    with acting_as(Actor("tok_rvsq", "portal", "http")):
        c = app.book(setup.slot, setup.consult, patient(8), "portal")
    with acting_as(Actor("tok_sofy", "portal", "http")):
        d = app.book(setup.slot, setup.consult, patient(9), "portal")
    assert kinds(center, a.id) == kinds(center, b.id) == kinds(center, c.id) == []
    assert len(kinds(center, d.id)) == 2
    app.cancel(c.id)
    assert kinds(center, c.id) == []  # the portal's appointments stay the portal's to notify


def test_retries_with_backoff_and_one_bad_recipient_blocks_nobody(
        app: Scheduling, setup: Setup, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    clock = Clock()
    center = center_for(app, smtp_sink, gateway, clock, max_attempts=3)
    smtp_sink.refuse.add("bad@example.ca")
    gateway.fail_next = 1
    bad = app.book(setup.slot, setup.consult, patient(10, email="bad@example.ca"), "emr")
    sms = app.book(setup.slot, setup.consult, patient(11, email=None, cell="+15145550011"), "emr")
    good = app.book(setup.slot, setup.consult, patient(12), "emr")
    report = center.run_once()
    assert (report.sent, report.failed, report.retrying) == (1, 1, 1)
    assert kinds(center, bad.id)[0] == ("confirmation", "email", "failed")
    assert kinds(center, good.id)[0] == ("confirmation", "email", "sent")
    assert kinds(center, sms.id)[0] == ("confirmation", "sms", "planned")
    assert center.run_once().sent == 0  # backoff: not before retry_at
    clock.offset = timedelta(seconds=61)
    assert center.run_once().sent == 1
    [n] = [n for n in center.for_appointment(sms.id)[0] if n.kind == "confirmation"]
    assert n.status == "sent" and n.attempts == 2
    assert len(gateway.to("+15145550011")) == 1


def test_gives_up_after_max_attempts(app: Scheduling, setup: Setup, smtp_sink: SmtpSink,
                                     gateway: Gateway) -> None:
    clock = Clock()
    center = center_for(app, smtp_sink, gateway, clock, max_attempts=2)
    smtp_sink.busy = 5
    booked = app.book(setup.slot, setup.consult, patient(13), "emr")
    assert center.run_once().retrying == 1
    clock.offset = timedelta(minutes=5)
    assert center.run_once().failed == 1
    [n, _] = center.for_appointment(booked.id)[0]
    assert n.status == "failed" and n.attempts == 2 and "451" in n.last_error


def test_two_planners_racing_plan_each_message_once(app: Scheduling, setup: Setup) -> None:
    for n in range(6):
        app.book(setup.slot, setup.consult, patient(20 + n), "emr")
    processes = [NotificationProcess(app) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda p: p.catch_up(timeout=30), processes))
    planned = app.recorder.select_notifications(
        start=1, limit=10_000, topics=["aggregates.notification:Notification.Planned"])
    ids = Counter(p.originator_id for p in planned)
    assert len(ids) == 12 and set(ids.values()) == {1}
    assert processes[0].position() >= app.recorder.select_notifications(
        start=1, limit=10_000, topics=["aggregates.appointment:Appointment.Booked"])[-1].id


def test_notification_events_are_in_the_log_for_the_relay(app: Scheduling, setup: Setup,
                                                          smtp_sink: SmtpSink, gateway: Gateway) -> None:
    from projections.eventlog import describe

    center = center_for(app, smtp_sink, gateway, Clock())
    app.book(setup.slot, setup.consult, patient(30), "emr")
    center.run_once()
    records = [describe(n, app.mapper) for n in app.recorder.select_notifications(start=1, limit=1000)]
    types = {r.type for r in records if r.aggregate_type == "notification"}
    assert {"Opened", "NoticesPlanned", "Planned", "SendingStarted", "Sent", "MessageSent"} <= types
    assert all(r.meta.get("subject") == "notifications" for r in records
               if r.aggregate_type == "notification" and r.type == "Planned")


@pytest.mark.parametrize("n", [1])
def test_status_loads_back(app: Scheduling, setup: Setup, n: int) -> None:
    booked = app.book(setup.slot, setup.consult, patient(40), "emr")
    NotificationProcess(app).catch_up()
    communication = app.load(AppointmentCommunication, communication_id(booked.id), "c")
    assert all(isinstance(app.load(Notification, i, "n"), Notification) for i in communication.notification_ids)

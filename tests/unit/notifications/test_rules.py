"""Every N1/N2/N4 branch of ``plan``, as a table; DST change days in America/Montreal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregates.notification_rules import (
    Channel,
    Contacts,
    Kind,
    Situation,
    Trigger,
    call_time,
    choose_channel,
    plan,
)

MTL = ZoneInfo("America/Montreal")
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=MTL)  # a Monday noon, inside the call window
EMAIL = Contacts(email="a@example.ca")
SMS = Contacts(cell="+15145550001")
PHONE = Contacts(phone="+14185550002")
H = timedelta(hours=1)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=MTL)


def situation(trigger: Trigger = Trigger.BOOKED, now: datetime = NOW, lead: timedelta | None = 72 * H,
              start: datetime | None = None, contacts: Contacts = EMAIL, category: str = "in_person",
              professional_type: str = "gp", **extra: object) -> Situation:
    return Situation(trigger=trigger, now=now, start=start or now + lead, category=category,
                     professional_type=professional_type, contacts=contacts, language="fr",
                     zone=MTL, **extra)


def planned(s: Situation) -> list[tuple[str, str, datetime]]:
    return [(n.kind.value, n.channel.value, n.due_at) for n in plan(s).notices]


CASES = [
    # id, situation, expected [(kind, channel, due)]
    ("email >48h: confirmation now, reminder 48h before",
     situation(), [("confirmation", "email", NOW), ("reminder", "email", NOW + 24 * H)]),
    ("email exactly 48h: both now", situation(lead=48 * H),
     [("confirmation", "email", NOW), ("reminder", "email", NOW)]),
    ("email <48h: both now", situation(lead=24 * H),
     [("confirmation", "email", NOW), ("reminder", "email", NOW)]),
    ("email exactly 4h: both", situation(lead=4 * H),
     [("confirmation", "email", NOW), ("reminder", "email", NOW)]),
    ("email <4h: confirmation only", situation(lead=3 * H), [("confirmation", "email", NOW)]),
    ("email in minutes: confirmation only", situation(lead=timedelta(minutes=5)),
     [("confirmation", "email", NOW)]),
    ("sms >48h", situation(contacts=SMS), [("confirmation", "sms", NOW), ("reminder", "sms", NOW + 24 * H)]),
    ("sms <4h", situation(contacts=SMS, lead=2 * H), [("confirmation", "sms", NOW)]),
    ("phone-only >48h: call now and reminder call",
     situation(contacts=PHONE), [("confirmation", "phone", NOW), ("reminder", "phone", NOW + 24 * H)]),
    ("phone-only <48h: no confirmation, reminder call now",
     situation(contacts=PHONE, lead=24 * H), [("reminder", "phone", NOW)]),
    ("phone-only <4h: nothing", situation(contacts=PHONE, lead=3 * H), []),
    ("phone-only booked 07:00: confirmation call at 09:00",
     situation(contacts=PHONE, now=local(2026, 5, 4, 7)),
     [("confirmation", "phone", local(2026, 5, 4, 9)), ("reminder", "phone", local(2026, 5, 5, 9))]),
    ("phone-only booked 21:00: call next day 09:00",
     situation(contacts=PHONE, now=local(2026, 5, 4, 21), start=local(2026, 5, 10, 10)),
     [("confirmation", "phone", local(2026, 5, 5, 9)), ("reminder", "phone", local(2026, 5, 8, 10))]),
    ("phone-only booked 20:00 sharp: outside the window",
     situation(contacts=PHONE, now=local(2026, 5, 4, 20), start=local(2026, 5, 10, 10)),
     [("confirmation", "phone", local(2026, 5, 5, 9)), ("reminder", "phone", local(2026, 5, 8, 10))]),
    ("phone reminder due 08:00 moves to 09:00", situation(contacts=PHONE, start=local(2026, 5, 8, 8)),
     [("confirmation", "phone", NOW), ("reminder", "phone", local(2026, 5, 6, 9))]),
    ("phone reminder due 21:30 moves to next 09:00",
     situation(contacts=PHONE, start=local(2026, 5, 8, 21, 30)),
     [("confirmation", "phone", NOW), ("reminder", "phone", local(2026, 5, 7, 9))]),
    ("phone-only booked 21:00 for 08:00 next day: no call fits", situation(
        contacts=PHONE, now=local(2026, 5, 4, 21), start=local(2026, 5, 5, 8)), []),
    ("past appointment: nothing", situation(lead=-1 * H), []),
    ("appointment now: nothing", situation(lead=timedelta(0)), []),
    ("silent service: nothing", situation(category="silent"), []),
    ("phone service category is notified", situation(category="phone"),
     [("confirmation", "email", NOW), ("reminder", "email", NOW + 24 * H)]),
    ("specialist: nothing (N4)", situation(professional_type="specialist"), []),
    ("other professional: nothing (N4)", situation(professional_type="other"), []),
    ("portal that notifies itself: nothing (N4)", situation(portal_notifies_itself=True), []),
    ("no contact: nothing", situation(contacts=Contacts()), []),
    ("only other cell and other phone: nothing (N2)",
     situation(contacts=Contacts(other_cell="+15145550009", other_phone="+15145550010")), []),
    ("rescheduled >48h: modification now, new reminder", situation(Trigger.RESCHEDULED),
     [("modification", "email", NOW), ("reminder", "email", NOW + 24 * H)]),
    ("rescheduled <4h: modification only", situation(Trigger.RESCHEDULED, lead=2 * H),
     [("modification", "email", NOW)]),
    ("rescheduled into the past: nothing", situation(Trigger.RESCHEDULED, lead=-2 * H), []),
    ("rescheduled phone-only <48h: modification and reminder calls",
     situation(Trigger.RESCHEDULED, contacts=PHONE, lead=24 * H),
     [("modification", "phone", NOW), ("reminder", "phone", NOW)]),
    ("rescheduled to a silent service: nothing", situation(Trigger.RESCHEDULED, category="silent"), []),
    ("cancelled: cancellation now", situation(Trigger.CANCELLED), [("cancellation", "email", NOW)]),
    ("cancelled in the past: nothing", situation(Trigger.CANCELLED, lead=-1 * H), []),
    ("cancelled by phone at 21:00: call next day 09:00",
     situation(Trigger.CANCELLED, contacts=PHONE, now=local(2026, 5, 4, 21), start=local(2026, 5, 5, 10)),
     [("cancellation", "phone", local(2026, 5, 5, 9))]),
    ("deleted while active: cancellation", situation(Trigger.DELETED), [("cancellation", "email", NOW)]),
    ("deleted after cancel: nothing more", situation(Trigger.DELETED, was_cancelled=True), []),
    ("cancelled specialist appointment: nothing", situation(Trigger.CANCELLED, professional_type="specialist"), []),
]


@pytest.mark.parametrize("s, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan(s: Situation, expected: list[tuple[str, str, datetime]]) -> None:
    assert planned(s) == expected


@pytest.mark.parametrize("trigger, withdraws", [
    (Trigger.BOOKED, False), (Trigger.RESCHEDULED, True), (Trigger.CANCELLED, True), (Trigger.DELETED, True),
])
def test_changes_withdraw_unsent_messages(trigger: Trigger, withdraws: bool) -> None:
    assert plan(situation(trigger)).withdraw_pending is withdraws
    assert plan(situation(trigger, category="silent")).withdraw_pending is withdraws


@pytest.mark.parametrize("ptype", ["gp", "ips", "nurse", "resident", "extern"])
def test_the_hub_notifies_for_its_professional_types(ptype: str) -> None:
    assert [k for k, _, _ in planned(situation(professional_type=ptype))] == ["confirmation", "reminder"]


@pytest.mark.parametrize("contacts, expected", [
    (Contacts(email="e@x.ca", other_email="o@x.ca", cell="+1", phone="+2"), (Channel.EMAIL, "e@x.ca")),
    (Contacts(other_email="o@x.ca", cell="+1", phone="+2"), (Channel.EMAIL, "o@x.ca")),
    (Contacts(cell="+1", phone="+2", other_cell="+3"), (Channel.SMS, "+1")),
    (Contacts(phone="+2", other_cell="+3", other_phone="+4"), (Channel.PHONE, "+2")),
    (Contacts(email="  ", cell=" +1 "), (Channel.SMS, "+1")),
    (Contacts(other_cell="+3", other_phone="+4"), None),
    (Contacts(), None),
])
def test_channel_order(contacts: Contacts, expected: tuple[Channel, str] | None) -> None:
    assert choose_channel(contacts) == expected


def test_language_is_carried() -> None:
    s = Situation(Trigger.BOOKED, NOW, NOW + 72 * H, "in_person", "gp", EMAIL, "en", MTL)
    assert {n.language for n in plan(s).notices} == {"en"}
    assert {n.kind for n in plan(s).notices} == {Kind.CONFIRMATION, Kind.REMINDER}


# -- DST change days (America/Montreal: 2026-03-08 spring forward, 2026-11-01 fall back) ----------
def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("instant, expected", [
    (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 13)),   # 01:30 EST -> 09:00 EDT (UTC-4)
    (utc(2026, 3, 8, 2), utc(2026, 3, 8, 13)),       # 21:00 EST on the 7th -> 09:00 EDT
    (utc(2026, 3, 7, 13, 59), utc(2026, 3, 7, 14)),  # 08:59 EST -> 09:00 EST (UTC-5)
    (utc(2026, 3, 8, 23, 59), utc(2026, 3, 8, 23, 59)),  # 19:59 EDT: inside
    (utc(2026, 3, 9, 0), utc(2026, 3, 9, 13)),       # 20:00 EDT: next day 09:00 EDT
    (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 14)),  # 01:30 EDT (first) -> 09:00 EST
    (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 14)),  # 01:30 EST (second) -> 09:00 EST
    (utc(2026, 11, 1, 3, 30), utc(2026, 11, 1, 14)),  # 23:30 EDT on Oct 31 -> 09:00 EST
    (utc(2026, 11, 2, 0, 59), utc(2026, 11, 2, 0, 59)),  # 19:59 EST: inside
    (utc(2026, 11, 2, 1), utc(2026, 11, 2, 14)),     # 20:00 EST -> next 09:00 EST
    (utc(2026, 10, 31, 23, 59), utc(2026, 10, 31, 23, 59)),  # 19:59 EDT
    (utc(2026, 11, 1, 0), utc(2026, 11, 1, 14)),     # 20:00 EDT Oct 31 -> 09:00 EST Nov 1
])
def test_call_window_on_dst_days(instant: datetime, expected: datetime) -> None:
    assert call_time(instant, MTL) == expected


def test_reminder_is_48_real_hours_before_across_spring_forward() -> None:
    start = local(2026, 3, 9, 10)  # EDT; 48 h before is 2026-03-07 09:00 EST
    s = situation(now=local(2026, 3, 1, 12), start=start)
    reminder = plan(s).notices[1]
    assert reminder.due_at == utc(2026, 3, 7, 14) == start.astimezone(UTC) - 48 * H
    assert start - 48 * H != reminder.due_at  # wall-clock arithmetic would be an hour off


def test_phone_reminder_across_fall_back_lands_in_the_window() -> None:
    start = local(2026, 11, 3, 8, 30)  # EST; 48 h before = Nov 1 07:30 EST -> 09:00 EST
    s = situation(now=local(2026, 10, 25, 12), start=start, contacts=PHONE)
    reminder = plan(s).notices[1]
    assert reminder.due_at == utc(2026, 11, 1, 14)
    assert reminder.due_at.astimezone(MTL).hour == 9

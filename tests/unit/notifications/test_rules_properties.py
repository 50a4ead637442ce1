"""Hypothesis: booking time × appointment time × contacts × category × professional type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregates.notification_rules import Channel, Contacts, Kind, Situation, Trigger, plan

MTL = ZoneInfo("America/Montreal")
CATEGORIES = ["in_person", "phone", "virtual", "home", "silent"]
TYPES = ["gp", "ips", "nurse", "resident", "extern", "specialist", "other"]
maybe = st.one_of(st.none(), st.sampled_from(["", "  ", "x@example.ca", "+15145550000"]))

contacts = st.builds(Contacts, email=maybe, other_email=maybe, cell=maybe, phone=maybe,
                     other_cell=maybe, other_phone=maybe)
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))
leads = st.integers(min_value=-3 * 3600, max_value=30 * 86400)


@settings(max_examples=400, deadline=None)
@given(now=instants, lead=leads, contacts=contacts, category=st.sampled_from(CATEGORIES),
       ptype=st.sampled_from(TYPES), trigger=st.sampled_from(list(Trigger)),
       portal=st.booleans(), was_cancelled=st.booleans())
def test_rules_hold(now: datetime, lead: int, contacts: Contacts, category: str, ptype: str,
                    trigger: Trigger, portal: bool, was_cancelled: bool) -> None:
    start = now + timedelta(seconds=lead)
    s = Situation(trigger, now, start, category, ptype, contacts, "fr", MTL, portal, was_cancelled)
    notices = plan(s).notices
    usable = [v.strip() for v in (contacts.email, contacts.other_email, contacts.cell, contacts.phone)
              if v and v.strip()]
    if (category == "silent" or ptype in ("specialist", "other") or portal or not usable
            or start <= now or (trigger is Trigger.DELETED and was_cancelled)):
        assert notices == ()
        return
    for n in notices:
        assert now <= n.due_at < start  # never before the event, never after the appointment
        assert n.address == usable[0]  # N2: the first usable contact, one channel
        assert n.address not in {contacts.other_cell, contacts.other_phone} - {contacts.email,
                                 contacts.other_email, contacts.cell, contacts.phone}
        if n.channel is Channel.PHONE:
            local = n.due_at.astimezone(MTL)
            assert 9 <= local.hour < 20  # calls only 09:00-20:00 local time
    kinds = [n.kind for n in notices]
    first = {Trigger.BOOKED: Kind.CONFIRMATION, Trigger.RESCHEDULED: Kind.MODIFICATION,
             Trigger.CANCELLED: Kind.CANCELLATION, Trigger.DELETED: Kind.CANCELLATION}[trigger]
    assert set(kinds) <= {first, Kind.REMINDER} and len(kinds) == len(set(kinds))
    lead_time = start - now
    fields = [(contacts.email, Channel.EMAIL), (contacts.other_email, Channel.EMAIL),
              (contacts.cell, Channel.SMS), (contacts.phone, Channel.PHONE)]
    channel = next(c for v, c in fields if v and v.strip())
    assert all(n.channel is channel for n in notices)
    if Kind.REMINDER in kinds:
        assert trigger in (Trigger.BOOKED, Trigger.RESCHEDULED)
        assert lead_time >= timedelta(hours=4)
        reminder = notices[kinds.index(Kind.REMINDER)]
        wanted = max(now, start - timedelta(hours=48))
        if reminder.channel is Channel.PHONE:
            assert reminder.due_at >= wanted and reminder.due_at - wanted < timedelta(hours=13)
        else:
            assert reminder.due_at == wanted
    elif trigger in (Trigger.BOOKED, Trigger.RESCHEDULED) and channel is not Channel.PHONE:
        assert lead_time < timedelta(hours=4)
    if trigger is Trigger.BOOKED and Kind.CONFIRMATION in kinds:
        confirmation = notices[0]
        if confirmation.channel is Channel.PHONE:
            assert lead_time >= timedelta(hours=48)
        else:
            assert confirmation.due_at == now
    if trigger is Trigger.BOOKED and channel is Channel.PHONE and lead_time < timedelta(hours=48):
        assert Kind.CONFIRMATION not in kinds  # phone-only under 48 h: no confirmation
    if trigger is Trigger.BOOKED and channel is not Channel.PHONE:
        assert kinds[0] is Kind.CONFIRMATION  # e-mail/SMS: a confirmation whenever in the future
    if trigger is not Trigger.BOOKED and channel is not Channel.PHONE:
        assert kinds and kinds[0] is first  # e-mail/SMS notices of changes always go out
